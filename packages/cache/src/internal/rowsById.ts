/**
 * Reads of one `meetings` row by id for `MeetingRows`: the hot copy, else the row (a prepared `get`
 * on the SQLite handle, or the portable store's statement on PostgreSQL), remembered in the hot set.
 * `findNow` answers a cache hit synchronously, inside the caller's own effect: a cached `retrieve`
 * is then one effect in all (no span, no effect per step).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Context, Effect, Either, Metric, Option } from "effect"
import type { CacheError } from "../CacheError.js"
import * as CacheMetrics from "../CacheMetrics.js"
import type { Principal } from "../Principal.js"
import type { HotSet } from "./hotSet.js"
import * as Row from "./meetingRow.js"
import type { StoredMeeting } from "./meetingRow.js"
import type { PortableRows } from "./meetingRowsPg.js"
import type { MeetingRowsShape } from "./meetingRowsShape.js"
import { fromCause, mapSql } from "./sql.js"
import type { SqliteHandle } from "./sqlite.js"

const findByIdSql = `SELECT ${Row.foundColumns} FROM meetings WHERE principal = ? AND id = ? AND gone = 0`

export const make = (
  hot: HotSet,
  handle: Context.Tag.Service<typeof SqliteHandle>,
  portable: PortableRows | undefined
): Pick<MeetingRowsShape, "findById" | "findNow"> => {
  /**
   * The row read by id (decoded), remembered unless a write happened since `before` or it was read
   * inside a transaction (`before` is `null`): such a row may be rolled back.
   */
  const settle = (
    principal: Principal,
    id: string,
    stored: Either.Either<StoredMeeting, CacheError> | undefined,
    before: number | null
  ) => {
    if (stored === undefined) return Effect.succeed(Option.none<StoredMeeting>())
    if (Either.isLeft(stored)) return Effect.zipRight(Metric.increment(CacheMetrics.damagedRows), stored.left)
    if (before !== null) hot.remember(principal, id, stored.right, before)
    return Effect.succeed(Option.some(stored.right))
  }

  /**
   * The read `readNow` could not make: after another fiber's open transaction, or again to fail
   * with a statement's error or report a damaged row (typed, and counted).
   */
  const loadById = (principal: Principal, id: string, context: Context.Context<never>) => {
    const before = hot.generation()
    if (!handle.canRunNow(context)) {
      return handle.use(() => handle.prepareRaw(findByIdSql).get(principal, id)).pipe(
        mapSql(`Cannot read meeting ${id}`),
        Effect.flatMap((row) => settle(principal, id, row === undefined ? undefined : Row.decodeFound(id, row), before))
      )
    }
    let row: unknown
    try {
      row = handle.prepareRaw(findByIdSql).get(principal, id)
    } catch (cause) {
      return Effect.fail(fromCause(cause, "Query", `Cannot read meeting ${id}`))
    }
    const found = row === undefined ? undefined : Row.decodeFound(id, row)
    return settle(principal, id, found, handle.inTransaction() ? null : before)
  }

  /**
   * The hot copy, else the row read at once (one prepared `get`, ~10x cheaper than a statement
   * through `@effect/sql`): `null` when there is none, `undefined` when only `loadById` can say.
   */
  const readNow = (principal: Principal, id: string, context: Context.Context<never>): StoredMeeting | null | undefined => {
    const cached = hot.get(principal, id)
    if (cached !== undefined) return cached
    // Committed rows when no transaction is open; this fiber's own transaction's rows inside it.
    const open = handle.inTransaction()
    if (open && !handle.canRunNow(context)) return undefined
    const before = hot.generation()
    let row: unknown
    try {
      row = (open ? handle.prepareRaw(findByIdSql) : handle.prepareCommitted(findByIdSql)).get(principal, id)
    } catch {
      return undefined
    }
    if (row === undefined) return null
    const stored = Row.decodeFound(id, row)
    if (Either.isLeft(stored)) return undefined
    if (!open) hot.remember(principal, id, stored.right, before)
    return stored.right
  }

  if (portable !== undefined) {
    return {
      findById: (principal, id) =>
        Effect.flatMap(hot.checkExternalWrites, () =>
          Effect.contextWithEffect((context: Context.Context<never>) => {
            const cached = hot.get(principal, id)
            if (cached !== undefined) return Effect.succeed(Option.some(cached))
            const before = Option.isSome(Context.getOption(context, SqlClient.TransactionConnection)) ? null : hot.generation()
            return portable.findRow(principal, id).pipe(
              mapSql(`Cannot read meeting ${id}`),
              Effect.flatMap((row) => settle(principal, id, row === undefined ? undefined : Row.decode(row), before))
            )
          })),
      // Change notices are applied in an effect, and the row is a statement away.
      findNow: () => undefined
    }
  }
  return {
    // One effect for a hit: the clock and the context are read off the fiber; the check for other
    // connections' commits (an SQL statement) runs only when it is due.
    findById: (principal, id) =>
      Effect.withFiberRuntime((fiber) => {
        const now = Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis()
        const read = () => {
          const found = readNow(principal, id, fiber.currentContext)
          return found === undefined ? loadById(principal, id, fiber.currentContext) : Effect.succeed(Option.fromNullable(found))
        }
        return hot.checkDue(now) ? Effect.flatMap(hot.checkExternalWrites, read) : read()
      }),
    findNow: (principal, id, context, now) => hot.checkDue(now) ? undefined : readNow(principal, id, context)
  }
}
