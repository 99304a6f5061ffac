/**
 * The API routes (`/v1/meetings`, `/v1/files`): each request is read, run through the pipeline (`internal/pipeline.ts`),
 * logged and answered (`internal/answer.ts`). The rate-limit headers go on every response, and every
 * request is logged (one whose client leaves before the answer as 499).
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import { Endpoint, IdempotencyKey } from "@lightfield-effect/core"
import { Effect } from "effect"
import type { Outcome } from "./answer.js"
import { destroySocket, toResponse } from "./answer.js"
import * as Auth from "./auth.js"
import type { Fault } from "../Faults.js"
import * as Incoming from "./incoming.js"
import { fileHandlers } from "./fileHandlers.js"
import { handlers } from "./handlers.js"
import { type Handler, type Operation, type Progress, pipeline } from "./pipeline.js"
import * as Reply from "./reply.js"
import type { LoggedRequest } from "../RequestLog.js"
import type { State } from "./state.js"

/**
 * Adds the request to the sandbox's log at once (synchronously, so an interruption cannot come
 * between the two), and returns the Debug log line of it (the bin's `--debug` shows them).
 */
const logEntry = (
  state: State,
  incoming: Incoming.Incoming,
  entry: Pick<LoggedRequest, "status" | "replayed"> & { readonly fault?: Fault | undefined; readonly note?: string }
): Effect.Effect<void> => {
  state.log.add({
    method: incoming.method,
    path: incoming.path,
    query: incoming.query,
    apiKey: Auth.bearer(incoming.headers.authorization),
    idempotencyKey: incoming.headers[IdempotencyKey.Header],
    body: Incoming.bodyForLog(incoming.bodyText),
    status: entry.status,
    replayed: entry.replayed,
    at: state.clock.now(),
    ...(entry.fault === undefined ? {} : { fault: entry.fault._tag }),
    ...(entry.note === undefined ? {} : { note: entry.note })
  })
  const query = incoming.query === "" ? "" : `?${incoming.query}`
  return Effect.logDebug(`sandbox ${incoming.method} ${incoming.path}${query} -> ${entry.status}`).pipe(
    Effect.annotateLogs({
      ...(entry.fault === undefined ? {} : { fault: entry.fault._tag }),
      ...(entry.replayed ? { replayed: true } : {}),
      ...(entry.note === undefined ? {} : { note: entry.note })
    })
  )
}

const logOutcome = (state: State, incoming: Incoming.Incoming, outcome: Outcome) =>
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
const route = (state: State, operation: Operation, handler: Handler) =>
  Effect.gen(function*() {
    const params = yield* HttpRouter.params
    const request = yield* HttpServerRequest.HttpServerRequest
    // Until the body is read, an abandoned request is logged without it.
    let seen: Incoming.Incoming = Incoming.incomingOf(request, params.id)
    let logged = false
    const progress: Progress = { fault: undefined }
    const handled = Effect.gen(function*() {
      const incoming = yield* Incoming.read(params.id)
      seen = incoming
      state.inFlight.count++
      const outcome = yield* pipeline(state, operation, handler, incoming, progress).pipe(
        Effect.ensuring(Effect.sync(() => state.inFlight.count--))
      )
      const debug = logOutcome(state, incoming, outcome)
      logged = true
      yield* debug
      return outcome
    }).pipe(
      Effect.onInterrupt(() =>
        Effect.suspend(() =>
          logged ? Effect.void : logEntry(state, seen, {
            status: clientClosedStatus,
            replayed: false,
            fault: progress.fault,
            note: clientClosedNote
          })
        )
      )
    )
    const outcome = yield* handled
    if (outcome.drop) return yield* destroySocket(seen.request)
    return toResponse(outcome)
  })

/** Anything else under the API: 404, still logged and with rate-limit headers. */
export const notFound = (state: State) =>
  Effect.gen(function*() {
    const incoming = yield* Incoming.read(undefined)
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
    yield* logOutcome(state, incoming, outcome)
    return toResponse(outcome)
  })

/** Every row of core's endpoint tables with the handler that serves it. */
const operations: ReadonlyArray<readonly [Operation, Handler]> = [
  ...Object.values(Endpoint.Meetings).map((endpoint) => [endpoint, handlers[endpoint.name]] as const),
  ...Object.values(Endpoint.Files).map((endpoint) => [endpoint, fileHandlers[endpoint.name]] as const)
]

/** One route per row of core's endpoint tables, so the client and the sandbox cannot drift apart. */
export const router = (state: State) =>
  operations.reduce(
    (router, [operation, handler]) =>
      HttpRouter.route(operation.method)(Endpoint.routerPath(operation), route(state, operation, handler))(router),
    HttpRouter.empty
  )
