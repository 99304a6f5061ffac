/**
 * The cache's own failures. Everything that goes wrong in SQLite (or while encoding/decoding what
 * is stored) surfaces as one `CacheError` with a `reason`; a `CacheOnly` read that finds nothing is a
 * `CacheMiss`. Core's `MeetingsError` union passes through untouched. `SqlError` and `ParseError`
 * never leave this package.
 */
import { Effect, Schema } from "effect"

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

/** SQLite result codes carried by better-sqlite3's `SqliteError.code`. */
export const sqliteCode = (cause: unknown): string | undefined => {
  if (typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string") {
    return cause.code
  }
  return undefined
}

const causeOf = (error: unknown): unknown =>
  typeof error === "object" && error !== null && "cause" in error ? error.cause : error

/** The SQLite code anywhere in a short cause chain (`CacheError` → `SqlError` → `SqliteError`). */
const codeInChain = (error: unknown): string | undefined => {
  let current = error
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    const code = sqliteCode(current)
    if (code !== undefined) return code
    const next = causeOf(current)
    if (next === current) return undefined
    current = next
  }
  return undefined
}

/** True for `SQLITE_BUSY`, `SQLITE_BUSY_SNAPSHOT`, `SQLITE_LOCKED`…: worth retrying. */
export const isBusy = (error: unknown): boolean => {
  if (error instanceof CacheError && error.reason === "Busy") return true
  const code = codeInChain(error)
  return code !== undefined && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"))
}

const isCorruptCode = (code: string | undefined): boolean =>
  code !== undefined && (code.startsWith("SQLITE_NOTADB") || code.startsWith("SQLITE_CORRUPT"))

const isFullCode = (code: string | undefined): boolean => code !== undefined && code.startsWith("SQLITE_FULL")

/** Classify an underlying failure (a `SqlError`, a `ParseError`, a defect) as a `CacheError`. */
export const fromCause = (
  error: unknown,
  fallback: CacheErrorReason,
  message: string,
  file?: string
): CacheError => {
  const code = codeInChain(error)
  const reason: CacheErrorReason = isCorruptCode(code)
    ? "Corrupt"
    : isBusy(error)
    ? "Busy"
    : isFullCode(code)
    ? "Full"
    : fallback
  const detail = error instanceof Error ? `: ${error.message}` : ""
  const inner = causeOf(error)
  const innerDetail = inner !== error && inner instanceof Error ? ` (${inner.message})` : ""
  return new CacheError({
    reason,
    message: `${message}${detail}${innerDetail}`,
    cause: error,
    ...(file === undefined ? {} : { file })
  })
}

/** Map the SQL and parse failures of an effect to `CacheError` (use at every repo method boundary). */
export const mapSql = (message: string, fallback: CacheErrorReason = "Query") =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, CacheError, R> =>
  Effect.mapError(self, (e) => (e instanceof CacheError ? e : fromCause(e, fallback, message)))
