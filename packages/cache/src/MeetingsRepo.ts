/**
 * The SQL of the mirror: meetings (full wire JSON + extracted, indexed columns), their attendees,
 * and the per-principal sync state. Every statement filters on `principal`; every primary key starts
 * with it. Batches are multi-row statements inside one transaction.
 *
 * Portable SQL only; the full-text condition comes from `Dialect.ts`. On a SQLite file, reads by id
 * and sync batches run the same (single-row) statements on `Dialect.NativeSqlite` instead.
 */
import { SqlClient } from "@effect/sql"
import type { Statement } from "@effect/sql"
import { MeetingCodec, MeetingParams, Redaction } from "@lightfield-effect/core"
import type { Meeting } from "@lightfield-effect/core"
import { Array as Arr, Clock, Context, DateTime, Effect, Either, Metric, Option, Schema } from "effect"
import { CacheError, fromCause, mapSql } from "./CacheError.js"
import * as CacheMetrics from "./CacheMetrics.js"
import * as Dialect from "./Dialect.js"
import { applyUpdate } from "./internal/provisional.js"
import * as Check from "./internal/options.js"
import * as Sql from "./internal/sql.js"
import { retryBusy } from "./internal/sql.js"
import type { Principal } from "./Principal.js"

type MeetingT = Meeting.Meeting

/** A meeting as stored, with the bookkeeping the read policies need. */
export interface StoredMeeting {
  readonly meeting: MeetingT
  /** Epoch millis of the last network fetch (or local write). */
  readonly fetchedAt: number
  /** Written locally, not confirmed by the server yet (an outbox entry is waiting). */
  readonly pending: boolean
  /** Vanished from the caller's view (always false from `findById`, which skips tombstones). */
  readonly gone: boolean
  /** Epoch millis of the last write through this cache that the list index has not shown yet. */
  readonly writtenAt: number | null
}

/**
 * How an upsert treats what is already stored.
 * - `scan`: a list page; clears the read-your-writes marker, records the scan id; never touches
 *   pending (locally written, unconfirmed) rows.
 * - `fetch`: a retrieve by id; keeps the marker; never touches pending rows.
 * - `write`: the server's answer to a create/update (or an outbox replay): always wins, sets the marker.
 * - `local`: a provisional (offline) version: always wins, `pending = 1`.
 */
export type UpsertMode = "scan" | "fetch" | "write" | "local"

export interface UpsertOptions {
  readonly mode: UpsertMode
  /** Epoch millis used for `fetched_at` (and `written_at` for writes). */
  readonly now: number
  readonly scanId?: string
}

/** Local query over the mirror. Dates filter on the meeting's start date. */
export interface MeetingQuery {
  /** Start date at or after this instant. */
  readonly from?: DateTime.DateTime | Date | string
  /** Start date strictly before this instant. */
  readonly to?: DateTime.DateTime | Date | string
  /** Organizer e-mail (case-insensitive). */
  readonly organizer?: string
  /** An attendee e-mail (case-insensitive). */
  readonly attendee?: string
  readonly accessLevel?: Meeting.AccessLevel
  /** Full-text search on title and description (every word, prefix match). */
  readonly text?: string
  /** Include locally written, unconfirmed meetings (default true). */
  readonly includePending?: boolean
  /** Order by start date; default `"desc"` (newest first). */
  readonly order?: "asc" | "desc"
  /** Default 100. */
  readonly limit?: number
  /** Default 0. */
  readonly offset?: number
}

export interface SyncState {
  readonly scanId: string
  readonly startedAt: number
  readonly finishedAt: number | null
  readonly lastCompleteAt: number | null
  readonly pages: number
  readonly items: number
  /** How many scans were interrupted before finishing (since the last complete one). */
  readonly interrupted: number
}

/** Cache reads answered from SQLite (hits, of which stale) and not (misses). */
export interface ReadCounts {
  readonly hits: number
  readonly misses: number
  readonly stale: number
}

export interface MirrorStats {
  readonly meetings: number
  readonly full: number
  readonly metadata: number
  readonly pending: number
  readonly gone: number
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/**
 * The redacted copy of a METADATA meeting (core's one rule): the stored row can never hold content
 * the caller's access does not cover, whatever the server sent. FULL meetings are returned unchanged.
 */
export const redact = (meeting: MeetingT): MeetingT => Redaction.redact(meeting)

/** The stored body: the wire JSON (core's codec; equal to `Schema.encode(Meeting)`). */
const encodeBody = MeetingCodec.encodeMeetingJson

const decodeUpdateParams = Schema.decodeUnknownOption(MeetingParams.UpdateMeetingParams)

const parseJsonOrNull = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

const millisOf = (dt: Option.Option<DateTime.Utc>): number | null =>
  Option.isSome(dt) ? DateTime.toEpochMillis(dt.value) : null

type MeetingRowInsert = {
  readonly principal: string
  readonly id: string
  readonly title: string | null
  readonly description: string | null
  readonly start_date: number | null
  readonly end_date: number | null
  readonly organizer: string | null
  readonly access_level: string
  readonly created_at: number
  readonly updated_at: number | null
  readonly fetched_at: number
  readonly written_at: number | null
  readonly pending: number
  readonly gone: number
  readonly seen_scan: string | null
  readonly body: string
}

type AttendeeRowInsert = {
  readonly principal: string
  readonly meeting_id: string
  readonly email: string
}

const toRows = (
  principal: Principal,
  input: MeetingT,
  options: UpsertOptions
): Either.Either<{ readonly row: MeetingRowInsert; readonly attendees: ReadonlyArray<AttendeeRowInsert> }, CacheError> => {
  const meeting = redact(input)
  let body: string
  try {
    body = encodeBody(meeting)
  } catch (cause) {
    return Either.left(new CacheError({ reason: "Encode", message: `Cannot encode meeting ${meeting.id}`, cause }))
  }
  return Either.right(
    (() => {
      const description = meeting.accessLevel === "FULL" ? Option.getOrNull(meeting.description) : null
      const attendees = Arr.dedupe(
        Option.getOrElse(meeting.attendeeEmails, (): ReadonlyArray<string> => []).map((e) => e.trim().toLowerCase())
      ).map((email) => ({ principal, meeting_id: meeting.id, email }))
      return {
        row: {
          principal,
          id: meeting.id,
          title: Option.getOrNull(meeting.title),
          description,
          start_date: millisOf(meeting.startDate),
          end_date: millisOf(meeting.endDate),
          organizer: Option.getOrNull(Option.map(meeting.organizerEmail, (e) => e.trim().toLowerCase())),
          access_level: meeting.accessLevel,
          created_at: DateTime.toEpochMillis(meeting.createdAt),
          updated_at: meeting.updatedAt === null ? null : DateTime.toEpochMillis(meeting.updatedAt),
          fetched_at: options.now,
          written_at: options.mode === "write" || options.mode === "local" ? options.now : null,
          pending: options.mode === "local" ? 1 : 0,
          gone: 0,
          seen_scan: options.scanId ?? null,
          body
        },
        attendees
      }
    })()
  )
}

/**
 * Decode a stored body with core's codec, never looser than the Schema (its fast path checks every
 * field and relationship). A body that does not decode is a `CacheError{reason:"Decode"}` for
 * that row, never a defect.
 */
export const decodeBody = (id: string, body: string): Either.Either<MeetingT, CacheError> =>
  Either.mapLeft(MeetingCodec.decodeMeetingJson(body), (cause) =>
    new CacheError({ reason: "Decode", message: `Stored meeting ${id} cannot be decoded: ${cause.message}`, cause }))

interface StoredRow {
  readonly id: string
  readonly body: string
  readonly fetched_at: number
  readonly pending: number
  readonly gone: number
  readonly written_at: number | null
}

interface KeyedRow extends StoredRow {
  readonly created_at: number
}

/** Damaged rows met by a list: a warning naming each, and the metric. */
const reportDamaged = (errors: ReadonlyArray<CacheError>) =>
  Effect.zipRight(
    Effect.forEach(errors, (e) => Effect.logWarning("skipped a damaged cached meeting", e.message), { discard: true }),
    Metric.incrementBy(CacheMetrics.damagedRows, errors.length)
  )

const toStored = (row: StoredRow): Either.Either<StoredMeeting, CacheError> =>
  Either.map(decodeBody(row.id, row.body), (meeting) => ({
    meeting,
    fetchedAt: Number(row.fetched_at),
    pending: row.pending === 1,
    gone: row.gone === 1,
    writtenAt: row.written_at === null ? null : Number(row.written_at)
  }))

/** A query bound as epoch millis; an unparseable one is a `CacheError{reason:"InvalidQuery"}` naming the field. */
const toMillis = (
  field: "from" | "to",
  input: DateTime.DateTime | Date | string | undefined
): Either.Either<number | undefined, CacheError> => {
  if (input === undefined) return Either.right(undefined)
  if (DateTime.isDateTime(input)) return Either.right(DateTime.toEpochMillis(input))
  return Option.match(DateTime.make(input), {
    onNone: () =>
      Either.left(
        new CacheError({
          reason: "InvalidQuery",
          message: `MeetingQuery.${field} is not a valid date: ${
            typeof input === "string" ? JSON.stringify(input) : String(input)
          }`
        })
      ),
    onSome: (dt) => Either.right(DateTime.toEpochMillis(dt))
  })
}

/** Most characters a full-text query may have. */
export const maxSearchLength = 1000
/** Most words a full-text query may have (each is a prefix term; the cost grows faster than their count). */
export const maxSearchTerms = 32

/** The FTS query for `text`, or why it is refused (before SQLite sees it). */
const searchQuery = (text: string): Either.Either<string | undefined, CacheError> => {
  const refuse = (why: string) =>
    Either.left(new CacheError({ reason: "InvalidQuery", message: `MeetingQuery.text ${why}` }))
  if (text.length > maxSearchLength) return refuse(`is longer than ${maxSearchLength} characters (${text.length})`)
  const words = Dialect.searchWords(text).length
  if (words > maxSearchTerms) return refuse(`has more than ${maxSearchTerms} words (${words})`)
  return Either.right(Dialect.ftsQuery(text))
}

/** Rows per multi-row statement (16 columns → 3,200 parameters, well under SQLite's 32,766). */
const meetingRowsPerStatement = 200
const attendeeRowsPerStatement = 1000

const conflictClause: Record<UpsertMode, string> = {
  scan: `ON CONFLICT (principal, id) DO UPDATE SET title = excluded.title, description = excluded.description,
    start_date = excluded.start_date, end_date = excluded.end_date, organizer = excluded.organizer,
    access_level = excluded.access_level, created_at = excluded.created_at, updated_at = excluded.updated_at,
    fetched_at = excluded.fetched_at, written_at = NULL, pending = 0, gone = 0, seen_scan = excluded.seen_scan,
    body = excluded.body WHERE meetings.pending = 0`,
  fetch: `ON CONFLICT (principal, id) DO UPDATE SET title = excluded.title, description = excluded.description,
    start_date = excluded.start_date, end_date = excluded.end_date, organizer = excluded.organizer,
    access_level = excluded.access_level, created_at = excluded.created_at, updated_at = excluded.updated_at,
    fetched_at = excluded.fetched_at, pending = 0, gone = 0, seen_scan = COALESCE(excluded.seen_scan, meetings.seen_scan),
    body = excluded.body WHERE meetings.pending = 0`,
  write: `ON CONFLICT (principal, id) DO UPDATE SET title = excluded.title, description = excluded.description,
    start_date = excluded.start_date, end_date = excluded.end_date, organizer = excluded.organizer,
    access_level = excluded.access_level, created_at = excluded.created_at, updated_at = excluded.updated_at,
    fetched_at = excluded.fetched_at, written_at = excluded.written_at, pending = 0, gone = 0, body = excluded.body`,
  local: `ON CONFLICT (principal, id) DO UPDATE SET title = excluded.title, description = excluded.description,
    start_date = excluded.start_date, end_date = excluded.end_date, organizer = excluded.organizer,
    access_level = excluded.access_level, created_at = excluded.created_at, updated_at = excluded.updated_at,
    fetched_at = excluded.fetched_at, written_at = excluded.written_at, pending = 1, gone = 0, body = excluded.body`
}

/** Columns of a meeting row, in the order the native statements bind them. */
const meetingColumns = [
  "principal", "id", "title", "description", "start_date", "end_date", "organizer", "access_level", "created_at",
  "updated_at", "fetched_at", "written_at", "pending", "gone", "seen_scan", "body"
] as const satisfies ReadonlyArray<keyof MeetingRowInsert>

/** Single-row statements of the native path (`Dialect.NativeSqlite`, `?` placeholders). */
const nativeSql = {
  upsertScan: `INSERT INTO meetings (${meetingColumns.join(", ")}) VALUES (${meetingColumns.map(() => "?").join(", ")})
    ${conflictClause.scan}`,
  accessLevel: "SELECT access_level FROM meetings WHERE principal = ? AND id = ?",
  deleteAttendees: "DELETE FROM meeting_attendees WHERE principal = ? AND meeting_id = ?",
  insertAttendee: "INSERT INTO meeting_attendees (principal, meeting_id, email) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
  progress: "UPDATE sync_state SET pages = ?, items = ? WHERE principal = ? AND scan_id = ?",
  progressLease: "UPDATE sync_state SET pages = ?, items = ?, lease_until = ? WHERE principal = ? AND scan_id = ?",
  findById: `SELECT id, body, fetched_at, pending, gone, written_at FROM meetings
    WHERE principal = ? AND id = ? AND gone = 0`
} as const

/** How many decoded meetings the repo keeps in memory for hot reads (default 5,000; 0 disables). */
export class HotCacheCapacity extends Context.Reference<HotCacheCapacity>()(
  "@lightfield-effect/cache/MeetingsRepo/HotCacheCapacity",
  { defaultValue: () => 5000 }
) {}

/** Commits by other connections are noticed within this many milliseconds. */
const hotRecheckMillis = 100

/** The native scan batch met a pending FULL row downgraded to METADATA: redo it on the portable path. */
class NeedsRedaction {
  readonly _tag = "NeedsRedaction"
}

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // SQLite file databases only (see `Dialect.NativeSqlite`); everything else takes the portable path.
  const native = Option.getOrUndefined(yield* Effect.serviceOption(Dialect.NativeSqliteConnection))

  /** One write transaction, retried on lock contention, failures as `CacheError`. */
  const transaction = <A, E, R>(message: string, self: Effect.Effect<A, E, R>) => Sql.transaction(sql, message, self)

  /**
   * A pending row whose meeting the server now serves as METADATA while the row holds FULL content:
   * replace it with the redacted incoming copy, with the queued updates re-applied (it stays pending),
   * so content the caller may no longer see does not outlive the downgrade.
   */
  const redactPending = (principal: Principal, incoming: MeetingT, now: number) =>
    Effect.gen(function*() {
      const queued = yield* sql<{ params: string }>`SELECT params FROM outbox WHERE principal = ${principal}
        AND target_id = ${incoming.id} AND op = 'update' AND status = 'pending' ORDER BY seq`
      const at = DateTime.unsafeMake(now)
      let meeting = redact(incoming)
      for (const row of queued) {
        const params = decodeUpdateParams(parseJsonOrNull(row.params))
        if (Option.isSome(params)) meeting = applyUpdate(meeting, params.value, at)
      }
      const encoded = toRows(principal, meeting, { mode: "local", now })
      if (Either.isLeft(encoded)) return yield* encoded.left
      yield* sql`INSERT INTO meetings ${sql.insert(encoded.right.row)} ${sql.literal(conflictClause.local)}`
      yield* sql`DELETE FROM meeting_attendees WHERE principal = ${principal} AND meeting_id = ${incoming.id}`
      if (encoded.right.attendees.length > 0) {
        yield* sql`INSERT INTO meeting_attendees ${sql.insert(encoded.right.attendees)} ON CONFLICT DO NOTHING`
      }
    })

  const upsertRows = (
    principal: Principal,
    rows: ReadonlyArray<MeetingRowInsert>,
    attendees: ReadonlyArray<AttendeeRowInsert>,
    mode: UpsertMode,
    incoming: ReadonlyMap<string, MeetingT>
  ) =>
    Effect.gen(function*() {
      invalidate(principal, rows.map((r) => r.id))
      let skip: ReadonlySet<string> = new Set()
      const downgraded: Array<MeetingT> = []
      if (mode === "scan" || mode === "fetch") {
        // Pending rows are not overwritten by the server's (older) view, so keep their attendees too.
        const pending = (yield* Effect.forEach(
          Arr.chunksOf(rows.map((r) => r.id), 500),
          (ids) =>
            sql<{ id: string; access_level: string }>`SELECT id, access_level FROM meetings
              WHERE principal = ${principal} AND pending = 1 AND ${sql.in("id", ids)}`
        )).flat()
        skip = new Set(pending.map((r) => r.id))
        // ... except that a METADATA copy never leaves FULL content behind in a pending row.
        for (const row of pending) {
          const meeting = incoming.get(row.id)
          if (row.access_level === "FULL" && meeting !== undefined && meeting.accessLevel === "METADATA") {
            downgraded.push(meeting)
          }
        }
      }
      for (const chunk of Arr.chunksOf(rows, meetingRowsPerStatement)) {
        yield* sql`INSERT INTO meetings ${sql.insert(chunk)} ${sql.literal(conflictClause[mode])}`
      }
      const ids = skip.size === 0 ? rows.map((r) => r.id) : rows.map((r) => r.id).filter((id) => !skip.has(id))
      for (const chunk of Arr.chunksOf(ids, 500)) {
        yield* sql`DELETE FROM meeting_attendees WHERE principal = ${principal} AND ${sql.in("meeting_id", chunk)}`
      }
      const keep = skip.size === 0 ? attendees : attendees.filter((a) => !skip.has(a.meeting_id))
      for (const chunk of Arr.chunksOf(keep, attendeeRowsPerStatement)) {
        yield* sql`INSERT INTO meeting_attendees ${sql.insert(chunk)} ON CONFLICT DO NOTHING`
      }
      const now = rows[0]?.fetched_at ?? 0
      for (const meeting of downgraded) yield* redactPending(principal, meeting, now)
    })

  /** The id of the scan running now (started, not finished), if any. */
  const runningScan = (principal: Principal) =>
    sql<{ scan_id: string }>`SELECT scan_id FROM sync_state WHERE principal = ${principal} AND finished_at IS NULL`.pipe(
      Effect.map((rows) => rows[0]?.scan_id ?? null),
      mapSql("Cannot read sync state")
    )

  /**
   * Upsert a batch of meetings in one transaction. A meeting fetched by id while a scan is running
   * counts as seen by that scan (it exists), so the scan's end does not mark it gone.
   */
  const upsert = Effect.fn("MeetingsRepo.upsert")(function*(
    principal: Principal,
    meetings: Iterable<MeetingT>,
    options: UpsertOptions
  ) {
    const rows: Array<MeetingRowInsert> = []
    const attendees: Array<AttendeeRowInsert> = []
    const seen = new Set<string>()
    // Last one wins inside a batch (a row may not appear twice in one multi-row upsert).
    const items = Arr.reverse(Arr.fromIterable(meetings))
    const incoming = new Map<string, MeetingT>()
    for (const meeting of items) {
      if (seen.has(meeting.id)) continue
      seen.add(meeting.id)
      incoming.set(meeting.id, meeting)
      const encoded = toRows(principal, meeting, options)
      if (Either.isLeft(encoded)) return yield* encoded.left
      rows.push(encoded.right.row)
      for (const a of encoded.right.attendees) attendees.push(a)
    }
    if (rows.length === 0) return 0
    yield* transaction(
      "Cannot store meetings",
      Effect.gen(function*() {
        if (options.mode === "fetch" && options.scanId === undefined) {
          const running = yield* runningScan(principal)
          if (running !== null) {
            for (let i = 0; i < rows.length; i++) rows[i] = { ...rows[i]!, seen_scan: running }
          }
        }
        yield* upsertRows(principal, rows, attendees, options.mode, incoming)
      })
    )
    return rows.length
  })

  // Hot set: decoded rows by (principal, id), LRU, bounded. Writes through this repo (every
  // in-process writer on this connection) invalidate their keys; commits by OTHER connections are
  // detected through `PRAGMA data_version`, checked at most every `hotRecheckMillis`.
  const hotCapacity = yield* HotCacheCapacity
  const hot = new Map<string, StoredMeeting>()
  const readOnce = new Set<string>()
  let generation = 0
  let lastCheck = -Infinity
  let dataVersion: number | null = null
  const hotKey = (principal: Principal, id: string) => `${principal}\u0000${id}`
  const invalidate = (principal: Principal, ids: Iterable<string>) => {
    generation++
    if (hot.size === 0) return
    for (const id of ids) hot.delete(hotKey(principal, id))
  }
  const invalidateAll = () => {
    generation++
    hot.clear()
  }
  const checkExternalWrites = Effect.flatMap(Clock.currentTimeMillis, (now) => {
    if (hotCapacity <= 0 || now - lastCheck < hotRecheckMillis) return Effect.void
    lastCheck = now
    return Dialect.dataVersion(sql).pipe(
      Effect.map((version) => {
        if (version !== dataVersion) {
          dataVersion = version
          invalidateAll()
        }
      }),
      Effect.catchAll(() => Effect.sync(invalidateAll))
    )
  })

  /** Decode a row read by id and remember it, unless a write happened since `before`. */
  const remember = (
    principal: Principal,
    id: string,
    row: StoredRow | undefined,
    before: number
  ): Either.Either<Option.Option<StoredMeeting>, CacheError> => {
    if (row === undefined) return Either.right(Option.none())
    const stored = toStored(row)
    if (Either.isLeft(stored)) return Either.left(stored.left)
    if (hotCapacity > 0 && before === generation) {
      // Admitted on its second read only: under a spread-out (uniform) load most rows are read once,
      // and keeping each of them would push thousands of decoded meetings through the old generation
      // for nothing (measured: +5 µs per read in GC). `readOnce` is a cheap doorkeeper (keys only),
      // cleared when it reaches the hot set's capacity.
      const key = hotKey(principal, id)
      if (!readOnce.delete(key)) {
        if (readOnce.size >= hotCapacity) readOnce.clear()
        readOnce.add(key)
        return Either.right(Option.some(stored.right))
      }
      if (hot.size >= hotCapacity) {
        const oldest = hot.keys().next()
        if (oldest.done !== true) hot.delete(oldest.value)
      }
      hot.set(key, stored.right)
    }
    return Either.right(Option.some(stored.right))
  }

  const loadByIdPortable = (principal: Principal, id: string) =>
    Effect.gen(function*() {
      const before = generation
      const rows = yield* sql<StoredRow>`SELECT id, body, fetched_at, pending, gone, written_at FROM meetings
        WHERE principal = ${principal} AND id = ${id} AND gone = 0`.pipe(mapSql(`Cannot read meeting ${id}`))
      return yield* remember(principal, id, rows[0], before)
    }).pipe(Effect.withSpan("MeetingsRepo.findById"))

  /**
   * A read by id on the native connection: one prepared `get`, no span, no fiber hop (this is the
   * hot-set miss of a cached `get`, ~10x cheaper than through `@effect/sql`). Inside a transaction of
   * the main connection the portable path is taken instead, so the transaction reads its own
   * uncommitted writes; elsewhere WAL gives the native connection the latest committed state, which
   * is what any read through the main connection would see too.
   */
  const loadById = native === undefined ? loadByIdPortable : (principal: Principal, id: string) =>
    Effect.contextWithEffect((context: Context.Context<never>) => {
      if (Option.isSome(Context.getOption(context, SqlClient.TransactionConnection))) {
        return loadByIdPortable(principal, id)
      }
      const before = generation
      let row: StoredRow | undefined
      try {
        row = native.prepare(nativeSql.findById).get(principal, id) as StoredRow | undefined
      } catch (cause) {
        return Effect.fail(fromCause(cause, "Query", `Cannot read meeting ${id}`))
      }
      return remember(principal, id, row, before)
    })

  /** Decode a row, reusing the hot copy when it is the same version (same `fetched_at` and flags). */
  const fromRow = (principal: Principal, row: StoredRow): Either.Either<StoredMeeting, CacheError> => {
    const cached = hot.get(hotKey(principal, row.id))
    if (
      cached !== undefined && cached.fetchedAt === Number(row.fetched_at) && cached.pending === (row.pending === 1) &&
      !cached.gone && row.gone === 0
    ) {
      return Either.right(cached)
    }
    return toStored(row)
  }

  /**
   * The rows of a list, decoded; a damaged row is skipped and reported (a warning naming it and
   * `CacheMetrics.damagedRows`), so one bad row never fails a whole list.
   */
  const decodeRows = (principal: Principal, rows: ReadonlyArray<StoredRow>) =>
    Effect.suspend(() => {
      const out: Array<StoredMeeting> = []
      const damaged: Array<CacheError> = []
      for (const row of rows) {
        const stored = fromRow(principal, row)
        if (Either.isRight(stored)) out.push(stored.right)
        else damaged.push(stored.left)
      }
      if (damaged.length === 0) return Effect.succeed(out)
      return Effect.as(reportDamaged(damaged), out)
    })

  /** One servable row by id (gone rows are tombstones: `None`). Hot rows are answered from memory. */
  const findById = (principal: Principal, id: string): Effect.Effect<Option.Option<StoredMeeting>, CacheError> =>
    Effect.flatMap(checkExternalWrites, () => {
      const key = hotKey(principal, id)
      const cached = hot.get(key)
      if (cached === undefined) return loadById(principal, id)
      hot.delete(key)
      hot.set(key, cached)
      return Effect.succeed(Option.some(cached))
    })

  const conditions = (principal: Principal, q: MeetingQuery): Either.Either<Array<Statement.Fragment>, CacheError> => {
    const from = toMillis("from", q.from)
    if (Either.isLeft(from)) return Either.left(from.left)
    const to = toMillis("to", q.to)
    if (Either.isLeft(to)) return Either.left(to.left)
    const where: Array<Statement.Fragment> = [sql`m.principal = ${principal}`, sql`m.gone = 0`]
    if (q.includePending === false) where.push(sql`m.pending = 0`)
    if (from.right !== undefined) where.push(sql`m.start_date >= ${from.right}`)
    if (to.right !== undefined) where.push(sql`m.start_date < ${to.right}`)
    if (q.organizer !== undefined) where.push(sql`m.organizer = ${q.organizer.trim().toLowerCase()}`)
    if (q.accessLevel !== undefined) where.push(sql`m.access_level = ${q.accessLevel}`)
    if (q.attendee !== undefined) {
      where.push(
        sql`m.id IN (SELECT a.meeting_id FROM meeting_attendees a WHERE a.principal = ${principal} AND a.email = ${q.attendee.trim().toLowerCase()})`
      )
    }
    if (q.text !== undefined) {
      const match = searchQuery(q.text)
      if (Either.isLeft(match)) return Either.left(match.left)
      // Text without a single word matches nothing.
      where.push(match.right === undefined ? sql`1 = 0` : Dialect.fullTextCondition(sql, match.right))
    }
    return Either.right(where)
  }

  const query = Effect.fn("MeetingsRepo.query")(function*(principal: Principal, q: MeetingQuery = {}) {
    const invalid = (message: string) => new CacheError({ reason: "InvalidQuery", message: `MeetingQuery.${message}` })
    const limit = yield* Either.mapLeft(Check.integer("limit", q.limit ?? 100, { min: 0 }), invalid)
    const offset = yield* Either.mapLeft(Check.integer("offset", q.offset ?? 0, { min: 0 }), invalid)
    const order = q.order === "asc" ? sql.literal("ASC") : sql.literal("DESC")
    const where = yield* conditions(principal, q)
    const rows = yield* sql<StoredRow>`SELECT m.id, m.body, m.fetched_at, m.pending, m.gone, m.written_at
      FROM meetings m WHERE ${sql.and(where)}
      ORDER BY m.start_date ${order}, m.id ${order} LIMIT ${limit} OFFSET ${offset}`.pipe(
      mapSql("Cannot query meetings")
    )
    return yield* decodeRows(principal, rows)
  })

  const count = Effect.fn("MeetingsRepo.count")(function*(principal: Principal, q: MeetingQuery = {}) {
    const where = yield* conditions(principal, q)
    const rows = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM meetings m WHERE ${sql.and(where)}`.pipe(
      mapSql("Cannot count meetings")
    )
    return Number(rows[0]?.n ?? 0)
  })

  /** A page in the API's own order (newest `createdAt` first, then id), for the `Meetings` layer. */
  const page = Effect.fn("MeetingsRepo.page")(function*(principal: Principal, limit: number, offset: number) {
    const rows = yield* sql<StoredRow>`SELECT id, body, fetched_at, pending, gone, written_at FROM meetings
      WHERE principal = ${principal} AND gone = 0
      ORDER BY created_at DESC, id DESC LIMIT ${limit} OFFSET ${offset}`.pipe(mapSql("Cannot list meetings"))
    return yield* decodeRows(principal, rows)
  })

  /**
   * Keyset pagination in the API's order (newest `createdAt` first, then id), for streaming the
   * whole mirror with flat memory. `after` is the key of the previous page's last row; `next` is
   * this page's (`None` after the last page), read from the rows themselves so a skipped damaged
   * row does not end the stream early.
   */
  const pageAfter = Effect.fn("MeetingsRepo.pageAfter")(function*(
    principal: Principal,
    after: { readonly createdAt: number; readonly id: string } | null,
    limit: number
  ) {
    const rows = after === null
      ? yield* sql<KeyedRow>`SELECT id, body, fetched_at, pending, gone, written_at, created_at FROM meetings
          WHERE principal = ${principal} AND gone = 0
          ORDER BY created_at DESC, id DESC LIMIT ${limit}`.pipe(mapSql("Cannot list meetings"))
      : yield* sql<KeyedRow>`SELECT id, body, fetched_at, pending, gone, written_at, created_at FROM meetings
          WHERE principal = ${principal} AND gone = 0
          AND (created_at < ${after.createdAt} OR (created_at = ${after.createdAt} AND id < ${after.id}))
          ORDER BY created_at DESC, id DESC LIMIT ${limit}`.pipe(mapSql("Cannot list meetings"))
    const last = rows[rows.length - 1]
    const next = rows.length < limit || last === undefined
      ? Option.none<{ readonly createdAt: number; readonly id: string }>()
      : Option.some({ createdAt: Number(last.created_at), id: last.id })
    return { meetings: yield* decodeRows(principal, rows), next }
  })

  /** Forget that a row was written locally (a dead update: the server never took it). */
  const clearPending = Effect.fn("MeetingsRepo.clearPending")(function*(principal: Principal, id: string) {
    invalidate(principal, [id])
    yield* sql`UPDATE meetings SET pending = 0 WHERE principal = ${principal} AND id = ${id}`.pipe(
      retryBusy,
      mapSql(`Cannot update meeting ${id}`)
    )
  })

  /**
   * Mark ids gone (they vanished from the caller's view or answered 404). The row stays as a
   * tombstone (so stats and a later reappearance work) but its content is purged: the caller can no
   * longer see the meeting, so the cache does not keep what it said.
   */
  const markGone = Effect.fn("MeetingsRepo.markGone")(function*(principal: Principal, ids: ReadonlyArray<string>) {
    if (ids.length === 0) return
    invalidate(principal, ids)
    yield* transaction("Cannot mark meetings gone", goneStatements(principal, ids))
  })

  /** The statements that turn rows into tombstones (run inside the caller's transaction). */
  const goneStatements = (principal: Principal, ids: ReadonlyArray<string>) =>
    Effect.forEach(Arr.chunksOf(ids, 500), (chunk) =>
      Effect.zipRight(
        sql`UPDATE meetings SET gone = 1, written_at = NULL, pending = 0, description = NULL, body = '{}'
          WHERE principal = ${principal} AND ${sql.in("id", chunk)}`,
        sql`DELETE FROM meeting_attendees WHERE principal = ${principal} AND ${sql.in("meeting_id", chunk)}`
      ), { discard: true })

  /** Drop a row (a provisional meeting after its create was replayed). */
  const remove = Effect.fn("MeetingsRepo.remove")(function*(principal: Principal, id: string) {
    invalidate(principal, [id])
    yield* transaction(
      `Cannot remove meeting ${id}`,
      Effect.all([
        sql`DELETE FROM meeting_attendees WHERE principal = ${principal} AND meeting_id = ${id}`,
        sql`DELETE FROM meetings WHERE principal = ${principal} AND id = ${id}`
      ], { discard: true })
    )
  })

  /** Locally written meetings the given scan has not seen (read-your-writes candidates). */
  const writtenNotSeen = Effect.fn("MeetingsRepo.writtenNotSeen")(function*(principal: Principal, scanId: string) {
    const rows = yield* sql<{ id: string }>`SELECT id FROM meetings WHERE principal = ${principal} AND gone = 0
      AND pending = 0 AND written_at IS NOT NULL AND (seen_scan IS NULL OR seen_scan <> ${scanId})`.pipe(
      mapSql("Cannot read locally written meetings")
    )
    return rows.map((r) => r.id)
  })

  /**
   * Prefer `reconcileScan`, which does this, the gone marks of 404s and `finishScan` in one
   * transaction and only while the scan is still current (two connections may scan at once).
   *
   * After a COMPLETE scan: everything not seen by it (nor fetched by id while it ran), not pending and
   * not awaiting read-your-writes confirmation is gone. Returns how many rows were marked.
   */
  const markUnseenGone = Effect.fn("MeetingsRepo.markUnseenGone")(function*(
    principal: Principal,
    scanId: string
  ) {
    const before = yield* sql<{ id: string }>`SELECT id FROM meetings WHERE principal = ${principal} AND gone = 0
      AND pending = 0 AND written_at IS NULL AND (seen_scan IS NULL OR seen_scan <> ${scanId})`.pipe(mapSql("Cannot find vanished meetings"))
    if (before.length > 0) yield* markGone(principal, before.map((r) => r.id))
    return before.map((r) => r.id)
  })

  const syncState = Effect.fn("MeetingsRepo.syncState")(function*(principal: Principal) {
    const rows = yield* sql<{
      scan_id: string
      started_at: number
      finished_at: number | null
      last_complete_at: number | null
      pages: number
      items: number
      interrupted: number
    }>`SELECT scan_id, started_at, finished_at, last_complete_at, pages, items, interrupted FROM sync_state
      WHERE principal = ${principal}`.pipe(mapSql("Cannot read sync state"))
    const row = rows[0]
    if (row === undefined) return Option.none<SyncState>()
    return Option.some<SyncState>({
      scanId: row.scan_id,
      startedAt: Number(row.started_at),
      finishedAt: row.finished_at === null ? null : Number(row.finished_at),
      lastCompleteAt: row.last_complete_at === null ? null : Number(row.last_complete_at),
      pages: Number(row.pages),
      items: Number(row.items),
      interrupted: Number(row.interrupted)
    })
  })

  /**
   * Record the start of a scan and take the principal's sync lease until `leaseUntil`; an unfinished
   * previous scan counts as interrupted. Returns false (and changes nothing) while another scan,
   * on any connection, holds an unexpired lease: scans are serialised across connections.
   */
  const startScan = Effect.fn("MeetingsRepo.startScan")(function*(
    principal: Principal,
    scanId: string,
    now: number,
    leaseUntil: number = now,
    owner: string | null = null
  ) {
    const rows = yield* transaction(
      "Cannot record sync start",
      sql<{ scan_id: string }>`INSERT INTO sync_state
          (principal, scan_id, started_at, finished_at, last_complete_at, pages, items, interrupted, lease_until, lease_owner)
        VALUES (${principal}, ${scanId}, ${now}, NULL, NULL, 0, 0, 0, ${leaseUntil}, ${owner})
        ON CONFLICT (principal) DO UPDATE SET scan_id = excluded.scan_id, started_at = excluded.started_at,
          interrupted = CASE WHEN sync_state.finished_at IS NULL THEN sync_state.interrupted + 1 ELSE 0 END,
          finished_at = NULL, pages = 0, items = 0, lease_until = excluded.lease_until,
          lease_owner = excluded.lease_owner
        WHERE sync_state.finished_at IS NOT NULL OR sync_state.lease_until IS NULL
          OR sync_state.lease_until <= ${now}
        RETURNING scan_id`
    )
    return rows.length > 0
  })

  /** The scan holding the principal's lease now (unfinished, lease not released), if any. */
  const leaseHolder = Effect.fn("MeetingsRepo.leaseHolder")(function*(principal: Principal) {
    const rows = yield* sql<{ scan_id: string; lease_owner: string | null; lease_until: number }>`
      SELECT scan_id, lease_owner, lease_until FROM sync_state
      WHERE principal = ${principal} AND finished_at IS NULL AND lease_until IS NOT NULL`.pipe(
      mapSql("Cannot read sync state")
    )
    const row = rows[0]
    return row === undefined
      ? Option.none()
      : Option.some({ scanId: row.scan_id, owner: row.lease_owner, until: Number(row.lease_until) })
  })

  /** Give up the lease of a scan that ends without finishing (interrupted, failed, incomplete). */
  const releaseScan = Effect.fn("MeetingsRepo.releaseScan")(function*(principal: Principal, scanId: string) {
    yield* transaction(
      "Cannot release the sync lease",
      sql`UPDATE sync_state SET lease_until = NULL WHERE principal = ${principal} AND scan_id = ${scanId}`
    )
  })

  /** Record progress and renew the lease; no row means another scan took over (the lease expired). */
  const recordProgress = (
    principal: Principal,
    scanId: string,
    pages: number,
    items: number,
    leaseUntil: number | undefined
  ) =>
    Effect.map(
      leaseUntil === undefined
        ? sql<{ scan_id: string }>`UPDATE sync_state SET pages = ${pages}, items = ${items}
            WHERE principal = ${principal} AND scan_id = ${scanId} RETURNING scan_id`
        : sql<{ scan_id: string }>`UPDATE sync_state SET pages = ${pages}, items = ${items}, lease_until = ${leaseUntil}
            WHERE principal = ${principal} AND scan_id = ${scanId} RETURNING scan_id`,
      (rows) => rows.length > 0
    )

  /**
   * `upsertScanned` on the native connection: the same statements as the portable path, but prepared
   * once and run row by row in one synchronous `BEGIN IMMEDIATE` transaction, which is what the bulk
   * of a sync costs (multi-row statements through `@effect/sql` were ~2.5x slower: a 3,200-parameter
   * compile per chunk, a pending lookup, a re-prepare per chunk size). A pending row is detected by
   * its upsert changing nothing (the scan's conflict clause skips pending rows), so its attendees are
   * left alone as on the portable path. The rare pending FULL row met by a METADATA copy needs
   * `redactPending` (outbox lookups, re-applied updates): the batch is rolled back and redone on the
   * portable path. Answers whether the scan was still current.
   */
  const upsertScannedNative = (
    db: Dialect.NativeSqlite,
    principal: Principal,
    rows: ReadonlyArray<MeetingRowInsert>,
    attendeesByRow: ReadonlyArray<ReadonlyArray<AttendeeRowInsert>>,
    incoming: ReadonlyMap<string, MeetingT>,
    options: { readonly scanId: string; readonly pages: number; readonly items: number; readonly leaseUntil?: number }
  ): Effect.Effect<boolean | "NeedsRedaction", CacheError> =>
    Effect.try({
      try: () => {
        invalidate(principal, rows.map((r) => r.id))
        return db.immediate(() => {
          const { leaseUntil, scanId } = options
          // The progress update goes first: it takes the write lock and checks the scan is still current.
          const progressed = leaseUntil === undefined
            ? db.prepare(nativeSql.progress).run(options.pages, options.items, principal, scanId)
            : db.prepare(nativeSql.progressLease).run(options.pages, options.items, leaseUntil, principal, scanId)
          if (progressed.changes === 0) return false
          const upsertRow = db.prepare(nativeSql.upsertScan)
          const accessLevel = db.prepare(nativeSql.accessLevel)
          const deleteAttendees = db.prepare(nativeSql.deleteAttendees)
          const insertAttendee = db.prepare(nativeSql.insertAttendee)
          const params: Array<unknown> = new Array(meetingColumns.length)
          for (let i = 0; i < rows.length; i++) {
            const row = rows[i]!
            for (let c = 0; c < meetingColumns.length; c++) params[c] = row[meetingColumns[c]!]
            if (upsertRow.run(...params).changes === 0) {
              // A pending row: kept as is, unless its FULL content meets a METADATA copy.
              const stored = accessLevel.get(principal, row.id) as { readonly access_level: string } | undefined
              if (stored?.access_level === "FULL" && incoming.get(row.id)?.accessLevel === "METADATA") {
                throw new NeedsRedaction()
              }
              continue
            }
            deleteAttendees.run(principal, row.id)
            for (const a of attendeesByRow[i]!) insertAttendee.run(principal, row.id, a.email)
          }
          return true
        })
      },
      catch: (cause) => cause
    }).pipe(
      retryBusy,
      Effect.catchIf((e): e is NeedsRedaction => e instanceof NeedsRedaction, () => Effect.succeed("NeedsRedaction" as const)),
      mapSql("Cannot store synced meetings")
    )

  /**
   * Upsert one scanned chunk and record progress (renewing the lease) in the same transaction.
   * Returns how many meetings were stored, or `None` when the scan is no longer the principal's
   * current scan (another connection took over): then nothing is written, so rows are only ever
   * stamped by the current scan.
   */
  const upsertScanned = Effect.fn("MeetingsRepo.upsertScanned")(function*(
    principal: Principal,
    meetings: ReadonlyArray<MeetingT>,
    options: {
      readonly now: number
      readonly scanId: string
      readonly pages: number
      readonly items: number
      readonly leaseUntil?: number
    }
  ) {
    const rows: Array<MeetingRowInsert> = []
    // Per row (same index): its attendees (the native path writes them meeting by meeting).
    const attendeesByRow: Array<ReadonlyArray<AttendeeRowInsert>> = []
    const seen = new Set<string>()
    const incoming = new Map<string, MeetingT>()
    for (let i = meetings.length - 1; i >= 0; i--) {
      const meeting = meetings[i]!
      if (seen.has(meeting.id)) continue
      seen.add(meeting.id)
      incoming.set(meeting.id, meeting)
      const encoded = toRows(principal, meeting, { mode: "scan", now: options.now, scanId: options.scanId })
      if (Either.isLeft(encoded)) return yield* encoded.left
      rows.push(encoded.right.row)
      attendeesByRow.push(encoded.right.attendees)
    }
    if (native !== undefined) {
      const stored = yield* upsertScannedNative(native, principal, rows, attendeesByRow, incoming, options)
      if (stored !== "NeedsRedaction") return stored ? Option.some(rows.length) : Option.none<number>()
    }
    const attendees = attendeesByRow.flat()
    // The progress update goes first: it takes the write lock and checks the scan is still current.
    const current = yield* transaction(
      "Cannot store synced meetings",
      Effect.flatMap(
        recordProgress(principal, options.scanId, options.pages, options.items, options.leaseUntil),
        (current) =>
          current ? Effect.as(upsertRows(principal, rows, attendees, "scan", incoming), true) : Effect.succeed(false)
      )
    )
    return current ? Option.some(rows.length) : Option.none<number>()
  })

  /**
   * The end of a COMPLETE scan, in one transaction and only if `scanId` is still the principal's
   * current scan: mark `notFound` gone (re-fetches that answered 404), mark every row the scan did
   * not see (not pending, not awaiting read-your-writes) gone, and record the scan as finished
   * (releasing the lease). Returns the ids marked gone, or `None` (nothing changed) when another
   * scan has taken over.
   */
  const reconcileScan = Effect.fn("MeetingsRepo.reconcileScan")(function*(
    principal: Principal,
    scanId: string,
    notFound: ReadonlyArray<string>,
    now: number
  ) {
    const result = yield* transaction(
      "Cannot reconcile the scan",
      Effect.gen(function*() {
        // The write comes first: it takes the write lock, so the check cannot go stale.
        const finished = yield* sql<{ scan_id: string }>`UPDATE sync_state SET finished_at = ${now},
            last_complete_at = ${now}, interrupted = 0, lease_until = NULL
          WHERE principal = ${principal} AND scan_id = ${scanId} RETURNING scan_id`
        if (finished.length === 0) return Option.none<ReadonlyArray<string>>()
        yield* goneStatements(principal, notFound)
        const unseen = yield* sql<{ id: string }>`SELECT id FROM meetings WHERE principal = ${principal} AND gone = 0
          AND pending = 0 AND written_at IS NULL AND (seen_scan IS NULL OR seen_scan <> ${scanId})`
        const vanished = unseen.map((r) => r.id)
        yield* goneStatements(principal, vanished)
        return Option.some<ReadonlyArray<string>>(vanished)
      })
    )
    invalidate(principal, [...notFound, ...Option.getOrElse(result, (): ReadonlyArray<string> => [])])
    return result
  })

  const finishScan = Effect.fn("MeetingsRepo.finishScan")(function*(
    principal: Principal,
    scanId: string,
    now: number
  ) {
    yield* transaction(
      "Cannot record sync end",
      sql`UPDATE sync_state SET finished_at = ${now}, last_complete_at = ${now}, interrupted = 0
        WHERE principal = ${principal} AND scan_id = ${scanId}`
    )
  })

  const stats = Effect.fn("MeetingsRepo.stats")(function*(principal: Principal) {
    const rows = yield* sql<{ meetings: number; full: number; metadata: number; pending: number; gone: number }>`
      SELECT
        COALESCE(SUM(CASE WHEN gone = 0 THEN 1 ELSE 0 END), 0) AS meetings,
        COALESCE(SUM(CASE WHEN gone = 0 AND access_level = 'FULL' THEN 1 ELSE 0 END), 0) AS full,
        COALESCE(SUM(CASE WHEN gone = 0 AND access_level = 'METADATA' THEN 1 ELSE 0 END), 0) AS metadata,
        COALESCE(SUM(CASE WHEN gone = 0 AND pending = 1 THEN 1 ELSE 0 END), 0) AS pending,
        COALESCE(SUM(CASE WHEN gone = 1 THEN 1 ELSE 0 END), 0) AS gone
      FROM meetings WHERE principal = ${principal}`.pipe(mapSql("Cannot read cache statistics"))
    const row = rows[0]
    return {
      meetings: Number(row?.meetings ?? 0),
      full: Number(row?.full ?? 0),
      metadata: Number(row?.metadata ?? 0),
      pending: Number(row?.pending ?? 0),
      gone: Number(row?.gone ?? 0)
    } satisfies MirrorStats
  })

  /** Add this process's read counts to the persisted ones. */
  const addReadStats = Effect.fn("MeetingsRepo.addReadStats")(function*(principal: Principal, reads: ReadCounts) {
    if (reads.hits === 0 && reads.misses === 0 && reads.stale === 0) return
    yield* transaction(
      "Cannot record read statistics",
      sql`INSERT INTO read_stats (principal, hits, misses, stale) VALUES (${principal}, ${reads.hits}, ${reads.misses}, ${reads.stale})
        ON CONFLICT (principal) DO UPDATE SET hits = read_stats.hits + excluded.hits,
          misses = read_stats.misses + excluded.misses, stale = read_stats.stale + excluded.stale`
    )
  })

  const readStats = Effect.fn("MeetingsRepo.readStats")(function*(principal: Principal) {
    const rows = yield* sql<{ hits: number; misses: number; stale: number }>`
      SELECT hits, misses, stale FROM read_stats WHERE principal = ${principal}`.pipe(mapSql("Cannot read read statistics"))
    const row = rows[0]
    return { hits: Number(row?.hits ?? 0), misses: Number(row?.misses ?? 0), stale: Number(row?.stale ?? 0) } satisfies ReadCounts
  })

  /**
   * Drop this principal's mirror (meetings, attendees, sync state) in one transaction. Pending rows
   * (local writes the outbox has not replayed yet) and their attendees are kept: they cannot be
   * fetched again. The outbox is not touched.
   */
  const clear = Effect.fn("MeetingsRepo.clear")(function*(principal: Principal) {
    invalidateAll()
    yield* transaction(
      "Cannot clear the mirror",
      Effect.all([
        sql`DELETE FROM meeting_attendees WHERE principal = ${principal} AND meeting_id IN
          (SELECT id FROM meetings WHERE principal = ${principal} AND pending = 0)`,
        sql`DELETE FROM meetings WHERE principal = ${principal} AND pending = 0`,
        sql`DELETE FROM sync_state WHERE principal = ${principal}`
      ], { discard: true })
    )
    // The FTS delete trigger has already removed their terms from the full-text index.
  })

  /** Re-derive the full-text index from the table (repairs it; not needed in normal operation). */
  const rebuildFullText = Dialect.rebuildFullTextIndex(sql).pipe(retryBusy, mapSql("Cannot rebuild the full-text index"))

  return {
    upsert,
    upsertScanned,
    findById,
    query,
    count,
    page,
    pageAfter,
    clearPending,
    markGone,
    remove,
    writtenNotSeen,
    markUnseenGone,
    syncState,
    startScan,
    leaseHolder,
    releaseScan,
    reconcileScan,
    finishScan,
    stats,
    addReadStats,
    readStats,
    clear,
    rebuildFullText,
    runningScan,
    optimize: Dialect.optimize(sql).pipe(mapSql("Cannot refresh planner statistics"))
  } as const
})

export class MeetingsRepo extends Effect.Service<MeetingsRepo>()("@lightfield-effect/cache/MeetingsRepo", {
  effect: make
}) {}
