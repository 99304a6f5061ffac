/**
 * The HTTP implementation of `Meetings`. It needs only `HttpClient.HttpClient`, so the platform
 * (Node/undici, fetch, …) is chosen by the application.
 *
 * Every call: validates its params with core's schemas before anything is sent, waits for the
 * client-side rate limiter of its category, sends one attempt with a per-attempt timeout, maps the
 * answer to a typed `MeetingsError`, and retries transient failures with a replaceable `Schedule`.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type { ConfigError, ParseResult } from "effect"
import { Config, Effect, Either, Layer, Option, Redacted, Stream } from "effect"
import * as Endpoint from "./Endpoint.js"
import * as IdempotencyKey from "./IdempotencyKey.js"
import * as CallOptions from "./internal/callOptions.js"
import * as Request from "./internal/request.js"
import { scan } from "./internal/scan.js"
import { validateId } from "./Meeting.js"
import * as MeetingCodec from "./MeetingCodec.js"
import { CreateMeetingParams, ListMeetingsParams, UpdateMeetingParams } from "./MeetingParams.js"
import type { CallOptions as Options, MeetingsShape, StreamOptions, WriteOptions } from "./Meetings.js"
import { Meetings } from "./Meetings.js"
import * as MeetingsConfig from "./MeetingsConfig.js"
import type { InvalidConfig, MeetingsError } from "./MeetingsError.js"
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

export {
  /**
   * A call's options checked (`timeout` and `budget` positive finite durations, `failFast` a
   * boolean), or the first bad one as `InvalidParams`; every operation runs it before sending.
   */
  check as checkCallOptions
} from "./internal/callOptions.js"
export type {
  /** `CallOptions` checked and decoded (what `checkCallOptions` answers). */
  CheckedCallOptions
} from "./internal/callOptions.js"

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
const decodeWirePage = MeetingCodec.decodeWirePageJson
// Spec §3.5: a delete answers 200 with the meeting as last served, or 204 with no body.
const decodeDeleted = (text: string) =>
  text.trim() === "" ? Either.right(Option.none()) : Either.map(decodeMeeting(text), Option.some)

export type { Caller } from "./internal/caller.js"
export {
  /** Build the call machinery (`Caller`) over the ambient `HttpClient`; `make` and `FilesClient.make` use it. */
  makeCaller
} from "./internal/caller.js"
import { makeCaller } from "./internal/caller.js"

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

    const create = Effect.fn("Meetings.create")(
      function*(params: CreateMeetingParams, options?: WriteOptions) {
        const checked = yield* CallOptions.check(options)
        const body = yield* validateCreate(params)
        // One key per logical call, reused by every retry.
        const idempotencyKey = yield* IdempotencyKey.resolve(options?.idempotencyKey)
        return yield* run({
          ...Request.callOf(Endpoint.Meetings.create),
          body,
          idempotencyKey,
          options: checked,
          decode: decodeMeeting
        })
      }
    )

    const update = Effect.fn("Meetings.update")(
      function*(id: string, params: UpdateMeetingParams, options?: WriteOptions) {
        const checked = yield* CallOptions.check(options)
        const meetingId = yield* validateId(id)
        const body = yield* validateUpdate(params)
        const idempotencyKey = yield* IdempotencyKey.resolve(options?.idempotencyKey)
        return yield* run({
          ...Request.callOf(Endpoint.Meetings.update, meetingId),
          body,
          idempotencyKey,
          id: meetingId,
          options: checked,
          decode: decodeMeeting
        })
      }
    )

    const retrieve = Effect.fn("Meetings.retrieve")(
      function*(id: string, options?: Options) {
        const checked = yield* CallOptions.check(options)
        const meetingId = yield* validateId(id)
        return yield* run({
          ...Request.callOf(Endpoint.Meetings.retrieve, meetingId),
          id: meetingId,
          options: checked,
          decode: decodeMeeting
        })
      }
    )

    /**
     * `GET /v1/meetings` with params already checked (by `list`, or built by the stream from a
     * checked page size), its answer read by `decode` (to `Meeting`s, or validated wire meetings).
     */
    const listWith = <Page>(decode: (text: string) => Either.Either<Page, ParseResult.ParseError>) =>
    (query: ListMeetingsParams, checked: CallOptions.CheckedCallOptions) => {
      const urlParams: Record<string, string> = {}
      if (query.limit !== undefined) urlParams.limit = String(query.limit)
      if (query.offset !== undefined) urlParams.offset = String(query.offset)
      return run({
        ...Request.callOf(Endpoint.Meetings.list),
        urlParams,
        options: checked,
        decode
      })
    }
    const listChecked = listWith(decodePage)
    const listWire = listWith(decodeWirePage)

    const list = Effect.fn("Meetings.list")(
      function*(params?: ListMeetingsParams, options?: Options) {
        const checked = yield* CallOptions.check(options)
        return yield* listChecked(yield* validateList(params ?? {}), checked)
      }
    )

    // Spec §3.5: a soft delete; 200 with the meeting as last served, or 204 with no body.
    const remove = Effect.fn("Meetings.delete")(
      function*(id: string, options?: WriteOptions) {
        const checked = yield* CallOptions.check(options)
        const meetingId = yield* validateId(id)
        const idempotencyKey = yield* IdempotencyKey.resolve(options?.idempotencyKey)
        return yield* run({
          ...Request.callOf(Endpoint.Meetings.delete, meetingId),
          idempotencyKey,
          id: meetingId,
          options: checked,
          decode: decodeDeleted
        })
      }
    )

    // Each page of the stream is a `Meetings.list` span, as before; its params need no decoding.
    const streamPage = <Page>(list: (query: ListMeetingsParams, checked: CallOptions.CheckedCallOptions) => Effect.Effect<Page, MeetingsError>) =>
    (checked: CallOptions.CheckedCallOptions) =>
    (query: ListMeetingsParams) => Effect.withSpan(list(query, checked), "Meetings.list", { captureStackTrace: false })
    const meetingPages = streamPage(listChecked)
    const wirePages = streamPage(listWire)

    // The call options are checked once, before the first page is asked for.
    const stream = (options?: StreamOptions) =>
      Either.match(CallOptions.check(options), {
        onLeft: (error) => Stream.fail(error),
        onRight: (checked) => scan(meetingPages(checked), options)
      })

    const streamWire = (options?: StreamOptions) =>
      Either.match(CallOptions.check(options), {
        onLeft: (error) => Stream.fail(error),
        onRight: (checked) => scan(wirePages(checked), options)
      })

    return { create, update, retrieve, list, stream, streamWire, delete: remove } satisfies MeetingsShape
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
