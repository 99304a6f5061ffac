/**
 * The call machinery shared by the meetings and files clients: validated options, auth and version
 * headers, rate limiting by category, per-attempt timeout, typed errors and retries.
 */
import type * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import {
  Clock,
  Context,
  DefaultServices,
  Duration,
  Effect,
  Either,
  FiberRef,
  Metric,
  Option,
  Schedule
} from "effect"
import * as Endpoint from "../Endpoint.js"
import type { Answer } from "./answer.js"
import { fromHttpClientError, retryAfterFromHeaders, serverTime, statusError } from "./answer.js"
import * as Body from "./body.js"
import * as CallLog from "./callLog.js"
import * as CallMetrics from "./callMetrics.js"
import * as CallOptions from "./callOptions.js"
import * as Limiter from "./limiter.js"
import * as RateLimitHeaders from "./rateLimitHeaders.js"
import * as RateLimitObserver from "./rateLimitObserver.js"
import * as Request from "./request.js"
import type { Call } from "./request.js"
import * as Retry from "./retry.js"
import { retrySchedule } from "./retry.js"
import * as SharedBudget from "./sharedBudget.js"
import * as Timeout from "./timeout.js"
import * as Tracing from "./tracing.js"
import * as Undecodable from "./undecodable.js"
import * as MeetingsConfig from "../MeetingsConfig.js"
import type { InvalidConfig, MeetingsError } from "../MeetingsError.js"
import { MeetingsUnavailable, UndecodableResponse } from "../MeetingsError.js"
import * as MeetingsMetrics from "../MeetingsMetrics.js"

/** What a call keeps across its attempts (which run one after another). */
interface CallState {
  attempts: number
  /** One key per logical call, reused by every retry. */
  readonly idempotencyKey: Option.Option<string>
}

/**
 * The call machinery of a client, shared by `make` and `FilesClient.make`: the validated options,
 * the platform client as provided (storage uploads use it: `transformClient` may add headers), and
 * `run`, which sends one call of the endpoint table with auth, version header, rate limiting by
 * category, per-attempt timeout, typed errors and retries. Not needed by applications.
 *
 * @since 0.1.0
 */
export interface Caller {
  readonly config: MeetingsConfig.Resolved
  readonly platform: HttpClient.HttpClient
  readonly run: <A>(call: Call<A>) => Effect.Effect<A, MeetingsError>
}

/**
 * Build a `Caller` over the ambient `HttpClient`. The options are checked first
 * (`MeetingsConfig.validate`): unusable ones fail with `InvalidConfig` before anything is sent.
 *
 * @since 0.1.0
 */
export const makeCaller = (
  options: MeetingsConfig.Options
): Effect.Effect<Caller, InvalidConfig, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const config = yield* MeetingsConfig.validate(options)
    const platform = yield* HttpClient.HttpClient
    const client = Option.match(config.transformClient, { onNone: () => platform, onSome: (f) => f(platform) })

    // One bucket per category, shared by every fiber using this service (it is built once per layer).
    const burst = config.rate === false ? 1 : Math.max(1, Math.floor(config.rate / 2))
    // Paced a little under the rate: catching up after a late request never takes a long run over it.
    const paced = { rate: config.rate, burst, headroom: Limiter.defaultHeadroom }
    const limiters: Record<Endpoint.Category, Limiter.Limiter> = {
      Write: yield* Limiter.make("Write", paced),
      Read: yield* Limiter.make("Read", paced),
      Search: yield* Limiter.make("Search", paced)
    }

    // The shared budget (`RateBudget`), if one is in the context, after the in-process limiter.
    const budget = yield* SharedBudget.current
    const slots = SharedBudget.slots(
      limiters,
      RateLimitObserver.make(limiters, config.retryAfterCap),
      budget,
      config.retryAfterCap
    )
    const observeRateLimit = slots.observe

    const schedule = Option.getOrElse(
      config.retrySchedule,
      (): Schedule.Schedule<unknown, MeetingsError> =>
        retrySchedule({ maxRetries: config.maxRetries, retryAfterCap: config.retryAfterCap })
    )

    const requestsOf = CallMetrics.tagged(MeetingsMetrics.requests)
    const latencyOf = CallMetrics.tagged(MeetingsMetrics.latency)
    const rateLimitedOf = CallMetrics.tagged(MeetingsMetrics.rateLimited)
    const retriesOf = CallMetrics.tagged(MeetingsMetrics.retries)

    /**
     * One attempt: limiter, request, body read under the timeout, status mapping, decoding. On the
     * success path it is a short chain of effects: everything done with the answer (metrics, span
     * attributes, headers) is plain code, and nothing is built for logs that are off.
     */
    const attempt = <A>(call: Call<A>, state: CallState, traceHeaders: Headers.Headers | undefined, debug: boolean) => {
      const once = Effect.withFiberRuntime((fiber): Effect.Effect<A, MeetingsError> => {
        const n = ++state.attempts
        const span = fiber.currentSpan
        if (span?._tag === "Span") span.attribute("attempt", n)
        const timeout = Option.getOrElse(call.options.timeout, () => config.timeout)
        // The timeout covers the wait for a slot of the client-side limiter too: a caller's
        // timeout is a bound on the whole attempt, whatever the limiter learnt.
        let started: number | undefined
        const exchange = Effect.zipRight(
          slots.take(call.category),
          Effect.clockWith((clock) => {
            started = clock.unsafeCurrentTimeMillis()
            return client.execute(Request.build(config, call, state.idempotencyKey, traceHeaders))
          }).pipe(
            Effect.flatMap((response) => {
              // Read once: the platform's undici response builds its `Headers` on every access.
              const headers = response.headers
              return Effect.map(Body.read(response, config.maxResponseBytes, headers), (body): Answer => ({
                status: response.status,
                headers,
                // An error answer too large to read still maps by its status.
                text: body._tag === "Text" ? body.text : "",
                tooLarge: body._tag === "TooLarge" ? body.bytes : undefined
              }))
            }),
            Effect.mapError(fromHttpClientError)
          )
        )
        return Effect.matchEffect(
          Timeout.timeoutFail(exchange, timeout, () =>
            new MeetingsUnavailable({
              reason: "Timeout",
              message: started === undefined
                ? `No ${call.category} slot of the client-side rate limiter within ${Duration.format(timeout)}`
                : `No answer within ${Duration.format(timeout)}`
            })),
          {
            onFailure: (error) =>
              started === undefined || error._tag === "InvalidParams"
                ? Effect.fail(error) // never sent: not an HTTP attempt
                : Effect.zipRight(
                  Metric.increment(requestsOf(call, error.reason === "Timeout" ? "timeout" : "transport")),
                  Effect.fail(error)
                ),
            onSuccess: (answer) => answered(call, answer, started)
          }
        )
      })
      // The Debug line of a failed attempt, only when Debug is on.
      return debug
        ? Effect.tapError(once, (error) =>
          CallLog.debug("Lightfield attempt failed", { ...CallLog.annotations(call), error: error._tag, message: error.message }))
        : once
    }

    /** What an attempt makes of an answer: metrics, rate-limit headers, then the result. */
    const answered = <A>(call: Call<A>, answer: Answer, started: number | undefined) =>
      Effect.withFiberRuntime<A, MeetingsError>((fiber) => {
        const now = Context.get(fiber.getFiberRef(DefaultServices.currentServices), Clock.Clock).unsafeCurrentTimeMillis()
        const span = fiber.currentSpan
        if (span?._tag === "Span") span.attribute("http.status_code", answer.status)
        // What `Metric.increment`/`update` do, without an effect each.
        const labels = fiber.getFiberRef(FiberRef.currentMetricLabels)
        requestsOf(call, String(answer.status)).unsafeUpdate(1, labels)
        latencyOf(call).unsafeUpdate(now - (started ?? now), labels)
        if (answer.status === 429) rateLimitedOf(call).unsafeUpdate(1, labels)
        const serverNow = serverTime(answer.headers, now)
        const retryAfter = retryAfterFromHeaders(answer.headers, serverNow)
        const rateLimit = RateLimitHeaders.read(answer.headers, serverNow, Duration.toMillis(config.retryAfterCap))
        const observed = observeRateLimit(call.category, answer, rateLimit, now, retryAfter)
        // Nearly every answer asks nothing of the limiters: then the result is all there is.
        return observed === Effect.void
          ? result(call, answer, retryAfter, rateLimit)
          : Effect.zipRight(
            Effect.annotateLogs(observed, CallLog.annotations(call)),
            Effect.suspend(() => result(call, answer, retryAfter, rateLimit))
          )
      })

    const result = <A>(
      call: Call<A>,
      answer: Answer,
      retryAfter: Option.Option<Duration.Duration>,
      rateLimit: RateLimitHeaders.RateLimitHeaders
    ): Effect.Effect<A, MeetingsError> => {
      if (answer.status < 200 || answer.status >= 300) {
        return Effect.fail(statusError(call, answer, retryAfter, rateLimit))
      }
      if (answer.tooLarge !== undefined) {
        return new UndecodableResponse({
          status: answer.status,
          path: "",
          message: `Answer body of ${answer.tooLarge} bytes or more exceeds maxResponseBytes (${config.maxResponseBytes} bytes)`
        })
      }
      return Either.match(call.decode(answer.text), {
        onLeft: (error) => Effect.fail(new UndecodableResponse({ status: answer.status, ...Undecodable.message(error, answer.text) })),
        onRight: Effect.succeed
      })
    }

    /** The default policy, or the caller's, logging (at Debug) and counting each retry of `call`. */
    const observedSchedule = (call: Call<unknown>) =>
      schedule.pipe(
        Schedule.modifyDelayEffect((_, delay) =>
          CallLog.debug("Lightfield call retrying", { ...CallLog.annotations(call), delay: Duration.format(delay) }).pipe(
            Effect.zipRight(Metric.increment(retriesOf(call))),
            Effect.as(delay)
          )
        )
      )

    /** The policy of `call`: with `failFast`, a connection that could not be made ends it. */
    const policyOf = (call: Call<unknown>) =>
      call.options.failFast
        ? () => Schedule.whileInput(observedSchedule(call), (error: MeetingsError) => !CallOptions.isConnectFailure(error))
        : () => observedSchedule(call)

    /**
     * With `failFast`, a read's attempt is made again at once when its connection dropped before
     * any answer (a pooled connection the server had closed): the next attempt opens a fresh
     * connection and meets the refusal that ends the call, instead of waiting for the policy's
     * backoff first (~0.45 s before a cached answer). Other calls keep the policy: a write whose
     * answer was lost is retried (or queued) on the policy's terms.
     */
    const againIfDropped = <A>(call: Call<A>, self: Effect.Effect<A, MeetingsError>): Effect.Effect<A, MeetingsError> =>
      call.options.failFast && call.method === "GET" ? Effect.catchIf(self, CallOptions.isDroppedConnection, () => self) : self

    /** `self` within the call's `budget`, if it has one (one timer for the whole call, retries included). */
    const withinBudget = <A>(call: Call<A>, self: Effect.Effect<A, MeetingsError>): Effect.Effect<A, MeetingsError> =>
      Option.match(call.options.budget, {
        onNone: () => self,
        onSome: (budget) =>
          Timeout.timeoutFail(self, budget, () =>
            new MeetingsUnavailable({
              reason: "Timeout",
              message: `No answer within the call's budget of ${Duration.format(budget)}`
            }))
      })

    // Code that is not core's may run inside a call (a transformed client, a shared budget, a
    // custom retry policy): then every line logged during the call (during its retries, for a
    // policy) carries the call's annotations, as core's own lines always do. Otherwise they are
    // added where core logs, which saves setting (and restoring) the fiber's log annotations on
    // every call.
    const foreignCode = Option.isSome(config.transformClient) || budget.shared

    /** A whole call: retries with the schedule, logging (at Debug) and counting each retry and the outcome. */
    const run = <A>(call: Call<A>): Effect.Effect<A, MeetingsError> =>
      Effect.withFiberRuntime((fiber) => {
        const state: CallState = { attempts: 0, idempotencyKey: Option.fromNullable(call.idempotencyKey) }
        // The span itself comes from `Effect.fn` on the method, so invalid params are traced too.
        const span = fiber.currentSpan
        if (span?._tag === "Span") {
          span.attribute("http.request.method", call.method)
          span.attribute("http.route", call.route)
          span.attribute("url.path", call.path)
          span.attribute("lightfield.category", call.category)
        }
        // Debug lines are built only when the fiber logs at Debug (read once per call).
        const debug = CallLog.debugEnabled(fiber)
        const self = Tracing.withCallSpan((traceHeaders) =>
          withinBudget(
            call,
            Retry.retrying(
              againIfDropped(call, attempt(call, state, traceHeaders, debug)),
              policyOf(call),
              (retries) => Effect.annotateLogs(retries, CallLog.annotations(call))
            )
          )
        )
        // One Debug line per operation (the application sets the level; nothing here is Info).
        const done = (outcome: string, error?: MeetingsError) =>
          CallLog.debug(
            `Lightfield call ${outcome}`,
            error === undefined
              ? { ...CallLog.annotations(call), attempts: state.attempts }
              : { ...CallLog.annotations(call), attempts: state.attempts, error: error._tag }
          )
        const logged = debug
          ? Effect.tapBoth(self, { onSuccess: () => done("succeeded"), onFailure: (error) => done("failed", error) })
          : self
        const redacted = CallLog.withRedactedAuthorization(logged)
        return foreignCode ? Effect.annotateLogs(redacted, CallLog.annotations(call)) : redacted
      })

    return { config, platform, run } satisfies Caller
  })

