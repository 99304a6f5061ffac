/**
 * The meeting operations over the store: decode the request (core's params schemas, strict),
 * apply it, and reply. They run after the pipeline's checks (auth, rate limit, version, scope,
 * idempotency), so they see only well-addressed requests.
 */
import { MeetingParams } from "@lightfield-effect/core"
import { DateTime, Effect, Either, Schema } from "effect"
import type * as Auth from "./auth.js"
import type { Incoming } from "./incoming.js"
import * as Reply from "./reply.js"
import { jsonBody, problemReply } from "./requestBody.js"
import type { Endpoint } from "@lightfield-effect/core"
import type { Handler } from "./pipeline.js"
import type { State } from "./state.js"
import * as Store from "./store.js"


/**
 * Spec §3.1 [GAP]: a transcript must be a `COMPLETED` file of the caller's organisation; another
 * status is 422, an id the files API never issued is 400 `relationship_entity_missing`. With
 * `legacyFileIds`, an unknown `fil_` id is taken as a completed file issued elsewhere (and
 * `fil_pending…` as a pending one), as before the sandbox had a files API.
 */
const checkTranscript = (state: State, principal: Auth.Principal, fileId: string): Reply.Reply | undefined => {
  const param = "relationships.$transcript"
  const file = state.files.get(principal.org.id, fileId, state.clock.now())
  const status = file?.status ?? (state.legacyFileIds && fileId.startsWith("fil_")
    ? fileId.startsWith("fil_pending") ? "PENDING" : "COMPLETED"
    : undefined)
  if (status === undefined) {
    return Reply.error(400, { message: `No file found with ID '${fileId}'.`, code: "relationship_entity_missing", param })
  }
  if (status !== "COMPLETED") {
    return Reply.error(422, { message: `File '${fileId}' is ${status}; only a COMPLETED file can be a transcript.`, param })
  }
  return undefined
}

const isoOf = (s: string): string => DateTime.formatIso(DateTime.unsafeMake(s))

const decodeCreate = Schema.decodeUnknown(MeetingParams.CreateMeetingParams, MeetingParams.strictParse)
const decodeUpdate = Schema.decodeUnknown(MeetingParams.UpdateMeetingParams, MeetingParams.strictParse)
const decodeList = Schema.decodeUnknownEither(MeetingParams.ListMeetingsParams, { errors: "first" })

const create = (state: State, principal: Auth.Principal, incoming: Incoming) =>
  Effect.gen(function*() {
    const json = jsonBody(incoming)
    if (Either.isLeft(json)) return json.left
    // Decoded under the sandbox clock (installed on the request fiber): "in the past" follows advanceClock.
    const decoded = yield* Effect.either(decodeCreate(json.right))
    if (Either.isLeft(decoded)) return problemReply(decoded.left)
    const params = decoded.right
    const transcriptIds = params.relationships === undefined
      ? []
      : typeof params.relationships.$transcript === "string"
      ? [params.relationships.$transcript]
      : params.relationships.$transcript
    for (const fileId of transcriptIds) {
      const refused = checkTranscript(state, principal, fileId)
      if (refused !== undefined) return refused
    }
    const f = params.fields
    const record = state.store.create(
      principal,
      {
        title: f.$title,
        startDate: isoOf(f.$startDate),
        endDate: isoOf(f.$endDate),
        description: f.$description ?? null,
        meetingUrl: f.$meetingUrl ?? null,
        organizerEmail: f.$organizerEmail ?? null,
        attendeeEmails: f.$attendeeEmails ?? null,
        privacy: f.$privacySetting ?? null,
        transcript: transcriptIds[0] ?? null
      },
      state.clock.now(),
      state.indexLagMillis()
    )
    return Reply.ok(yield* state.store.render(record, Store.accessFor(record, principal)))
  })

const update = (state: State, principal: Auth.Principal, incoming: Incoming) =>
  Effect.gen(function*() {
    const json = jsonBody(incoming)
    if (Either.isLeft(json)) return json.left
    const record = state.store.get(principal.org.id, incoming.id ?? "")
    if (record === undefined) return Reply.error(404, { message: Reply.messages.notFound })
    const decoded = yield* Effect.either(decodeUpdate(json.right))
    if (Either.isLeft(decoded)) return problemReply(decoded.left)
    const params = decoded.right
    const replace = params.relationships?.$transcript.replace
    if (replace !== undefined) {
      const refused = checkTranscript(state, principal, replace)
      if (refused !== undefined) return refused
      if (Store.accessFor(record, principal) === "METADATA") {
        return Reply.error(403, {
          message: "Only participants and admins can replace the transcript of this meeting.",
          param: "relationships.$transcript"
        })
      }
    }
    if (params.fields !== undefined) record.privacy = params.fields.$privacySetting
    if (replace !== undefined) record.transcript = replace
    // `{}` changes nothing, so `updatedAt` stays as it was.
    if (params.fields !== undefined || replace !== undefined) state.store.touch(record, state.clock.now())
    return Reply.ok(yield* state.store.render(record, Store.accessFor(record, principal)))
  })

const retrieve = (state: State, principal: Auth.Principal, incoming: Incoming) =>
  Effect.gen(function*() {
    const record = state.store.get(principal.org.id, incoming.id ?? "")
    if (record === undefined) return Reply.error(404, { message: Reply.messages.notFound })
    return Reply.ok(yield* state.store.render(record, Store.accessFor(record, principal)))
  })

/** A query number: integers pass as numbers, anything else becomes NaN and fails `Int`. */
const queryNumber = (raw: string | null): number | undefined =>
  raw === null ? undefined : /^\s*-?\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : Number.NaN

const list = (state: State, principal: Auth.Principal, incoming: Incoming) =>
  Effect.gen(function*() {
    const search = new URLSearchParams(incoming.query)
    const limit = queryNumber(search.get("limit"))
    const offset = queryNumber(search.get("offset"))
    // Spec §3.4 [CONFLICT]: more than 25 is clamped, not refused.
    const clamped = limit !== undefined && Number.isInteger(limit) && limit > MeetingParams.MaxLimit
      ? MeetingParams.MaxLimit
      : limit
    const decoded = decodeList({
      ...(clamped === undefined ? {} : { limit: clamped }),
      ...(offset === undefined ? {} : { offset })
    })
    if (Either.isLeft(decoded)) return problemReply(decoded.left)
    const page = state.store.page(
      principal.org.id,
      decoded.right.offset ?? 0,
      decoded.right.limit ?? MeetingParams.MaxLimit,
      state.clock.now()
    )
    const data = yield* Effect.forEach(page.items, (record) =>
      state.store.render(record, Store.accessFor(record, principal)))
    return Reply.ok({ data, object: "list", totalCount: page.totalCount })
  })
/**
 * Spec §3.5: a soft delete: the meeting moves to the trash, gone from retrieve and list for every
 * caller (a second delete is 404); the answer is the meeting as the caller last saw it. Like a
 * transcript replace, only callers with FULL access may do it.
 */
const remove = (state: State, principal: Auth.Principal, incoming: Incoming) =>
  Effect.gen(function*() {
    const record = state.store.get(principal.org.id, incoming.id ?? "")
    if (record === undefined) return Reply.error(404, { message: Reply.messages.notFound })
    const access = Store.accessFor(record, principal)
    if (access === "METADATA") {
      return Reply.error(403, { message: "Only participants and admins can delete this meeting." })
    }
    const body = yield* state.store.render(record, access)
    state.store.trash(record.id, state.clock.now())
    return Reply.ok(body)
  })

/** The handler of each operation of core's `Endpoint.Meetings` table. */
export const handlers: Record<Endpoint.MeetingOperation, Handler> = { create, update, retrieve, list, delete: remove }
