/**
 * SQL helpers shared by every table's owner: lock contention waited out asynchronously, and write
 * transactions whose every failure (a failed COMMIT included) is a typed `CacheError`.
 */
import { SqlClient, SqlError } from "@effect/sql"
import { Cause, Duration, Effect, Schedule } from "effect"
import type { CacheError } from "../CacheError.js"
import { isBusy, mapSql } from "../CacheError.js"

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
 * Such a defect becomes a failure again, after making sure the transaction is not left open.
 */
const typedCommit = <A, E, R>(
  sql: SqlClient.SqlClient,
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, E | SqlError.SqlError, R> =>
  Effect.catchAllCause(self, (cause): Effect.Effect<never, E | SqlError.SqlError> => {
    const sqlDefect = Cause.dieOption(cause)
    if (sqlDefect._tag === "None" || !(sqlDefect.value instanceof SqlError.SqlError)) return Effect.failCause(cause)
    const failure = sqlDefect.value
    return Effect.zipRight(Effect.ignore(sql.unsafe("ROLLBACK")), Effect.fail(failure))
  })

/** One write transaction: retried on lock contention, every failure a `CacheError`. */
export const transaction = <A, E, R>(
  sql: SqlClient.SqlClient,
  message: string,
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, CacheError, R> => typedCommit(sql, sql.withTransaction(self)).pipe(retryBusy, mapSql(message))

/** `transaction` with the `SqlClient` from the context. */
export const inTransaction = <A, E, R>(
  message: string,
  self: Effect.Effect<A, E, R>
): Effect.Effect<A, CacheError, R | SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => transaction(sql, message, self))
