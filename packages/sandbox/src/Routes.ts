/**
 * The `/v1/meetings` routes. Every API request runs the same pipeline, in this order:
 * fault (Drop / Status / Respond / RateLimit storm) → auth (401) → rate limit (429) → version header (400)
 * → scope (403) → Idempotency-Key (400 / replay / 409) → Latency fault → handler → DropAfterCommit
 * or answer faults (body rewrites, extra headers, a padded streamed body). The rate-limit headers go on every response, and every request is logged (one
 * whose client leaves before the answer as 499).
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { MeetingParams, ParamsProblem } from "@lightfield-effect/core"
import type { ParseResult } from "effect"
import { DateTime, Duration, Effect, Either, Exit, Option, Schema } from "effect"
import * as Auth from "./Auth.js"
import * as Faults from "./Faults.js"
import type { Idempotency } from "./Idempotency.js"
import * as IdempotencyModule from "./Idempotency.js"
import type { RateLimiter } from "./RateLimiter.js"
import * as RateLimiterModule from "./RateLimiter.js"
import * as Reply from "./Reply.js"
import type { RequestLog } from "./RequestLog.js"
import type { Fault, LoggedRequest } from "./Sandbox.js"
import type { SandboxClock } from "./SandboxClock.js"
import type { Store } from "./Store.js"
import * as StoreModule from "./Store.js"

export const apiVersion = "2026-03-01"

/** Everything the routes read and write; owned by `Sandbox.make`. */
export interface State {
  readonly clock: SandboxClock
  readonly keyring: Auth.Keyring
  readonly store: Store
  readonly limiter: RateLimiter
  readonly idempotency: Idempotency
  readonly faults: FaultSet
  readonly log: RequestLog
  /** API requests read and not yet logged (`SandboxShape.inFlight`). */
  readonly inFlight: { count: number }
  readonly indexLagMillis: () => number
}

type FaultSet = Faults.FaultSet

export type Operation = "create" | "update" | "retrieve" | "list"

const categories: Record<Operation, RateLimiterModule.Category> = {
  create: "Write",
  update: "Write",
  retrieve: "Read",
  list: "Search"
}

const scopes: Record<Operation, Auth.Scope> = {
  create: "meetings:create",
  update: "meetings:update",
  retrieve: "meetings:read",
  list: "meetings:read"
}

/** The parsed request as the pipeline sees it. */
interface Incoming {
  readonly request: HttpServerRequest.HttpServerRequest
  readonly method: string
  readonly path: string
  readonly query: string
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly bodyText: string
  readonly id: string | undefined
}

const splitUrl = (url: string): { readonly path: string; readonly query: string } => {
  const at = url.indexOf("?")
  return at < 0 ? { path: url, query: "" } : { path: url.slice(0, at), query: url.slice(at + 1) }
}

const bodyForLog = (text: string): unknown => {
  if (text === "") return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

const problemReply = (error: ParseResult.ParseError): Reply.Reply => {
  const problem = ParamsProblem.fromParseError(error)
  return Reply.error(problem.status, {
    message: problem.message,
    ...(problem.param === "" ? {} : { param: problem.param }),
    ...(Option.isSome(problem.code) ? { code: problem.code.value } : {})
  })
}

/** Body → JSON, or the reply refusing it (empty: 400; not JSON: 415). */
const jsonBody = (incoming: Incoming): Either.Either<unknown, Reply.Reply> => {
  if (incoming.bodyText.trim() === "") {
    return Either.left(Reply.error(400, { message: Reply.messages.bodyRequired, code: "parameter_missing" }))
  }
  const contentType = (incoming.headers["content-type"] ?? "").toLowerCase()
  if (!/^application\/([\w.+-]*\+)?json\b/.test(contentType.trim())) {
    return Either.left(Reply.error(415, { message: Reply.messages.unsupportedMediaType }))
  }
  try {
    return Either.right(JSON.parse(incoming.bodyText) as unknown)
  } catch {
    return Either.left(Reply.error(415, { message: Reply.messages.unsupportedMediaType }))
  }
}

/**
 * There is no files API in this sandbox: ids starting `fil_pending` are uploads that are not
 * COMPLETED (422), other `fil_` ids are completed files, anything else does not exist (400).
 */
const checkTranscript = (fileId: string): Reply.Reply | undefined => {
  const param = "relationships.$transcript"
  if (!fileId.startsWith("fil_")) {
    return Reply.error(400, {
      message: `No file found with ID '${fileId}'.`,
      code: "relationship_entity_missing",
      param
    })
  }
  if (fileId.startsWith("fil_pending")) {
    return Reply.error(422, { message: `File '${fileId}' is not COMPLETED; complete the upload first.`, param })
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
      const refused = checkTranscript(fileId)
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
    return Reply.ok(yield* state.store.render(record, StoreModule.accessFor(record, principal)))
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
      const refused = checkTranscript(replace)
      if (refused !== undefined) return refused
      if (StoreModule.accessFor(record, principal) === "METADATA") {
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
    return Reply.ok(yield* state.store.render(record, StoreModule.accessFor(record, principal)))
  })

const retrieve = (state: State, principal: Auth.Principal, incoming: Incoming) =>
  Effect.gen(function*() {
    const record = state.store.get(principal.org.id, incoming.id ?? "")
    if (record === undefined) return Reply.error(404, { message: Reply.messages.notFound })
    return Reply.ok(yield* state.store.render(record, StoreModule.accessFor(record, principal)))
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
      state.store.render(record, StoreModule.accessFor(record, principal)))
    return Reply.ok({ data, object: "list", totalCount: page.totalCount })
  })

const handlers: Record<
  Operation,
  (state: State, principal: Auth.Principal, incoming: Incoming) => Effect.Effect<Reply.Reply>
> = { create, update, retrieve, list }

const decodeFault = Schema.decodeUnknownEither(Schema.parseJson(Faults.FaultSchema))

interface Outcome {
  readonly reply: Reply.Reply
  readonly decision: RateLimiterModule.Decision
  readonly principal: Auth.Principal | undefined
  readonly replayed: boolean
  readonly fault: Fault | undefined
  /** Close the socket instead of answering. */
  readonly drop: boolean
}

const toResponse = (outcome: Outcome): HttpServerResponse.HttpServerResponse => {
  const { decision, fault, reply } = outcome
  const headers = {
    ...RateLimiterModule.headers(decision),
    ...reply.headers,
    ...(fault?._tag === "Headers" ? fault.headers : {})
  }
  if (fault?._tag === "Respond" && fault.body !== undefined) {
    return HttpServerResponse.text(fault.body, {
      status: fault.status,
      contentType: fault.contentType ?? Faults.respondContentType,
      headers
    })
  }
  if (fault?._tag === "MalformedJson") {
    return HttpServerResponse.text(Faults.malformedBody, { status: 200, contentType: "application/json", headers })
  }
  const isSuccess = reply.status >= 200 && reply.status < 300
  const body = fault?._tag === "SchemaViolation"
    ? Faults.withSchemaViolation(reply.body)
    : fault?._tag === "UnknownValueType" && isSuccess
    ? Faults.withUnknownValueType(reply.body)
    : fault?._tag === "ShortPage" && isSuccess
    ? Faults.withShortPage(reply.body, fault.keep)
    : reply.body
  const status = fault?._tag === "SchemaViolation" ? 200 : reply.status
  if (fault?._tag === "HugeBody") {
    const huge = Faults.hugeBody(body, fault.bytes)
    return HttpServerResponse.stream(huge.chunks, {
      status,
      contentType: "application/json",
      headers,
      ...(fault.declareLength === true ? { contentLength: huge.length } : {})
    })
  }
  const contentType = fault?._tag === "Respond" ? fault.contentType ?? "application/json" : "application/json"
  return HttpServerResponse.text(JSON.stringify(body), { status, contentType, headers })
}

/** Close the connection without an answer; the server interrupts this fiber when the socket closes. */
const destroySocket = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.sync(() => NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()).pipe(
    Effect.zipRight(Effect.sleep(Duration.seconds(5))),
    Effect.as(HttpServerResponse.empty({ status: 499 }))
  )

/** What the pipeline got to before it finished: the log entry of an abandoned request uses it. */
interface Progress {
  fault: Fault | undefined
}

const pipeline = (
  state: State,
  operation: Operation,
  incoming: Incoming,
  progress: Progress
): Effect.Effect<Outcome> =>
  Effect.gen(function*() {
    const token = Auth.bearer(incoming.headers.authorization)
    const principal = token === undefined ? undefined : state.keyring.lookup(token)
    const category = categories[operation]
    const peek = () => state.limiter.peek(principal?.org.id, category)
    const outcome = (
      reply: Reply.Reply,
      decision: RateLimiterModule.Decision,
      extra: { readonly replayed?: boolean; readonly fault?: Fault | undefined; readonly drop?: boolean } = {}
    ): Outcome => ({
      reply,
      decision,
      principal,
      replayed: extra.replayed ?? false,
      fault: extra.fault,
      drop: extra.drop ?? false
    })

    // A one-off fault from the request header wins over the injected rules.
    const header = incoming.headers["x-sandbox-fault"]
    let fault: Fault | undefined
    if (header !== undefined) {
      const decoded = decodeFault(header)
      if (Either.isLeft(decoded)) {
        return outcome(
          Reply.error(400, {
            message: "X-Sandbox-Fault must be a JSON fault, e.g. {\"_tag\":\"Status\",\"status\":503}.",
            code: "invalid_type",
            param: "X-Sandbox-Fault"
          }),
          peek()
        )
      }
      fault = decoded.right
    } else {
      fault = state.faults.take(incoming.method, incoming.path)
    }
    progress.fault = fault

    switch (fault?._tag) {
      case "Drop":
        return outcome(Reply.error(499), peek(), { fault, drop: true })
      case "Status":
        return outcome(Reply.error(fault.status), peek(), { fault })
      case "Respond":
        // The body itself (or the default envelope) is written by `toResponse`.
        return outcome(Reply.error(fault.status, { headers: fault.headers ?? {} }), peek(), { fault })
      case "RateLimit":
        return outcome(
          Reply.error(429, {
            message: Reply.messages.rateLimited,
            headers: { "retry-after": String(Math.ceil(fault.retryAfterSeconds)) }
          }),
          { ...peek(), remaining: 0 },
          { fault }
        )
      default:
        break
    }

    if (principal === undefined) return outcome(Reply.error(401, { message: Reply.messages.unauthorized }), peek())

    const decision = state.limiter.take(principal.org.id, category)
    if (!decision.allowed) {
      return outcome(
        Reply.error(429, {
          message: Reply.messages.rateLimited,
          headers: { "retry-after": String(decision.retryAfter) }
        }),
        decision
      )
    }

    if (incoming.headers["lightfield-version"] !== apiVersion) {
      return outcome(
        Reply.error(400, { message: Reply.messages.versionHeader, code: "version_header", param: "Lightfield-Version" }),
        decision
      )
    }

    const scope = scopes[operation]
    if (!principal.scopes.has(scope)) {
      return outcome(Reply.error(403, { message: Reply.messages.missingScope(scope) }), decision)
    }

    const latency = fault?._tag === "Latency" ? Effect.sleep(Duration.millis(fault.millis)) : Effect.void
    // The handler itself is uninterruptible: a client hanging up must not leave a stored meeting
    // whose idempotency key was released instead of cached.
    const run = Effect.zipRight(latency, Effect.uninterruptible(handlers[operation](state, principal, incoming)))
    const dropAfter = fault?._tag === "DropAfterCommit"

    const idempotencyKey = incoming.headers["idempotency-key"]
    if ((operation === "create" || operation === "update") && idempotencyKey !== undefined && idempotencyKey !== "") {
      if (idempotencyKey.length > IdempotencyModule.maxKeyLength) {
        return outcome(
          Reply.error(400, {
            message: Reply.messages.idempotencyTooLong,
            code: "idempotency_key_too_long",
            param: "Idempotency-Key"
          }),
          decision,
          { fault }
        )
      }
      const orgId = principal.org.id
      const begin = state.idempotency.begin(orgId, operation, idempotencyKey, state.clock.now())
      if (begin._tag === "InFlight") {
        return outcome(
          Reply.error(409, { type: "idempotency_conflict", message: Reply.messages.idempotencyInFlight }),
          decision,
          { fault }
        )
      }
      if (begin._tag === "Replay") {
        return outcome(begin.reply, decision, { replayed: true, fault, drop: dropAfter })
      }
      const reply = yield* run.pipe(
        // Interrupted (client gone) or defect: the key is free again and nothing is cached.
        Effect.onExit((exit) =>
          Exit.isSuccess(exit)
            ? Effect.sync(() =>
              state.idempotency.finish(orgId, operation, idempotencyKey, exit.value, state.clock.now())
            )
            : Effect.sync(() => state.idempotency.release(orgId, operation, idempotencyKey))
        )
      )
      return outcome(reply, decision, { fault, drop: dropAfter })
    }

    return outcome(yield* run, decision, { fault, drop: dropAfter })
  })

const incomingOf = (request: HttpServerRequest.HttpServerRequest, id: string | undefined) => {
  const { path, query } = splitUrl(request.originalUrl)
  return { request, method: request.method, path, query, headers: request.headers, id }
}

const readIncoming = (id: string | undefined) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const bodyText = request.method === "GET" || request.method === "HEAD"
      ? ""
      : yield* Effect.orElseSucceed(request.text, () => "")
    const incoming: Incoming = { ...incomingOf(request, id), bodyText }
    return incoming
  })

const logEntry = (
  state: State,
  incoming: Incoming,
  entry: Pick<LoggedRequest, "status" | "replayed"> & { readonly fault?: Fault | undefined; readonly note?: string }
) =>
  state.log.add({
    method: incoming.method,
    path: incoming.path,
    query: incoming.query,
    apiKey: Auth.bearer(incoming.headers.authorization),
    idempotencyKey: incoming.headers["idempotency-key"],
    body: bodyForLog(incoming.bodyText),
    status: entry.status,
    replayed: entry.replayed,
    at: state.clock.now(),
    ...(entry.fault === undefined ? {} : { fault: entry.fault._tag }),
    ...(entry.note === undefined ? {} : { note: entry.note })
  })

const logOutcome = (state: State, incoming: Incoming, outcome: Outcome) =>
  logEntry(state, incoming, {
    status: outcome.drop ? 0 : outcome.fault?._tag === "SchemaViolation" || outcome.fault?._tag === "MalformedJson"
      ? 200
      : outcome.reply.status,
    replayed: outcome.replayed,
    fault: outcome.fault
  })

/** The status logged for a request whose client went away before it was answered (nginx's 499). */
export const clientClosedStatus = 499
export const clientClosedNote = "client closed the connection"

/**
 * One API route: read, run the pipeline, log, answer (or drop the connection). A request whose
 * client goes away meanwhile (the server interrupts this fiber) is still logged, as 499.
 */
const route = (state: State, operation: Operation) =>
  Effect.gen(function*() {
    const params = yield* HttpRouter.params
    const request = yield* HttpServerRequest.HttpServerRequest
    // Until the body is read, an abandoned request is logged without it.
    let seen: Incoming = { ...incomingOf(request, params.id), bodyText: "" }
    let logged = false
    const progress: Progress = { fault: undefined }
    const handled = Effect.gen(function*() {
      const incoming = yield* readIncoming(params.id)
      seen = incoming
      state.inFlight.count++
      const outcome = yield* pipeline(state, operation, incoming, progress).pipe(
        Effect.ensuring(Effect.sync(() => state.inFlight.count--))
      )
      logOutcome(state, incoming, outcome)
      logged = true
      return outcome
    }).pipe(
      Effect.onInterrupt(() =>
        Effect.sync(() => {
          if (logged) return
          logEntry(state, seen, {
            status: clientClosedStatus,
            replayed: false,
            fault: progress.fault,
            note: clientClosedNote
          })
        })
      )
    )
    const outcome = yield* handled
    if (outcome.drop) return yield* destroySocket(seen.request)
    return toResponse(outcome)
  })

/** Anything else under the API: 404, still logged and with rate-limit headers. */
export const notFound = (state: State) =>
  Effect.gen(function*() {
    const incoming = yield* readIncoming(undefined)
    const token = Auth.bearer(incoming.headers.authorization)
    const principal = token === undefined ? undefined : state.keyring.lookup(token)
    const outcome: Outcome = {
      reply: Reply.error(404, { message: `No route for ${incoming.method} ${incoming.path}.` }),
      decision: state.limiter.peek(principal?.org.id, "Read"),
      principal,
      replayed: false,
      fault: undefined,
      drop: false
    }
    logOutcome(state, incoming, outcome)
    return toResponse(outcome)
  })

export const router = (state: State) =>
  HttpRouter.empty.pipe(
    HttpRouter.get("/v1/meetings", route(state, "list")),
    HttpRouter.post("/v1/meetings", route(state, "create")),
    HttpRouter.get("/v1/meetings/:id", route(state, "retrieve")),
    HttpRouter.post("/v1/meetings/:id", route(state, "update"))
  )
