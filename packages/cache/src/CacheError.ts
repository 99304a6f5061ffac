/**
 * The cache's own failures. Everything that goes wrong in SQLite (or while encoding/decoding what
 * is stored) surfaces as one `CacheError` with a `reason`; a `CacheOnly` read that finds nothing is a
 * `CacheMiss`. Core's `MeetingsError` union passes through untouched. `SqlError` and `ParseError`
 * never leave this package. `CacheFailure` is the union of all three, with an exhaustive `match`.
 *
 * @since 0.1.0
 */
import { MeetingsError } from "@lightfield-effect/core"
import { Function, Schema } from "effect"
import type { Unify } from "effect"

/**
 * What went wrong in the cache's storage.
 *
 * @since 0.1.0
 */
export const CacheErrorReason = Schema.Literal(
  /** The database file could not be opened (permissions, a directory, a missing parent folder). */
  "Open",
  /** The file exists but is not a SQLite database, or SQLite reports it corrupt. */
  "Corrupt",
  /** A migration failed. */
  "Migration",
  /** Another connection held the lock for longer than the busy timeout and the retries. */
  "Busy",
  /** The disk (or the database's size limit) is full: nothing was written. */
  "Full",
  /** A local query's input is invalid (a bound that is not a date, text over the limits): nothing ran. */
  "InvalidQuery",
  /** Any other SQL failure. */
  "Query",
  /** A meeting or outbox entry could not be encoded for storage. */
  "Encode",
  /** A stored row could not be decoded. */
  "Decode",
  /** The cache's options are invalid (e.g. an explicit principal with characters it may not hold). */
  "Config"
)

/**
 * @since 0.1.0
 */
/**
 * The type of the `CacheErrorReason` schema's values.
 *
 * @since 0.1.0
 */
export type CacheErrorReason = typeof CacheErrorReason.Type

/**
 * A failure of the cache's storage or options.
 *
 * @since 0.1.0
 */
export class CacheError extends Schema.TaggedError<CacheError>()("CacheError", {
  reason: CacheErrorReason,
  message: Schema.String,
  /** The database file, when known (always set for `Open` and `Corrupt`). */
  file: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * A `CacheOnly` read (or a read by a provisional id) found nothing servable in the cache.
 *
 * @since 0.1.0
 */
export class CacheMiss extends Schema.TaggedError<CacheMiss>()("CacheMiss", {
  id: Schema.String,
  message: Schema.String
}) {}

/**
 * Every failure a caller of `MeetingsCache` can meet: core's `MeetingsError`, `CacheError`, `CacheMiss`.
 *
 * @since 0.1.0
 */
export const CacheFailure = Schema.Union(MeetingsError.MeetingsError, CacheError, CacheMiss)

/**
 * @since 0.1.0
 */
/**
 * The type of the `CacheFailure` schema's values.
 *
 * @since 0.1.0
 */
export type CacheFailure = typeof CacheFailure.Type

/**
 * The tags of `CacheFailure`.
 *
 * @since 0.1.0
 */
export type Tag = CacheFailure["_tag"]

/**
 * One handler per tag of `CacheFailure`, each given its own class. Used by `match`: a missing tag,
 * or a key that is not a tag, does not compile.
 *
 * @since 0.1.0
 */
export type Handlers = { readonly [K in Tag]: (error: Extract<CacheFailure, { readonly _tag: K }>) => unknown }

type Exact<P> = P & { readonly [K in Exclude<keyof P, Tag>]: never }

/** What the handlers of `P` return, unified (several Effects become one). */
type Result<P extends Handlers> = Unify.Unify<{ [K in Tag]: ReturnType<P[K]> }[Tag]>

/**
 * An exhaustive match over `CacheFailure`: the compiler requires a handler for every tag (unlike
 * `Effect.catchTags`, which accepts any subset). Handlers returning Effects unify into one Effect,
 * so `Effect.catchAll(CacheError.match({ … }))` handles every failure of the cache or does not compile.
 *
 * @example
 * const exitCode = CacheError.match(error, {
 *   CacheError: (e) => (e.reason === "Full" ? 28 : 8), CacheMiss: () => 4,
 *   InvalidParams: () => 2, BadRequest: () => 2, Unprocessable: () => 2, Unauthorized: () => 3,
 *   Forbidden: () => 3, MeetingNotFound: () => 4, Conflict: () => 5, IdempotencyConflict: () => 5,
 *   RateLimited: () => 6, MeetingsUnavailable: () => 6, UndecodableResponse: () => 7
 * })
 * @since 0.1.0
 */
export const match: {
  <const P extends Handlers>(handlers: Exact<P>): (error: CacheFailure) => Result<P>
  <const P extends Handlers>(error: CacheFailure, handlers: Exact<P>): Result<P>
} = Function.dual(
  2,
  (error: CacheFailure, handlers: Handlers) => (handlers[error._tag] as (error: CacheFailure) => unknown)(error)
)
