/**
 * The owner of the `meetings` and `meeting_attendees` tables (and, through its triggers, the
 * full-text index). Every statement filters on `principal`; every primary key starts with it.
 *
 * Writes take one path per dialect: on SQLite, multi-row prepared upserts (128 rows a statement) on
 * the connection's handle inside a transaction of the `SqlClient` (the same connection), so a sync
 * batch costs one BEGIN/COMMIT; on PostgreSQL, `meetingRowsPg.ts`. The privacy rule lives in that
 * path only (the same conflict clause on both): a server copy never
 * overwrites a pending (locally written) row, except that a METADATA copy meeting a pending FULL row
 * replaces it redacted (its queued updates re-applied), so content the caller may no longer see does
 * not outlive the downgrade.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Redaction } from "@lightfield-effect/core"
import { Array as Arr, DateTime, Effect, Either, Layer, Metric, Option } from "effect"
import type { CacheError } from "../CacheError.js"
import * as CacheMetrics from "../CacheMetrics.js"
import type { Principal } from "../Principal.js"
import * as Dialect from "./dialect.js"
import * as HotSet from "./hotSet.js"
import * as Row from "./meetingRow.js"
import * as RowsById from "./rowsById.js"
import type { PageKey, StoredMeeting, UpsertOptions } from "./meetingRow.js"
import * as PortableRows from "./meetingRowsPg.js"
import { conditions, paging } from "./meetingQuery.js"
import { OutboxStore } from "./outboxStore.js"
import { applyUpdate, localIdPrefix } from "./provisional.js"
import { mapSql, transaction, withinTransaction } from "./sql.js"
import { SqliteHandle } from "./sqlite.js"
import { MeetingRows } from "./meetingRowsShape.js"
import type { MeetingRowsShape } from "./meetingRowsShape.js"

export type { MirrorStats, PageKey } from "./meetingRow.js"

export { MeetingRows } from "./meetingRowsShape.js"
export type { MeetingRowsShape } from "./meetingRowsShape.js"

const statements = {
  accessLevel: "SELECT access_level FROM meetings WHERE principal = ? AND id = ?",
  // A batch's attendees in one statement each: the ids, and the [id, email] pairs, as JSON arrays.
  deleteAttendees:
    "DELETE FROM meeting_attendees WHERE principal = ? AND meeting_id IN (SELECT value FROM json_each(?))",
  insertAttendees: `INSERT INTO meeting_attendees (principal, meeting_id, email)
    SELECT ?, value ->> 0, value ->> 1 FROM json_each(?) WHERE true ON CONFLICT DO NOTHING`
} as const

type Encoded = Row.EncodedMeeting

/** Damaged rows met by a list: a warning naming each, and the metric. */
const reportDamaged = (errors: ReadonlyArray<CacheError>) =>
  Effect.zipRight(
    Effect.forEach(errors, (e) => Effect.logWarning("skipped a damaged cached meeting", e.message), { discard: true }),
    Metric.incrementBy(CacheMetrics.damagedRows, errors.length)
  )

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const native = yield* Effect.serviceOption(SqliteHandle)
  const portable = Option.isNone(native) ? PortableRows.make(sql) : undefined
  const handle = Option.getOrElse(native, () => PortableRows.noHandle)
  const outbox = yield* OutboxStore
  const hot = HotSet.make(sql, yield* HotSet.HotCacheCapacity, yield* HotSet.changeNotices)

  /** Encode a batch, last one winning per id (a row may not appear twice in one batch). */
  const encodeAll = <A extends { readonly id: string }>(
    principal: Principal,
    meetings: Iterable<A>,
    options: UpsertOptions,
    encode: (principal: Principal, meeting: A, options: UpsertOptions) => Either.Either<Encoded, CacheError>
  ) => {
    const items = Arr.fromIterable(meetings)
    const seen = new Set<string>()
    const out: Array<Encoded> = []
    for (let i = items.length - 1; i >= 0; i--) {
      const meeting = items[i]!
      if (seen.has(meeting.id)) continue
      seen.add(meeting.id)
      const encoded = encode(principal, meeting, options)
      if (Either.isLeft(encoded)) return Either.left(encoded.left)
      out.push(encoded.right)
    }
    return Either.right(out)
  }

  /**
   * The upsert statements of one batch (inside a transaction); the pending FULL rows that met a
   * METADATA copy. A statement per power-of-two run of rows (at most `Row.maxRowsPerStatement`), so a
   * batch of any size takes a handful of statements, and at most a few texts per mode are prepared.
   */
  const write = (principal: Principal, items: ReadonlyArray<Encoded>, mode: Row.UpsertMode) =>
    handle.use(() => {
      const width = Row.columns.length
      const written = new Set<string>()
      for (let start = 0; start < items.length;) {
        let n = Row.maxRowsPerStatement
        while (n > items.length - start) n >>= 1
        const params: Array<unknown> = new Array(n * width)
        for (let i = 0; i < n; i++) {
          const row = items[start + i]!.row
          for (let c = 0; c < width; c++) params[i * width + c] = row[Row.columns[c]!]
        }
        const answered = handle.prepare(Row.upsertManySql(mode, n)).all(...params) as ReadonlyArray<{ readonly id: string }>
        for (const r of answered) written.add(r.id)
        start += n
      }
      const downgraded: Array<Encoded> = []
      const ids: Array<string> = []
      const attendees: Array<readonly [string, string]> = []
      for (const item of items) {
        const { attendees: emails, row } = item
        const id = row.id as string
        if (!written.has(id)) {
          // A pending row (the conflict clause skipped it): kept with its attendees, unless its FULL
          // content meets a METADATA copy.
          const stored = handle.prepare(statements.accessLevel).get(principal, id) as
            | { readonly access_level: string }
            | undefined
          if (stored?.access_level === "FULL" && row.access_level === "METADATA") downgraded.push(item)
          continue
        }
        ids.push(id)
        for (const email of emails) attendees.push([id, email])
      }
      if (ids.length > 0) handle.prepare(statements.deleteAttendees).run(principal, JSON.stringify(ids))
      if (attendees.length > 0) handle.prepare(statements.insertAttendees).run(principal, JSON.stringify(attendees))
      return downgraded
    })

  /** Upsert encoded meetings (see the header for the privacy rule). */
  const upsertEncoded = (principal: Principal, encoded: Either.Either<Array<Encoded>, CacheError>, options: UpsertOptions) =>
    Effect.suspend(() => {
      if (Either.isLeft(encoded)) return Effect.fail(encoded.left)
      const items = encoded.right
      if (items.length === 0) return Effect.succeed(0)
      return hot.around(principal, items.map((i) => i.row.id as string), withinTransaction(sql, "Cannot store meetings", Effect.gen(function*() {
        const downgraded = yield* writeBatch(principal, items, options.mode)
        const at = DateTime.unsafeMake(options.now)
        for (const item of downgraded) {
          const incoming = yield* Row.incomingMeeting(item.incoming)
          const queued = yield* outbox.queuedUpdates(principal, incoming.id)
          const meeting = queued.reduce((m, params) => applyUpdate(m, params, at), Redaction.redact(incoming))
          yield* writeBatch(principal, [yield* Row.encode(principal, meeting, { mode: "local", now: options.now })], "local")
        }
        return items.length
      })))
    })

  const upsert: MeetingRowsShape["upsert"] = (principal, meetings, options) =>
    Effect.suspend(() => upsertEncoded(principal, encodeAll(principal, meetings, options, Row.encode), options))

  const upsertWire: MeetingRowsShape["upsertWire"] = (principal, meetings, options) =>
    Effect.suspend(() => upsertEncoded(principal, encodeAll(principal, meetings, options, Row.encodeWire), options))

  const fromRow = (principal: Principal, row: unknown): Either.Either<StoredMeeting, CacheError> => {
    const r = row as Row.StoredRow
    const cached = hot.sameVersion(principal, r.id, r.fetched_at, r.pending === 1)
    return cached !== undefined && r.gone === 0 ? Either.right(cached) : Row.decode(row)
  }

  /** The rows of a list, decoded; a damaged row is skipped and reported, never failing the list. */
  const decodeRows = (principal: Principal, rows: ReadonlyArray<unknown>) =>
    Effect.suspend(() => {
      const out: Array<StoredMeeting> = []
      const damaged: Array<CacheError> = []
      for (const row of rows) {
        const stored = fromRow(principal, row)
        if (Either.isRight(stored)) out.push(stored.right)
        else damaged.push(stored.left)
      }
      return damaged.length === 0 ? Effect.succeed(out) : Effect.as(reportDamaged(damaged), out)
    })

  const gone = (principal: Principal, ids: ReadonlyArray<string>) =>
    Effect.forEach(Arr.chunksOf(ids, 500), (chunk) =>
      Effect.zipRight(
        sql`UPDATE meetings SET gone = 1, written_at = NULL, pending = 0, description = NULL, body = '{}'
          WHERE principal = ${principal} AND ${sql.in("id", chunk)}`,
        sql`DELETE FROM meeting_attendees WHERE principal = ${principal} AND ${sql.in("meeting_id", chunk)}`
      ), { discard: true })

  const deleted = (principal: Principal, ids: ReadonlyArray<string>) =>
    Effect.forEach(Arr.chunksOf(ids, 500), (chunk) =>
      Effect.zipRight(
        sql`UPDATE meetings SET deleted = 1, gone = 1, written_at = NULL, pending = 0, title = NULL, description = NULL,
          organizer = NULL, start_date = NULL, end_date = NULL, access_level = 'METADATA', body = '{}'
          WHERE principal = ${principal} AND ${sql.in("id", chunk)}`,
        sql`DELETE FROM meeting_attendees WHERE principal = ${principal} AND ${sql.in("meeting_id", chunk)}`
      ), { discard: true })

  const keyed = `${Row.storedColumns}, created_at`

  // Without the SQLite handle, batches and reads by id take the portable paths (`meetingRowsPg.ts`).
  const writeBatch = portable === undefined ? write : portable.write

  const rows = MeetingRows.of({
    upsert,
    upsertWire,
    ...RowsById.make(hot, handle, portable),
    query: (principal, q = {}) =>
      Effect.gen(function*() {
        const { limit, offset } = yield* paging(q)
        const where = yield* conditions(sql, principal, q)
        const order = sql.literal(q.order === "asc" ? "ASC" : "DESC")
        const rows = yield* sql`SELECT ${sql.literal(Row.storedColumns.replace(/(\w+)/g, "m.$1"))}
          FROM meetings m WHERE ${sql.and(where)}
          ORDER BY m.start_date ${order}, m.id ${order} LIMIT ${limit} OFFSET ${offset}`.pipe(mapSql("Cannot query meetings"))
        return yield* decodeRows(principal, rows)
      }).pipe(Effect.withSpan("MeetingRows.query")),
    count: (principal, q = {}) =>
      Effect.gen(function*() {
        const where = yield* conditions(sql, principal, q)
        const rows = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM meetings m WHERE ${sql.and(where)}`.pipe(
          mapSql("Cannot count meetings")
        )
        return Number(rows[0]?.n ?? 0)
      }).pipe(Effect.withSpan("MeetingRows.count")),
    page: (principal, limit, offset) =>
      sql`SELECT ${sql.literal(Row.storedColumns)} FROM meetings WHERE principal = ${principal} AND gone = 0
        ORDER BY created_at DESC, id ASC LIMIT ${limit} OFFSET ${offset}`.pipe(
        mapSql("Cannot list meetings"),
        Effect.flatMap((rows) => decodeRows(principal, rows)),
        Effect.withSpan("MeetingRows.page")
      ),
    pageAfter: (principal, after, limit) =>
      (after === null
        ? sql<{ id: string; created_at: number }>`SELECT ${sql.literal(keyed)} FROM meetings
            WHERE principal = ${principal} AND gone = 0 ORDER BY created_at DESC, id ASC LIMIT ${limit}`
        : sql<{ id: string; created_at: number }>`SELECT ${sql.literal(keyed)} FROM meetings
            WHERE principal = ${principal} AND gone = 0
            AND (created_at < ${after.createdAt} OR (created_at = ${after.createdAt} AND id > ${after.id}))
            ORDER BY created_at DESC, id ASC LIMIT ${limit}`).pipe(
        mapSql("Cannot list meetings"),
        Effect.flatMap((rows) => {
          // The next key comes from the rows themselves, so a skipped damaged row never ends the stream.
          const last = rows[rows.length - 1]
          const next = rows.length < limit || last === undefined
            ? Option.none<PageKey>()
            : Option.some({ createdAt: Number(last.created_at), id: last.id })
          return Effect.map(decodeRows(principal, rows), (meetings) => ({ meetings, next }))
        }),
        Effect.withSpan("MeetingRows.pageAfter")
      ),
    clearPending: (principal, id) =>
      hot.around(
        principal,
        [id],
        withinTransaction(sql, `Cannot update meeting ${id}`, sql`UPDATE meetings SET pending = 0
          WHERE principal = ${principal} AND id = ${id}`).pipe(Effect.asVoid)
      ),
    markGone: (principal, ids) =>
      ids.length === 0
        ? Effect.void
        : hot.around(principal, ids, withinTransaction(sql, "Cannot mark meetings gone", gone(principal, ids))),
    markDeleted: (principal, ids) =>
      ids.length === 0 ? Effect.void : Effect.suspend(() => {
        // A tombstone for an id never cached: a row of its own, so a later sync cannot insert it.
        const insert = Effect.forEach(ids, (id) =>
          sql`INSERT INTO meetings (principal, id, access_level, created_at, fetched_at, pending, gone, deleted, body)
            VALUES (${principal}, ${id}, 'METADATA', 0, 0, 0, 1, 1, '{}') ON CONFLICT (principal, id) DO NOTHING`, { discard: true })
        return hot.around(
          principal,
          ids,
          withinTransaction(sql, "Cannot mark meetings deleted", Effect.zipRight(insert, deleted(principal, ids)))
        )
      }),
    undelete: (principal, id) =>
      hot.around(
        principal,
        [id],
        withinTransaction(sql, `Cannot restore meeting ${id}`, sql`UPDATE meetings SET deleted = 0, fetched_at = 0
          WHERE principal = ${principal} AND id = ${id}`).pipe(Effect.asVoid)
      ),
    isDeleted: (principal, id) =>
      sql<{ n: number }>`SELECT COUNT(*) AS n FROM meetings WHERE principal = ${principal} AND id = ${id} AND deleted = 1`.pipe(
        Effect.map((rows) => Number(rows[0]?.n ?? 0) > 0),
        mapSql(`Cannot read meeting ${id}`)
      ),
    remove: (principal, id) =>
      hot.around(
        principal,
        [id],
        withinTransaction(sql, `Cannot remove meeting ${id}`, Effect.all([
          sql`DELETE FROM meeting_attendees WHERE principal = ${principal} AND meeting_id = ${id}`,
          sql`DELETE FROM meetings WHERE principal = ${principal} AND id = ${id}`
        ], { discard: true }))
      ),
    writtenNotSeen: (principal, scanId) =>
      sql<{ id: string }>`SELECT id FROM meetings WHERE principal = ${principal} AND gone = 0
        AND pending = 0 AND written_at IS NOT NULL AND (seen_scan IS NULL OR seen_scan <> ${scanId})`.pipe(
        Effect.map((rows) => rows.map((r) => r.id)),
        mapSql("Cannot read locally written meetings")
      ),
    markVanished: (principal, scanId) =>
      Effect.gen(function*() {
        const unseen = yield* sql<{ id: string }>`SELECT id FROM meetings WHERE principal = ${principal} AND gone = 0
          AND pending = 0 AND written_at IS NULL AND (seen_scan IS NULL OR seen_scan <> ${scanId})`
        const ids = unseen.map((r) => r.id)
        hot.invalidate(principal, ids)
        yield* gone(principal, ids)
        return ids
      }).pipe(mapSql("Cannot mark vanished meetings gone")),
    clear: (principal) =>
      Effect.suspend(() => {
        hot.invalidateAll()
        // The FTS delete trigger removes their terms from the full-text index. Tombstones stay: a
        // deleted meeting must not come back with the next sync.
        return Effect.all([
          sql`DELETE FROM meeting_attendees WHERE principal = ${principal} AND meeting_id IN
            (SELECT id FROM meetings WHERE principal = ${principal} AND pending = 0)`,
          sql`DELETE FROM meetings WHERE principal = ${principal} AND pending = 0 AND deleted = 0`
        ], { discard: true }).pipe(mapSql("Cannot clear the mirror"))
      }),
    stats: (principal) =>
      sql<{ meetings: number; full: number; metadata: number; pending: number; gone: number }>`SELECT
          COALESCE(SUM(CASE WHEN gone = 0 THEN 1 ELSE 0 END), 0) AS meetings,
          COALESCE(SUM(CASE WHEN gone = 0 AND access_level = 'FULL' THEN 1 ELSE 0 END), 0) AS full,
          COALESCE(SUM(CASE WHEN gone = 0 AND access_level = 'METADATA' THEN 1 ELSE 0 END), 0) AS metadata,
          COALESCE(SUM(CASE WHEN gone = 0 AND pending = 1 THEN 1 ELSE 0 END), 0) AS pending,
          COALESCE(SUM(CASE WHEN gone = 1 THEN 1 ELSE 0 END), 0) AS gone
        FROM meetings WHERE principal = ${principal}`.pipe(
        Effect.map(([row]) => ({
          meetings: Number(row?.meetings ?? 0),
          full: Number(row?.full ?? 0),
          metadata: Number(row?.metadata ?? 0),
          pending: Number(row?.pending ?? 0),
          gone: Number(row?.gone ?? 0)
        })),
        mapSql("Cannot read cache statistics")
      ),
    adoptProvisional: (from, to) =>
      Effect.gen(function*() {
        hot.invalidateAll()
        const local = `${localIdPrefix}%`
        yield* sql`UPDATE meeting_attendees SET principal = ${to} WHERE principal = ${from} AND meeting_id LIKE ${local}
          AND meeting_id IN (SELECT id FROM meetings WHERE principal = ${from} AND pending = 1)`
        yield* sql`UPDATE meetings SET principal = ${to} WHERE principal = ${from} AND pending = 1 AND id LIKE ${local}`
        // Queued updates of real meetings moved away: `from`'s copies show unconfirmed edits, so refetch them.
        yield* sql`UPDATE meetings SET pending = 0, fetched_at = 0 WHERE principal = ${from} AND pending = 1`
      }).pipe(mapSql("Cannot move provisional meetings")),
    rebuildFullText: transaction(sql, "Cannot rebuild the full-text index", Dialect.rebuildFullTextIndex(sql)),
    optimize: Dialect.optimize(sql).pipe(mapSql("Cannot refresh planner statistics"))
  })
  return rows
})

/** The meetings rows owner over the connection (`SqlClient`, and `SqliteHandle` when there is one) and the outbox. */
export const layer: Layer.Layer<MeetingRows, never, SqlClient.SqlClient | OutboxStore> = Layer.effect(
  MeetingRows,
  make
)
