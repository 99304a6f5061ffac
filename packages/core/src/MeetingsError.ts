/**
 * Every failure a caller of `Meetings` can meet, as tagged errors. Statuses whose handling is the
 * same share a class (with a `reason` or `status`), so `catchTags` over `MeetingsError` is short and
 * exhaustive.
 */
import type { Unify } from "effect"
import { Duration, Function, Option, Schema } from "effect"

/**
 * Bad input refused by the client before any request was sent.
 *
 * @since 0.1.0
 */
export class InvalidParams extends Schema.TaggedError<InvalidParams>()("InvalidParams", {
  param: Schema.String,
  message: Schema.String,
  /** The status the API would have answered (400 shape, 422 business rule). */
  status: Schema.Literal(400, 422)
}) {}

/**
 * 400 (and 408, 415, or another unexpected 4xx): the request itself was wrong; see `code` and
 * `param`. A 408 (`type: "request_timeout"` unless the server sent one) is retried.
 *
 * @since 0.1.0
 */
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", {
  status: Schema.Number,
  type: Schema.String,
  message: Schema.String,
  code: Schema.optional(Schema.String),
  param: Schema.optional(Schema.String)
}) {}

/**
 * 401: missing, unknown or revoked API key.
 *
 * @since 0.1.0
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  message: Schema.String
}) {}

/**
 * 403: the key is valid but lacks a scope or permission.
 *
 * @since 0.1.0
 */
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {
  message: Schema.String,
  /** The scope named in the message (`Token does not have the 'meetings:create' scope.`), if any. */
  scope: Schema.optional(Schema.String)
}) {}

/**
 * 404: no meeting with this id, or the caller may not see it.
 *
 * @since 0.1.0
 */
export class MeetingNotFound extends Schema.TaggedError<MeetingNotFound>()("MeetingNotFound", {
  id: Schema.optional(Schema.String),
  message: Schema.String
}) {}

/**
 * 409: conflicting state (concurrent update, locked resource).
 *
 * @since 0.1.0
 */
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", {
  message: Schema.String,
  /** What the server's `Retry-After` asked for, if it sent one. */
  retryAfter: Schema.optional(Schema.DurationFromMillis)
}) {}

/**
 * 409 `idempotency_conflict`: the same key is still being processed by an earlier request.
 *
 * @since 0.1.0
 */
export class IdempotencyConflict extends Schema.TaggedError<IdempotencyConflict>()("IdempotencyConflict", {
  message: Schema.String,
  /** The key that was sent; without one the conflict is not retried. */
  idempotencyKey: Schema.optional(Schema.String),
  retryAfter: Schema.optional(Schema.DurationFromMillis)
}) {}

/**
 * 422: valid JSON that breaks a business rule, located by `param`.
 *
 * @since 0.1.0
 */
export class Unprocessable extends Schema.TaggedError<Unprocessable>()("Unprocessable", {
  message: Schema.String,
  param: Schema.optional(Schema.String)
}) {}

/**
 * 429 after the retries ran out; `retryAfter` is what the server asked for.
 *
 * @since 0.1.0
 */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  message: Schema.String,
  retryAfter: Schema.optional(Schema.DurationFromMillis),
  limit: Schema.optional(Schema.Number),
  remaining: Schema.optional(Schema.Number)
}) {}

/**
 * Why `MeetingsUnavailable`: `Server` (5xx, with `status`), `Timeout` (no answer within the
 * timeout), `Transport` (connection refused, reset, dropped) come from the API; `LocalCache` (the
 * local mirror failed; its error is the `cause`) and `NotCached` (the API is unreachable and the
 * mirror does not hold what was asked) come from a cache serving `Meetings`; `RateBudget` (the
 * shared rate budget's store, e.g. Redis, could not be reached: nothing was sent) comes from
 * `RateBudget`.
 *
 * @since 0.1.0
 */
export const UnavailableReason = Schema.Literal("Server", "Timeout", "Transport", "LocalCache", "NotCached", "RateBudget")

/**
 * @since 0.1.0
 */
/**
 * The type of the `UnavailableReason` schema's values.
 *
 * @since 0.1.0
 */
export type UnavailableReason = typeof UnavailableReason.Type

/**
 * The meetings could not be had now: the API could not be reached or did not answer in time
 * (`Server`, `Timeout`, `Transport`), or a local mirror standing in for it failed (`LocalCache`) or
 * does not hold the meeting (`NotCached`), or the shared rate budget could not be consulted
 * (`RateBudget`). See `UnavailableReason`.
 *
 * @since 0.1.0
 */
export class MeetingsUnavailable extends Schema.TaggedError<MeetingsUnavailable>()("MeetingsUnavailable", {
  reason: UnavailableReason,
  message: Schema.String,
  status: Schema.optional(Schema.Number),
  /** What the server's `Retry-After` asked for (e.g. on a 503), if it sent one. */
  retryAfter: Schema.optional(Schema.DurationFromMillis),
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * A response that does not match the contract; `path` names where it failed (e.g. `data.3.fields.$title`).
 *
 * @since 0.1.0
 */
export class UndecodableResponse extends Schema.TaggedError<UndecodableResponse>()("UndecodableResponse", {
  status: Schema.Number,
  path: Schema.String,
  message: Schema.String
}) {}

/**
 * The options of a `Meetings` layer are unusable (a base URL that is not an http(s) URL or carries
 * credentials, an API key that cannot be sent as a header, a non-positive rate or timeout, …).
 * Raised when the layer is built, never by a call: it is not a `MeetingsError`. The message never
 * quotes the API key or credentials.
 *
 * @since 0.1.0
 */
export class InvalidConfig extends Schema.TaggedError<InvalidConfig>()("InvalidConfig", {
  /** The option at fault, as named in `MeetingsConfig.Options` (`baseUrl`, `apiKey`, …). */
  option: Schema.String,
  message: Schema.String
}) {}

/**
 * Every failure of a `Meetings` call, as one Schema union: encode it to keep a typed error (e.g. a dead letter) and decode it back.
 *
 * @since 0.1.0
 */
export const MeetingsError = Schema.Union(
  InvalidParams,
  BadRequest,
  Unauthorized,
  Forbidden,
  MeetingNotFound,
  Conflict,
  IdempotencyConflict,
  Unprocessable,
  RateLimited,
  MeetingsUnavailable,
  UndecodableResponse
)

/**
 * The type of `MeetingsError`.
 *
 * @since 0.1.0
 */
export type MeetingsError = typeof MeetingsError.Type

/**
 * The tags of `MeetingsError`.
 *
 * @since 0.1.0
 */
export type Tag = MeetingsError["_tag"]

/**
 * One handler per tag of `MeetingsError`, each given its own class. Used by `match`: a missing tag,
 * or a key that is not a tag, does not compile.
 *
 * @since 0.1.0
 */
export type Handlers = { readonly [K in Tag]: (error: Extract<MeetingsError, { readonly _tag: K }>) => unknown }

type Exact<P> = P & { readonly [K in Exclude<keyof P, Tag>]: never }

/** What the handlers of `P` return, unified (several Effects become one). */
type Result<P extends Handlers> = Unify.Unify<{ [K in Tag]: ReturnType<P[K]> }[Tag]>

/**
 * An exhaustive match over `MeetingsError`: the compiler requires a handler for every tag (unlike
 * `Effect.catchTags`, which accepts any subset). Handlers returning Effects unify into one Effect,
 * so `Effect.catchAll(MeetingsError.match({ … }))` handles every failure or does not compile.
 *
 * @example
 * const text = MeetingsError.match(error, {
 *   InvalidParams: (e) => `bad ${e.param}`, BadRequest: (e) => e.message, Unauthorized: () => "key?",
 *   Forbidden: (e) => e.scope ?? "scope?", MeetingNotFound: () => "gone", Conflict: () => "later",
 *   IdempotencyConflict: () => "later", Unprocessable: (e) => e.message, RateLimited: () => "slow down",
 *   MeetingsUnavailable: (e) => e.reason, UndecodableResponse: (e) => e.path
 * })
 * @since 0.1.0
 */
export const match: {
  <const P extends Handlers>(handlers: Exact<P>): (error: MeetingsError) => Result<P>
  <const P extends Handlers>(error: MeetingsError, handlers: Exact<P>): Result<P>
} = Function.dual(
  2,
  (error: MeetingsError, handlers: Handlers) => (handlers[error._tag] as (error: MeetingsError) => unknown)(error)
)

/**
 * Failures worth answering from a cache or retrying later: the API is not answering usefully now.
 *
 * @since 0.1.0
 */
export type Unreachable = RateLimited | MeetingsUnavailable

/**
 * True for `RateLimited` and every `MeetingsUnavailable`. A cache deciding whether to queue a write
 * should also look at `reason`: `LocalCache` means its own store failed, not the API.
 *
 * @since 0.1.0
 */
export const isUnreachable = (e: MeetingsError): e is Unreachable =>
  e._tag === "RateLimited" || e._tag === "MeetingsUnavailable"

/**
 * Extract the scope from the documented 403 message.
 *
 * @since 0.1.0
 */
export const scopeFromMessage = (message: string): Option.Option<string> =>
  Option.fromNullable(/'([a-z_]+:[a-z_]+)'/.exec(message)?.[1])

/**
 * The delay the server asked for (`retry-after-ms` / `Retry-After`), on any error that can carry one.
 *
 * @since 0.1.0
 */
export const retryAfterOf = (e: MeetingsError): Option.Option<Duration.Duration> =>
  "retryAfter" in e ? Option.fromNullable(e.retryAfter) : Option.none()
