/**
 * The pipeline every API request runs, in this order: fault (Drop / Status / Respond / RateLimit
 * storm) → auth (401) → rate limit (429) → version header (400) → scope (403) → Idempotency-Key
 * (400 / replay / 409) → Latency fault → handler → DropAfterCommit or answer faults (`internal/answer.ts`).
 */
import { Endpoint, IdempotencyKey } from "@lightfield-effect/core"
import { Duration, Effect, Either, Exit, Schema } from "effect"
import type { Outcome } from "./answer.js"
import * as Auth from "./auth.js"
import * as Faults from "../Faults.js"
import type { Fault } from "../Faults.js"
import type { Incoming } from "./incoming.js"
import type * as RateLimiter from "./rateLimiter.js"
import * as Reply from "./reply.js"
import type { State } from "./state.js"

const decodeFault = Schema.decodeUnknownEither(Schema.parseJson(Faults.FaultSchema))

/** What the pipeline got to before it finished: the log entry of an abandoned request uses it. */
export interface Progress {
  fault: Fault | undefined
}

/** The row of core's endpoint table a route serves. */
export type Operation = Endpoint.Endpoint

/** What an operation does once the pipeline let the request through. */
export type Handler = (state: State, principal: Auth.Principal, incoming: Incoming) => Effect.Effect<Reply.Reply>

export const pipeline = (
  state: State,
  operation: Operation,
  handler: Handler,
  incoming: Incoming,
  progress: Progress
): Effect.Effect<Outcome> =>
  Effect.gen(function*() {
    const token = Auth.bearer(incoming.headers.authorization)
    const principal = token === undefined ? undefined : state.keyring.lookup(token)
    const category = operation.category
    const peek = () => state.limiter.peek(principal?.org.id, category)
    const outcome = (
      reply: Reply.Reply,
      decision: RateLimiter.Decision,
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

    if (incoming.headers[Endpoint.VersionHeader] !== Endpoint.ApiVersion) {
      return outcome(
        Reply.error(400, { message: Reply.messages.versionHeader, code: "version_header", param: "Lightfield-Version" }),
        decision
      )
    }

    const scope = operation.scope
    if (!principal.scopes.has(scope)) {
      return outcome(Reply.error(403, { message: Reply.messages.missingScope(scope) }), decision)
    }

    const latency = fault?._tag === "Latency" ? Effect.sleep(Duration.millis(fault.millis)) : Effect.void
    // The handler itself is uninterruptible: a client hanging up must not leave a stored meeting
    // whose idempotency key was released instead of cached.
    const run = Effect.zipRight(latency, Effect.uninterruptible(handler(state, principal, incoming)))
    const dropAfter = fault?._tag === "DropAfterCommit"

    const idempotencyKey = incoming.headers[IdempotencyKey.Header]
    if (operation.idempotent && idempotencyKey !== undefined && idempotencyKey !== "") {
      if (idempotencyKey.length > IdempotencyKey.MaxLength) {
        return outcome(
          Reply.error(400, {
            message: Reply.messages.idempotencyTooLong,
            code: "idempotency_key_too_long",
            param: IdempotencyKey.Param
          }),
          decision,
          { fault }
        )
      }
      const orgId = principal.org.id
      const keyScope = Endpoint.operationKey(operation)
      const begin = state.idempotency.begin(orgId, keyScope, idempotencyKey, state.clock.now())
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
              state.idempotency.finish(orgId, keyScope, idempotencyKey, exit.value, state.clock.now())
            )
            : Effect.sync(() => state.idempotency.release(orgId, keyScope, idempotencyKey))
        )
      )
      return outcome(reply, decision, { fault, drop: dropAfter })
    }

    return outcome(yield* run, decision, { fault, drop: dropAfter })
  })
