/**
 * The write and read-by-id paths of `MeetingRows` for a database without the SQLite handle
 * (PostgreSQL): the same statements and the same privacy rule (`meetingRow.ts`'s conflict clause),
 * but through the `SqlClient`, a chunk of rows per statement instead of a prepared run per row.
 *
 * A batch is one multi-row `INSERT … ON CONFLICT (principal, id) DO UPDATE … WHERE … RETURNING id`
 * per chunk: the ids it returns were written; the others met a pending row or a tombstone and were
 * skipped, exactly where the single-row statement reports no change. Chunks stay far below
 * PostgreSQL's 65535 parameters per statement.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import { Array as Arr, Effect, Order } from "effect"
import type { Principal } from "../Principal.js"
import * as Row from "./meetingRow.js"
import type { SqliteHandleShape } from "./sqlite.js"

/** One encoded meeting of a batch (as `MeetingRows` encodes it). */
export type Item = Row.EncodedMeeting

/** Rows per statement: 16 columns × 1000 rows = 16000 parameters (the limit is 65535). */
const rowsPerStatement = 1000
/** Attendee rows per statement (3 columns each). */
const attendeesPerStatement = 5000

const byId = Order.mapInput(Order.string, (i: Item) => i.row.id as string)

/** What `MeetingRows` runs through the `SqlClient` when there is no SQLite handle. */
export interface PortableRows {
  /** Upsert a batch (inside the caller's transaction); the pending FULL rows that met a METADATA copy. */
  readonly write: (
    principal: Principal,
    items: ReadonlyArray<Item>,
    mode: Row.UpsertMode
  ) => Effect.Effect<Array<Item>, SqlError.SqlError>
  /** The servable row of `id` as `Row.decode` takes it, or `undefined`. */
  readonly findRow: (principal: Principal, id: string) => Effect.Effect<unknown, SqlError.SqlError>
}

/** The portable paths over `sql`. */
export const make = (sql: SqlClient.SqlClient): PortableRows => {
  const writeChunk = (principal: Principal, chunk: ReadonlyArray<Item>, mode: Row.UpsertMode) =>
    Effect.gen(function*() {
      const written = yield* sql<{ id: string }>`INSERT INTO meetings ${sql.insert(chunk.map((i) => i.row))}
        ON CONFLICT (principal, id) ${sql.literal(Row.conflictClause[mode])} RETURNING id`
      const writtenIds = new Set(written.map((r) => r.id))
      const downgraded: Array<Item> = []
      // Skipped rows (pending, or tombstones): a pending FULL row meeting a METADATA copy is the caller's to replace.
      const metadata = chunk.filter((i) => !writtenIds.has(i.row.id as string) && i.row.access_level === "METADATA")
      if (metadata.length > 0) {
        const full = yield* sql<{ id: string }>`SELECT id FROM meetings WHERE principal = ${principal}
          AND access_level = 'FULL' AND ${sql.in("id", metadata.map((i) => i.row.id as string))}`
        const fullIds = new Set(full.map((r) => r.id))
        for (const i of metadata) if (fullIds.has(i.row.id as string)) downgraded.push(i)
      }
      const kept = chunk.filter((i) => writtenIds.has(i.row.id as string))
      if (kept.length > 0) {
        yield* sql`DELETE FROM meeting_attendees WHERE principal = ${principal}
          AND ${sql.in("meeting_id", kept.map((i) => i.row.id as string))}`
        const attendees = kept.flatMap((i) =>
          i.attendees.map((email) => ({ principal, meeting_id: i.row.id as string, email }))
        )
        yield* Effect.forEach(
          Arr.chunksOf(attendees, attendeesPerStatement),
          (rows) => sql`INSERT INTO meeting_attendees ${sql.insert(rows)} ON CONFLICT DO NOTHING`,
          { discard: true }
        )
      }
      return downgraded
    })

  return {
    // Rows in id order: instances writing overlapping batches lock them in one order (no deadlock).
    write: (principal, items, mode) =>
      Effect.map(
        Effect.forEach(
          Arr.chunksOf(Arr.sort(items, byId), rowsPerStatement),
          (chunk) => writeChunk(principal, chunk, mode)
        ),
        (chunks) => chunks.flat()
      ),
    findRow: (principal, id) =>
      Effect.map(
        sql`SELECT ${sql.literal(Row.storedColumns)} FROM meetings WHERE principal = ${principal} AND id = ${id} AND gone = 0`,
        (rows) => rows[0]
      )
  }
}

/** What each statement method of `noHandle` does if it is ever called. */
const noStatement = (): never => {
  throw new Error("no SQLite handle on this database")
}

/**
 * Stands in for the SQLite handle where there is none: `MeetingRows` takes the portable paths
 * there and never calls it.
 */
export const noHandle: SqliteHandleShape = {
  prepare: noStatement,
  prepareRaw: noStatement,
  prepareCommitted: noStatement,
  inTransaction: () => false,
  use: () => Effect.dieMessage("no SQLite handle on this database"),
  canRunNow: () => false
}
