/**
 * SQL helpers shared by every table's owner: lock contention waited out asynchronously, and write
 * transactions whose every failure (a failed COMMIT included) is a typed `CacheError`.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlError from "@effect/sql/SqlError"
import { Cause, Duration, Effect, Schedule } from "effect"
import type { CacheErrorReason } from "../CacheError.js"
import { CacheError } from "../CacheError.js"

/** SQLite result codes carried by better-sqlite3's `SqliteError.code` (and PostgreSQL's SQLSTATE on pg's errors). */
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

/** PostgreSQL's retryable codes: serialization failure, deadlock, lock not available. */
const pgBusyCodes = new Set(["40001", "40P01", "55P03"])

/** True for `SQLITE_BUSY`, `SQLITE_BUSY_SNAPSHOT`, `SQLITE_LOCKED`… (and PostgreSQL's `pgBusyCodes`): worth retrying. */
export const isBusy = (error: unknown): boolean => {
  if (error instanceof CacheError && error.reason === "Busy") return true
  const code = codeInChain(error)
  return code !== undefined &&
    (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED") || pgBusyCodes.has(code))
}

const isCorruptCode = (code: string | undefined): boolean =>
  code !== undefined && (code.startsWith("SQLITE_NOTADB") || code.startsWith("SQLITE_CORRUPT"))

/** SQLite's full database, PostgreSQL's `disk_full` (53100). */
const isFullCode = (code: string | undefined): boolean =>
  code !== undefined && (code.startsWith("SQLITE_FULL") || code === "53100")

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

/**
 * Lock contention is waited out here, asynchronously, rather than in SQLite's busy handler: the
 * busy handler sleeps synchronously and would block the event loop (and, with two connections in
 * one process, the very fiber holding the lock). SQLite waits only briefly (`Database`'s
 * `busyTimeout`, default 25 ms); then this schedule retries with jittered exponential delays capped
 * at 250 ms, for up to 15 seconds in total.
 */
export const busySchedule = Schedule.exponential("5 millis").pipe(
  Schedule.modifyDelay((d) => Duration.min(d, Duration.millis(250))),
  Schedule.jittered,
  Schedule.upTo("15 seconds")
)

/** Retry on `SQLITE_BUSY`/`SQLITE_LOCKED` with `busySchedule`. */
export const retryBusy = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.retry(self, { schedule: busySchedule, while: isBusy })

/**
 * `@effect/sql` turns a failed COMMIT (or ROLLBACK) into a defect; a full disk fails exactly there.
 * Such a defect becomes a failure again. The connection (`internal/sqlite.ts`) has already rolled
 * the transaction back before releasing itself, so nothing is left open.
 */
const typedCommit = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError.SqlError, R> =>
  Effect.catchAllCause(self, (cause): Effect.Effect<never, E | SqlError.SqlError> => {
    const defect = Cause.dieOption(cause)
    return defect._tag === "Some" && defect.value instanceof SqlError.SqlError
      ? Effect.fail(defect.value)
      : Effect.failCause(cause)
  })

/** One write transaction: retried on lock contention, every failure a `CacheError`. */
export const transaction = <A, E, R>(
  sql: SqlClient.SqlClient,
  message: string,
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, CacheError, R> => typedCommit(sql.withTransaction(self)).pipe(retryBusy, mapSql(message))

/**
 * `transaction`, unless this fiber is already inside one of `sql`'s transactions: then `self` runs
 * in it as it is (a savepoint would make SQLite keep a sub-journal of every page the batch touches).
 */
export const withinTransaction = <A, E, R>(
  sql: SqlClient.SqlClient,
  message: string,
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, CacheError, R> =>
  Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (open) =>
    open._tag === "Some" ? mapSql(message)(self) : transaction(sql, message, self))
