/**
 * The HTTP implementation of `Meetings`. It needs only `HttpClient.HttpClient`, so the platform
 * (Node/undici, fetch, …) is chosen by the application.
 *
 * Every call: validates its params with core's schemas before anything is sent, waits for the
 * client-side rate limiter of its category, sends one attempt with a per-attempt timeout, maps the
 * answer to a typed `MeetingsError`, and retries transient failures with a replaceable `Schedule`.
 */
import { Headers, HttpClient } from "@effect/platform"
import type { ConfigError } from "effect"
import { Clock, Config, Duration, Effect, Layer, Metric, Option, Redacted, Ref, Schedule } from "effect"
import * as Endpoint from "./Endpoint.js"
import * as IdempotencyKey from "./IdempotencyKey.js"
import type { Answer } from "./internal/answer.js"
import { fromHttpClientError, retryAfterFromHeaders, serverTime, statusError } from "./internal/answer.js"
import * as Body from "./internal/body.js"
import * as CallMetrics from "./internal/callMetrics.js"
import * as Limiter from "./internal/limiter.js"
import * as RateLimitHeaders from "./internal/rateLimitHeaders.js"
import * as RateLimitObserver from "./internal/rateLimitObserver.js"
import * as Request from "./internal/request.js"
import type { Call } from "./internal/request.js"
import { retrySchedule } from "./internal/retry.js"
import { scan } from "./internal/scan.js"
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

const decodeMeeting = MeetingCodec.decodeMeetingJsonEffect
const decodePage = MeetingCodec.decodePageJsonEffect
const decodeDeleted = (text: string) =>
  text.trim() === "" ? Effect.succeedNone : Effect.asSome(decodeMeeting(text))

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

    /** One attempt: limiter, request, body read under the timeout, status mapping, decoding. */
    const attempt = <A>(call: Call<A>, attempts: Ref.Ref<number>, idempotencyKey: Option.Option<string>) =>
      Effect.gen(function*() {
        const n = yield* Ref.updateAndGet(attempts, (n) => n + 1)
        yield* Effect.annotateCurrentSpan("attempt", n)
        const timeout = Option.match(call.timeout, { onNone: () => config.timeout, onSome: Duration.decode })
        // The timeout covers the wait for a slot of the client-side limiter too: a caller's
        // timeout is a bound on the whole attempt, whatever the limiter learnt.
        let started: number | undefined
        const answer = yield* limiters[call.category].take.pipe(
          Effect.zipRight(Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => (started = now)))),
          Effect.zipRight(client.execute(Request.build(config, call, idempotencyKey))),
          Effect.flatMap((response) =>
            Effect.map(Body.read(response, config.maxResponseBytes), (body): Answer => ({
              status: response.status,
              headers: response.headers,
              // An error answer too large to read still maps by its status.
              text: body._tag === "Text" ? body.text : "",
              tooLarge: body._tag === "TooLarge" ? body.bytes : undefined
            }))
          ),
          Effect.mapError(fromHttpClientError),
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () =>
              new MeetingsUnavailable({
                reason: "Timeout",
                message: started === undefined
                  ? `No ${call.category} slot of the client-side rate limiter within ${Duration.format(timeout)}`
                  : `No answer within ${Duration.format(timeout)}`
              })
          }),
          Effect.tapError((error) =>
            started === undefined || error._tag === "InvalidParams"
              ? Effect.void // never sent: not an HTTP attempt
              : Metric.increment(requestsOf(call, error.reason === "Timeout" ? "timeout" : "transport"))
          )
        )
        const now = yield* Clock.currentTimeMillis
        yield* Effect.annotateCurrentSpan("http.status_code", answer.status)
        yield* Metric.increment(requestsOf(call, String(answer.status)))
        yield* Metric.update(latencyOf(call), now - (started ?? now))
        if (answer.status === 429) {
          yield* Metric.increment(rateLimitedOf(call))
        }
        const serverNow = serverTime(answer.headers, now)
        const retryAfter = retryAfterFromHeaders(answer.headers, serverNow)
        const rateLimit = RateLimitHeaders.read(answer.headers, serverNow, Duration.toMillis(config.retryAfterCap))
        yield* observeRateLimit(call.category, answer, rateLimit, now, retryAfter)
        if (answer.status < 200 || answer.status >= 300) {
          return yield* Effect.fail(statusError(call, answer, retryAfter, rateLimit))
        }
        if (answer.tooLarge !== undefined) {
          return yield* new UndecodableResponse({
            status: answer.status,
            path: "",
            message: `Answer body of ${answer.tooLarge} bytes or more exceeds maxResponseBytes (${config.maxResponseBytes} bytes)`
          })
        }
        return yield* call.decode(answer.text).pipe(
          Effect.mapError((error) => new UndecodableResponse({ status: answer.status, ...Undecodable.message(error, answer.text) }))
        )
      }).pipe(
        Effect.tapError((error) =>
          Effect.logDebug("Lightfield attempt failed").pipe(
            Effect.annotateLogs({ error: error._tag, message: error.message })
          )
        )
      )

    /** A whole call: retries with the schedule, logging (at Debug) and counting each retry and the outcome. */
    const run = <A>(call: Call<A>): Effect.Effect<A, MeetingsError> =>
      Effect.gen(function*() {
        // The span itself comes from `Effect.fn` on the method, so invalid params are traced too.
        yield* Effect.annotateCurrentSpan({
          "http.request.method": call.method,
          "http.route": call.route,
          "url.path": call.path,
          "lightfield.category": call.category
        })
        const attempts = yield* Ref.make(0)
        const idempotencyKey = Option.fromNullable(call.idempotencyKey)
        const observed = schedule.pipe(
          Schedule.modifyDelayEffect((_, delay) =>
            Effect.logDebug("Lightfield call retrying").pipe(
              Effect.annotateLogs({ delay: Duration.format(delay) }),
              Effect.zipRight(Metric.increment(retriesOf(call))),
              Effect.as(delay)
            )
          )
        )
        // One Debug line per operation (the application sets the level; nothing here is Info).
        const done = (outcome: string, error?: MeetingsError) =>
          Effect.flatMap(Ref.get(attempts), (n) =>
            Effect.logDebug(`Lightfield call ${outcome}`).pipe(
              Effect.annotateLogs(error === undefined ? { attempts: n } : { attempts: n, error: error._tag })
            ))
        return yield* attempt(call, attempts, idempotencyKey).pipe(
          Effect.retry(observed),
          Effect.tapBoth({ onSuccess: () => done("succeeded"), onFailure: (error) => done("failed", error) })
        )
      }).pipe(
        // Keep the bearer token out of logs and span attributes even if a caller reset the defaults.
        Effect.locallyWith(Headers.currentRedactedNames, (names) =>
          names.includes("authorization") ? names : [...names, "authorization"]
        ),
        Effect.annotateLogs({ service: "lightfield", call: call.name })
      )

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

    const list = Effect.fn("Meetings.list")(
      function*(params?: ListMeetingsParams, options?: CallOptions) {
        const query = yield* validateList(params ?? {})
        const urlParams: Record<string, string> = {}
        if (query.limit !== undefined) urlParams.limit = String(query.limit)
        if (query.offset !== undefined) urlParams.offset = String(query.offset)
        return yield* run({
          ...Request.callOf(Endpoint.Meetings.list),
          urlParams,
          timeout: timeoutOf(options),
          decode: decodePage
        })
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

    const stream = (options?: StreamOptions) => scan(list, options)

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
