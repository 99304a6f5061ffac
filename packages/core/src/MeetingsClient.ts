/**
 * The HTTP implementation of `Meetings`. It needs only `HttpClient.HttpClient`, so the platform
 * (Node/undici, fetch, …) is chosen by the application.
 *
 * Every call: validates its params with core's schemas before anything is sent, waits for the
 * client-side rate limiter of its category, sends one attempt with a per-attempt timeout, maps the
 * answer to a typed `MeetingsError`, and retries transient failures with a replaceable `Schedule`.
 */
import type { Headers } from "@effect/platform"
import { HttpClient } from "@effect/platform"
import type { ConfigError } from "effect"
import {
  Clock,
  Config,
  Context,
  DefaultServices,
  Duration,
  Effect,
  Either,
  FiberRef,
  Layer,
  Metric,
  Option,
  Redacted,
  Schedule
} from "effect"
import * as Endpoint from "./Endpoint.js"
import * as IdempotencyKey from "./IdempotencyKey.js"
import type { Answer } from "./internal/answer.js"
import { fromHttpClientError, retryAfterFromHeaders, serverTime, statusError } from "./internal/answer.js"
import * as Body from "./internal/body.js"
import * as CallLog from "./internal/callLog.js"
import * as CallMetrics from "./internal/callMetrics.js"
import * as Limiter from "./internal/limiter.js"
import * as RateLimitHeaders from "./internal/rateLimitHeaders.js"
import * as RateLimitObserver from "./internal/rateLimitObserver.js"
import * as Request from "./internal/request.js"
import type { Call } from "./internal/request.js"
import * as Retry from "./internal/retry.js"
import { retrySchedule } from "./internal/retry.js"
import { scan } from "./internal/scan.js"
import * as Timeout from "./internal/timeout.js"
import * as Tracing from "./internal/tracing.js"
import * as Undecodable from "./internal/undecodable.js"
import { validateId } from "./Meeting.js"
import * as MeetingCodec from "./MeetingCodec.js"
import { CreateMeetingParams, ListMeetingsParams, UpdateMeetingParams } from "./MeetingParams.js"
import type { CallOptions, MeetingsShape, StreamOptions, WriteOptions } from "./Meetings.js"
import { Meetings } from "./Meetings.js"
import * as MeetingsConfig from "./MeetingsConfig.js"
import type { InvalidConfig, MeetingsError } from "./MeetingsError.js"
import { MeetingsUnavailable, UndecodableResponse } from "./MeetingsError.js"
import * as MeetingsMetrics from "./MeetingsMetrics.js"
import * as ParamsProblem from "./ParamsProblem.js"

export {
  /** Whether a failed attempt is worth another one (the default policy's filter). */
  isRetryable,
  /** The default retry policy, as a `Schedule` over the failed attempt's error. */
  retrySchedule
} from "./internal/retry.js"

export {
  /** `retry-after-ms`, then `Retry-After` (seconds or an HTTP date), as a delay from `now`. */
  retryAfterFromHeaders
} from "./internal/answer.js"

/**
 * Rate-limit categories (spec §9); kept here for old imports, owned by `Endpoint.Category`.
 *
 * @since 0.1.0
 */
export type Category = Endpoint.Category

/**
 * The longest `Idempotency-Key` the API accepts (spec §10); owned by `IdempotencyKey.MaxLength`.
 *
 * @since 0.1.0
 */
export const MaxIdempotencyKeyLength = IdempotencyKey.MaxLength

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

const validateCreate = ParamsProblem.validator(CreateMeetingParams)
const validateUpdate = ParamsProblem.validator(UpdateMeetingParams)
const validateList = ParamsProblem.validator(ListMeetingsParams)

// ---------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------

const decodeMeeting = MeetingCodec.decodeMeetingJson
const decodePage = MeetingCodec.decodePageJson
// Spec §3.5: a delete answers 200 with the meeting as last served, or 204 with no body.
const decodeDeleted = (text: string) =>
  text.trim() === "" ? Either.right(Option.none()) : Either.map(decodeMeeting(text), Option.some)

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
    const limiters: Record<Category, Limiter.Limiter> = {
      Write: yield* Limiter.make("Write", { rate: config.rate, burst }),
      Read: yield* Limiter.make("Read", { rate: config.rate, burst }),
      Search: yield* Limiter.make("Search", { rate: config.rate, burst })
    }

    const observeRateLimit = RateLimitObserver.make(limiters, config.retryAfterCap)

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
    const attempt = <A>(call: Call<A>, state: CallState, traceHeaders: Headers.Headers | undefined) =>
      Effect.suspend((): Effect.Effect<A, MeetingsError> => {
        const n = ++state.attempts
        const timeout = Option.match(call.timeout, { onNone: () => config.timeout, onSome: Duration.decode })
        // The timeout covers the wait for a slot of the client-side limiter too: a caller's
        // timeout is a bound on the whole attempt, whatever the limiter learnt.
        let started: number | undefined
        const exchange = limiters[call.category].take.pipe(
          Effect.zipRight(Effect.clockWith((clock) => {
            started = clock.unsafeCurrentTimeMillis()
            return client.execute(Request.build(config, call, state.idempotencyKey, traceHeaders))
          })),
          Effect.flatMap((response) =>
            Effect.map(Body.read(response, config.maxResponseBytes), (body): Answer => ({
              status: response.status,
              headers: response.headers,
              // An error answer too large to read still maps by its status.
              text: body._tag === "Text" ? body.text : "",
              tooLarge: body._tag === "TooLarge" ? body.bytes : undefined
            }))
          ),
          Effect.mapError(fromHttpClientError)
        )
        return Effect.zipRight(
          Effect.annotateCurrentSpan("attempt", n),
          Effect.matchEffect(
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
        )
      }).pipe(
        Effect.tapError((error) => CallLog.debug("Lightfield attempt failed", { error: error._tag, message: error.message }))
      )

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
        return Effect.zipRight(
          observeRateLimit(call.category, answer, rateLimit, now, retryAfter),
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
          CallLog.debug("Lightfield call retrying", { delay: Duration.format(delay) }).pipe(
            Effect.zipRight(Metric.increment(retriesOf(call))),
            Effect.as(delay)
          )
        )
      )

    /** A whole call: retries with the schedule, logging (at Debug) and counting each retry and the outcome. */
    const run = <A>(call: Call<A>): Effect.Effect<A, MeetingsError> => {
      const state: CallState = { attempts: 0, idempotencyKey: Option.fromNullable(call.idempotencyKey) }
      // One Debug line per operation (the application sets the level; nothing here is Info).
      const done = (outcome: string, error?: MeetingsError) =>
        CallLog.debug(
          `Lightfield call ${outcome}`,
          error === undefined ? { attempts: state.attempts } : { attempts: state.attempts, error: error._tag }
        )
      return Effect.zipRight(
        // The span itself comes from `Effect.fn` on the method, so invalid params are traced too.
        Effect.annotateCurrentSpan({
          "http.request.method": call.method,
          "http.route": call.route,
          "url.path": call.path,
          "lightfield.category": call.category
        }),
        Tracing.withCallSpan((traceHeaders) =>
          Retry.retrying(attempt(call, state, traceHeaders), () => observedSchedule(call))
        )
      ).pipe(
        Effect.tapBoth({ onSuccess: () => done("succeeded"), onFailure: (error) => done("failed", error) }),
        CallLog.withRedactedAuthorization,
        Effect.annotateLogs(CallLog.annotations(call))
      )
    }

    return { config, platform, run } satisfies Caller
  })

/**
 * Build the `Meetings` service over the ambient `HttpClient`. The options are checked first
 * (`MeetingsConfig.validate`): unusable ones fail with `InvalidConfig` before anything is sent.
 *
 * @since 0.1.0
 */
export const make = (
  options: MeetingsConfig.Options
): Effect.Effect<MeetingsShape, InvalidConfig, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const { run } = yield* makeCaller(options)
    const timeoutOf = (options: CallOptions | undefined) => Option.fromNullable(options?.timeout)

    const create = Effect.fn("Meetings.create")(
      function*(params: CreateMeetingParams, options?: WriteOptions) {
        const body = yield* validateCreate(params)
        // One key per logical call, reused by every retry.
        const idempotencyKey = yield* IdempotencyKey.resolve(options?.idempotencyKey)
        return yield* run({
          ...Request.callOf(Endpoint.Meetings.create),
          body,
          idempotencyKey,
          timeout: timeoutOf(options),
          decode: decodeMeeting
        })
      }
    )

    const update = Effect.fn("Meetings.update")(
      function*(id: string, params: UpdateMeetingParams, options?: WriteOptions) {
        const meetingId = yield* validateId(id)
        const body = yield* validateUpdate(params)
        const idempotencyKey = yield* IdempotencyKey.resolve(options?.idempotencyKey)
        return yield* run({
          ...Request.callOf(Endpoint.Meetings.update, meetingId),
          body,
          idempotencyKey,
          id: meetingId,
          timeout: timeoutOf(options),
          decode: decodeMeeting
        })
      }
    )

    const retrieve = Effect.fn("Meetings.retrieve")(
      function*(id: string, options?: CallOptions) {
        const meetingId = yield* validateId(id)
        return yield* run({
          ...Request.callOf(Endpoint.Meetings.retrieve, meetingId),
          id: meetingId,
          timeout: timeoutOf(options),
          decode: decodeMeeting
        })
      }
    )

    /** `GET /v1/meetings` with params already checked (by `list`, or built by the stream from a checked page size). */
    const listChecked = (query: ListMeetingsParams, options: CallOptions | undefined) => {
      const urlParams: Record<string, string> = {}
      if (query.limit !== undefined) urlParams.limit = String(query.limit)
      if (query.offset !== undefined) urlParams.offset = String(query.offset)
      return run({
        ...Request.callOf(Endpoint.Meetings.list),
        urlParams,
        timeout: timeoutOf(options),
        decode: decodePage
      })
    }

    const list = Effect.fn("Meetings.list")(
      function*(params?: ListMeetingsParams, options?: CallOptions) {
        return yield* listChecked(yield* validateList(params ?? {}), options)
      }
    )

    // Spec §3.5: a soft delete; 200 with the meeting as last served, or 204 with no body.
    const remove = Effect.fn("Meetings.delete")(
      function*(id: string, options?: WriteOptions) {
        const meetingId = yield* validateId(id)
        const idempotencyKey = yield* IdempotencyKey.resolve(options?.idempotencyKey)
        return yield* run({
          ...Request.callOf(Endpoint.Meetings.delete, meetingId),
          idempotencyKey,
          id: meetingId,
          timeout: timeoutOf(options),
          decode: decodeDeleted
        })
      }
    )

    // Each page of the stream is a `Meetings.list` span, as before; its params need no decoding.
    const streamPage = (query: ListMeetingsParams, options: CallOptions | undefined) =>
      Effect.withSpan(listChecked(query, options), "Meetings.list", { captureStackTrace: false })

    const stream = (options?: StreamOptions) => scan(streamPage, options)

    return { create, update, retrieve, list, stream, delete: remove } satisfies MeetingsShape
  })

// ---------------------------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------------------------

/**
 * `Meetings` over HTTP with the given options (checked when the layer is built).
 *
 * @since 0.1.0
 */
export const layer = (options: MeetingsConfig.Options): Layer.Layer<Meetings, InvalidConfig, HttpClient.HttpClient> =>
  Layer.effect(Meetings, make(options))

/**
 * `Meetings` over HTTP, options read from `Config` (default: `MeetingsConfig.config`, the environment).
 *
 * @since 0.1.0
 */
export const layerConfig = (
  config: Config.Config<MeetingsConfig.Options> = MeetingsConfig.config
): Layer.Layer<Meetings, ConfigError.ConfigError | InvalidConfig, HttpClient.HttpClient> =>
  Layer.effect(Meetings, Effect.flatMap(config, make))


/**
 * For callers that hold the key as a plain string (tests against the sandbox): wraps it in
 * `Redacted` at once. Applications should read it with `Config.redacted` (`layerConfig`).
 *
 * @since 0.1.0
 */
export const layerWithApiKey = (
  apiKey: string,
  options?: Omit<MeetingsConfig.Options, "apiKey">
): Layer.Layer<Meetings, InvalidConfig, HttpClient.HttpClient> => layer({ ...options, apiKey: Redacted.make(apiKey) })
