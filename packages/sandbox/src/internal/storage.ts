/**
 * Storage: what the presigned URLs of the files API point at (`PUT`/`GET /__storage/{fileId}`),
 * like an object store, not an API endpoint. Its own auth is the URL's signature and expiry, plus
 * the signed `uploadHeaders` (content type and upload token) on a `PUT`; a bearer token is refused,
 * as an object store refuses two auth mechanisms. A `PUT` must declare the file's `sizeBytes` as
 * its `Content-Length`; the bytes are streamed to a temporary file (MD5 and count on the way), so
 * nothing is held whole. Answers are S3-like XML errors; every request is logged with its headers.
 */
import type * as ServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as NodeStream from "@effect/platform-node/NodeStream"
import { Duration, Effect, Stream } from "effect"
import { createHash } from "node:crypto"
import { createReadStream } from "node:fs"
import { open, unlink } from "node:fs/promises"
import type { Fault } from "../Faults.js"
import { destroySocket } from "./answer.js"
import * as Auth from "./auth.js"
import type { FileRecord, StorageOp } from "./fileStore.js"
import type { State } from "./state.js"

type Response = HttpServerResponse.HttpServerResponse

/** An answer of storage: its status, and the response (or a dropped connection). */
type Answer = { readonly status: number; readonly note?: string } & (
  | { readonly _tag: "Respond"; readonly response: Response }
  | { readonly _tag: "Drop" }
)

const xml = (status: number, code: string, message: string, note?: string): Answer => ({
  _tag: "Respond",
  status,
  ...(note === undefined ? {} : { note }),
  response: HttpServerResponse.text(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
    { status, contentType: "application/xml" }
  )
})

const expired = xml(403, "AccessDenied", "Request has expired")

const respond = (status: number, response: Response): Answer => ({ _tag: "Respond", status, response })

/** What a request to storage looks like before it is answered. */
interface Seen {
  readonly request: ServerRequest.HttpServerRequest
  readonly path: string
  readonly query: string
  readonly search: URLSearchParams
  readonly id: string
  readonly fault: Fault | undefined
  /** Log the request as dropped (status 0) and close its connection now (the fiber is then interrupted). */
  readonly dropNow: (note: string) => void
}

/** Faults that act before storage looks at the request. */
const early = (fault: Fault | undefined): Answer | undefined => {
  switch (fault?._tag) {
    case "Drop":
      return { _tag: "Drop", status: 0 }
    case "Respond":
      return respond(
        fault.status,
        HttpServerResponse.text(fault.body ?? "", { status: fault.status, contentType: fault.contentType ?? "text/plain" })
      )
    case "UrlExpired":
      return expired
    case "UploadDrop":
      return fault.afterBytes === 0 ? { _tag: "Drop", status: 0 } : undefined
    default:
      return undefined
  }
}

/** The signature, expiry and file of a request for `op`; the refusal otherwise. */
const authorize = (state: State, seen: Seen, op: StorageOp): FileRecord | Answer => {
  if (seen.request.headers.authorization !== undefined) {
    return xml(400, "InvalidArgument", "Only one auth mechanism allowed: the URL is signed, send no Authorization header")
  }
  const expires = seen.search.get("expires")
  if (seen.search.get("op") !== op || !state.files.verify(seen.id, op, expires, seen.search.get("signature"))) {
    return xml(403, "SignatureDoesNotMatch", "The request signature does not match")
  }
  if (state.clock.now() >= Number(expires)) return expired
  const record = state.files.find(seen.id, state.clock.now())
  return record ?? xml(404, "NoSuchKey", "The specified key does not exist")
}

const isAnswer = (value: FileRecord | Answer): value is Answer => "_tag" in value

/** The checks of a `PUT` on its headers: the signed ones exactly, and the declared length. */
const checkUpload = (state: State, seen: Seen, record: FileRecord): Answer | undefined => {
  if (record.status !== "PENDING") {
    return xml(409, "InvalidUploadState", `The upload session of ${record.id} is ${record.status}`)
  }
  const headers = seen.request.headers
  for (const [name, value] of Object.entries(state.files.uploadHeaders(record))) {
    if (headers[name.toLowerCase()] !== value) {
      return xml(403, "SignatureDoesNotMatch", `The ${name} header differs from the signed upload headers`)
    }
  }
  const length = headers["content-length"]
  if (length === undefined) return xml(411, "MissingContentLength", "You must provide the Content-Length HTTP header")
  if (Number(length) !== record.sizeBytes) {
    return xml(400, "InvalidContentLength", `Content-Length ${length} is not the file's sizeBytes ${record.sizeBytes}`)
  }
  return undefined
}

/** Streams the body to `target`, hashing and counting; drops the connection after `dropAfter` bytes. */
const receive = (seen: Seen, target: string, dropAfter: number | undefined) =>
  Effect.acquireUseRelease(
    Effect.tryPromise(() => open(target, "w")),
    (handle) =>
      Effect.gen(function*() {
        const hash = createHash("md5")
        let bytes = 0
        yield* seen.request.stream.pipe(
          Stream.runForEach((chunk) =>
            Effect.gen(function*() {
              hash.update(chunk)
              bytes += chunk.length
              yield* Effect.tryPromise(() => handle.write(chunk))
              if (dropAfter !== undefined && bytes >= dropAfter) {
                seen.dropNow(`dropped after ${bytes} bytes`)
                return yield* Effect.never
              }
            })
          )
        )
        return { bytes, md5: hash.digest("hex") }
      }),
    (handle) => Effect.promise(() => handle.close())
  )

const put = (state: State, seen: Seen) =>
  Effect.gen(function*() {
    const authorized = authorize(state, seen, "upload")
    if (isAnswer(authorized)) return authorized
    const record = authorized
    const refused = checkUpload(state, seen, record)
    if (refused !== undefined) return refused
    const target = state.files.objectPath(record)
    const dropAfter = seen.fault?._tag === "UploadDrop" ? seen.fault.afterBytes : undefined
    const received = yield* receive(seen, target, dropAfter).pipe(
      Effect.either,
      // Anything but a stored object leaves no file behind (interrupted included).
      Effect.onExit((exit) =>
        exit._tag === "Success" && exit.value._tag === "Right" && seen.fault?._tag !== "Status"
          ? Effect.void
          : Effect.promise(() => unlink(target).catch(() => undefined))
      )
    )
    if (received._tag === "Left") return xml(400, "IncompleteBody", "The request body could not be read to its end")
    const { bytes, md5 } = received.right
    if (bytes !== record.sizeBytes) {
      return xml(400, "IncompleteBody", `Received ${bytes} of the ${record.sizeBytes} bytes declared`)
    }
    if (seen.fault?._tag === "Status") return xml(seen.fault.status, "ServiceUnavailable", "Please reduce your request rate")
    if (seen.fault?._tag === "Latency") yield* Effect.sleep(Duration.millis(seen.fault.millis))
    // The session may have ended (or been cancelled) while the bytes were arriving.
    const current = state.files.find(record.id, state.clock.now())
    if (current?.status !== "PENDING") {
      yield* Effect.promise(() => unlink(target).catch(() => undefined))
      return xml(409, "InvalidUploadState", `The upload session of ${record.id} is ${current?.status ?? "gone"}`)
    }
    state.files.store(record, { path: target, bytes, md5 })
    return respond(200, HttpServerResponse.empty({ status: 200, headers: { etag: `"${md5}"` } }))
  })

const get = (state: State, seen: Seen) =>
  Effect.gen(function*() {
    const authorized = authorize(state, seen, "download")
    if (isAnswer(authorized)) return authorized
    const object = authorized.status === "COMPLETED" ? authorized.object : undefined
    if (object === undefined) return xml(404, "NoSuchKey", "The specified key does not exist")
    if (seen.fault?._tag === "Status") return xml(seen.fault.status, "ServiceUnavailable", "Please reduce your request rate")
    if (seen.fault?._tag === "Latency") yield* Effect.sleep(Duration.millis(seen.fault.millis))
    const body = NodeStream.fromReadable(() => createReadStream(object.path), (error) => error)
    return respond(
      200,
      HttpServerResponse.stream(body, { status: 200, contentType: authorized.mimeType, contentLength: object.bytes })
    )
  })

const headersOf = (request: ServerRequest.HttpServerRequest): Record<string, string> =>
  Object.fromEntries(Object.entries(request.headers).filter((entry): entry is [string, string] => typeof entry[1] === "string"))

/** One storage route: take its fault, answer, log (a client that went away as 499). */
const route = (state: State, method: "PUT" | "GET", handle: (state: State, seen: Seen) => Effect.Effect<Answer>) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const params = yield* HttpRouter.params
    const at = request.originalUrl.indexOf("?")
    const path = at < 0 ? request.originalUrl : request.originalUrl.slice(0, at)
    const query = at < 0 ? "" : request.originalUrl.slice(at + 1)
    const fault = state.faults.take(method, path, "storage")
    let logged = false
    const log = (status: number, note?: string) => {
      logged = true
      state.log.add({
        method,
        path,
        query,
        apiKey: Auth.bearer(request.headers.authorization),
        idempotencyKey: undefined,
        body: undefined,
        status,
        replayed: false,
        at: state.clock.now(),
        headers: headersOf(request),
        ...(fault === undefined ? {} : { fault: fault._tag }),
        ...(note === undefined ? {} : { note })
      })
    }
    const dropNow = (note: string) => {
      log(0, note)
      NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()
    }
    const seen: Seen = { request, path, query, search: new URLSearchParams(query), id: params.id ?? "", fault, dropNow }
    const answer = yield* Effect.suspend((): Effect.Effect<Answer> => {
      const first = early(fault)
      return first === undefined ? handle(state, seen) : Effect.succeed(first)
    }).pipe(
      Effect.onInterrupt(() => Effect.sync(() => logged ? undefined : log(499, "client closed the connection")))
    )
    log(answer.status, answer.note)
    return answer._tag === "Drop" ? yield* destroySocket(request) : answer.response
  })

/** The storage routes, beside the API's. */
export const router = (state: State) =>
  HttpRouter.empty.pipe(
    HttpRouter.put("/__storage/:id", route(state, "PUT", put)),
    HttpRouter.get("/__storage/:id", route(state, "GET", get))
  )
