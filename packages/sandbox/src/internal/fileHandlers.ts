/**
 * The files operations (spec §11) over the file store. They run after the pipeline's checks, like
 * the meeting handlers. [GAP] choices: a file is visible to its whole organisation; completing a
 * `COMPLETED` file and cancelling a `CANCELLED` one answer the file again (200); the other status
 * clashes are 422 with `param: "status"`; no bytes or another byte count on complete is 422
 * `param: "sizeBytes"`, another MD5 is 422 `param: "md5"` (spec §11's assumption).
 */
import type { Endpoint } from "@lightfield-effect/core"
import { FileObject, MeetingParams } from "@lightfield-effect/core"
import { DateTime, Effect, Either, Schema } from "effect"
import type { FileRecord } from "./fileStore.js"
import { downloadTtlMillis } from "./fileStore.js"
import type { Incoming } from "./incoming.js"
import type { Handler } from "./pipeline.js"
import * as Reply from "./reply.js"
import { jsonBody, problemReply } from "./requestBody.js"
import type { State } from "./state.js"

const decodeCreate = Schema.decodeUnknownEither(FileObject.CreateFileParams, MeetingParams.strictParse)
const decodeComplete = Schema.decodeUnknownEither(FileObject.CompleteFileParams, MeetingParams.strictParse)

/** The 404 of the files endpoints. */
export const notFoundMessage = "No resource found in 'files' with the given ID."

const statusClash = (record: FileRecord, wanted: string) =>
  Reply.error(422, {
    message: `File '${record.id}' is ${record.status}; ${wanted}.`,
    param: "status"
  })

/** The file of the request (status up to date), or the 404. */
const withFile = (
  f: (state: State, record: FileRecord, incoming: Incoming, now: number) => Reply.Reply
): Handler =>
(state, principal, incoming) =>
  Effect.sync(() => {
    const now = state.clock.now()
    const record = state.files.get(principal.org.id, incoming.id ?? "", now)
    return record === undefined ? Reply.error(404, { message: notFoundMessage }) : f(state, record, incoming, now)
  })

const create: Handler = (state, principal, incoming) =>
  Effect.sync(() => {
    const json = jsonBody(incoming)
    if (Either.isLeft(json)) return json.left
    const decoded = decodeCreate(json.right)
    if (Either.isLeft(decoded)) return problemReply(decoded.left)
    const record = state.files.create(principal, decoded.right, state.clock.now())
    return Reply.ok(state.files.render(record, true))
  })

const complete = withFile((state, record, incoming, now) => {
  const json = jsonBody(incoming, { optional: true })
  if (Either.isLeft(json)) return json.left
  const decoded = decodeComplete(json.right)
  if (Either.isLeft(decoded)) return problemReply(decoded.left)
  if (record.status === "COMPLETED") return Reply.ok(state.files.render(record, false))
  if (record.status !== "PENDING") return statusClash(record, "only a PENDING file can be completed")
  const object = record.object
  if (object === undefined || object.bytes !== record.sizeBytes) {
    return Reply.error(422, {
      message: `${object?.bytes ?? 0} bytes were uploaded for file '${record.id}', whose sizeBytes is ${record.sizeBytes}.`,
      param: "sizeBytes"
    })
  }
  const md5 = decoded.right.md5
  if (md5 !== undefined && md5 !== object.md5) {
    return Reply.error(422, { message: `The MD5 of the uploaded bytes is not ${md5}.`, param: "md5" })
  }
  record.status = "COMPLETED"
  record.completedAt = now
  return Reply.ok(state.files.render(record, false))
})

const cancel = withFile((state, record, incoming) => {
  const json = jsonBody(incoming, { optional: true })
  if (Either.isLeft(json)) return json.left
  if (record.status === "CANCELLED") return Reply.ok(state.files.render(record, false))
  if (record.status !== "PENDING") return statusClash(record, "only a PENDING file can be cancelled")
  record.status = "CANCELLED"
  state.files.discard(record)
  return Reply.ok(state.files.render(record, false))
})

const retrieve = withFile((state, record) => Reply.ok(state.files.render(record, false)))

const downloadUrl = withFile((state, record, _incoming, now) => {
  if (record.status !== "COMPLETED") return statusClash(record, "only a COMPLETED file can be downloaded")
  const expires = now + downloadTtlMillis
  return Reply.ok({
    url: state.files.signedUrl(record, "download", expires),
    expiresAt: DateTime.formatIso(DateTime.unsafeMake(expires))
  })
})

/** The handler of each operation of core's `Endpoint.Files` table. */
export const fileHandlers: Record<Endpoint.FileOperation, Handler> = {
  create,
  complete,
  cancel,
  retrieve,
  downloadUrl
}
