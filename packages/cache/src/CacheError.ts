/**
 * The cache's own failures. Everything that goes wrong in SQLite (or while encoding/decoding what
 * is stored) surfaces as one `CacheError` with a `reason`; a `CacheOnly` read that finds nothing is a
 * `CacheMiss`. Core's `MeetingsError` union passes through untouched. `SqlError` and `ParseError`
 * never leave this package.
 */
import { Schema } from "effect"

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
export type CacheErrorReason = typeof CacheErrorReason.Type

export class CacheError extends Schema.TaggedError<CacheError>()("CacheError", {
  reason: CacheErrorReason,
  message: Schema.String,
  /** The database file, when known (always set for `Open` and `Corrupt`). */
  file: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect)
}) {}

/** A `CacheOnly` read (or a read by a provisional id) found nothing servable in the cache. */
export class CacheMiss extends Schema.TaggedError<CacheMiss>()("CacheMiss", {
  id: Schema.String,
  message: Schema.String
}) {}
