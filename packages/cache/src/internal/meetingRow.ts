/**
 * One meeting as a row: the columns extracted for the indexes, the redacted wire JSON as `body`,
 * and the way back (a stored row read strictly: never looser than its Schema).
 *
 * A row is built from the wire form (`encodeWire`): the sync's meetings arrive as validated wire
 * JSON (core's `Meetings.streamWire`) and are stored without building a `Meeting`; a `Meeting` (the
 * other writes) is encoded first (`encode`). Either way the body is the JSON of core's
 * `Redaction.redactWire`, which equals `MeetingCodec.encodeMeetingJson(Redaction.redact(m))`, and
 * the columns read the fields by the accessors' rules (`Meeting.fieldString`, …).
 */
import { Meeting, MeetingCodec, Redaction } from "@lightfield-effect/core"
import { Either, Option, Schema } from "effect"
import { CacheError } from "../CacheError.js"
import type { Principal } from "../Principal.js"

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

/** Counts of the mirror of one principal. */
export interface MirrorStats {
  readonly meetings: number
  readonly full: number
  readonly metadata: number
  readonly pending: number
  readonly gone: number
}

/** The key of a row in the API's order, for keyset pages. */
export interface PageKey {
  readonly createdAt: number
  readonly id: string
}

/**
 * How an upsert treats what is already stored.
 * - `scan`: a list page; clears the read-your-writes marker, records the scan id; never touches
 *   pending (locally written, unconfirmed) rows.
 * - `fetch`: a retrieve by id; keeps the marker; never touches pending rows.
 * - `write`: the server's answer to a create/update (or an outbox replay): always wins, sets the marker.
 * - `local`: a provisional (offline) version: always wins, `pending = 1`.
 *
 * No mode overwrites a deleted row (`deleted = 1`, a tombstone): a deleted meeting never comes back.
 */
export type UpsertMode = "scan" | "fetch" | "write" | "local"

export interface UpsertOptions {
  readonly mode: UpsertMode
  /** Epoch millis used for `fetched_at` (and `written_at` for writes). */
  readonly now: number
  /** The scan that sees these rows (a scan's batch, or a fetch while a scan runs). */
  readonly scanId?: string | undefined
}

/** The columns of a meeting row, in the order the statements bind them. */
export const columns = [
  "principal", "id", "title", "description", "start_date", "end_date", "organizer", "access_level", "created_at",
  "updated_at", "fetched_at", "written_at", "pending", "gone", "seen_scan", "body"
] as const

export type MeetingRow = { readonly [K in (typeof columns)[number]]: string | number | null }

/** A meeting as it arrives: decoded (`Meeting`), or validated wire JSON (a sync's scan). */
export type Incoming = MeetingT | MeetingCodec.WireMeeting

export interface EncodedMeeting {
  readonly row: MeetingRow
  readonly attendees: ReadonlyArray<string>
  /** The copy as it arrived (unredacted): a METADATA copy meeting a pending FULL row is rebuilt from it. */
  readonly incoming: Incoming
}

const encodeFailed = (id: string, cause: unknown) =>
  Either.left(new CacheError({ reason: "Encode", message: `Cannot encode meeting ${id}`, cause }))

/**
 * The row of a wire meeting (redacted first: a METADATA row never holds content) and its attendees.
 * `input` must be a validated wire meeting (`Meetings.streamWire`, or `MeetingCodec.encodeMeeting`).
 */
export const encodeWire = (
  principal: Principal,
  input: MeetingCodec.WireMeeting,
  options: UpsertOptions,
  incoming: Incoming = input
): Either.Either<EncodedMeeting, CacheError> => {
  const wire = Redaction.redactWire(input)
  let body: string
  try {
    body = JSON.stringify(wire)
  } catch (cause) {
    return encodeFailed(wire.id, cause)
  }
  const createdAt = Meeting.epochMillis(wire.createdAt)
  const updatedAt = wire.updatedAt === null ? null : Meeting.epochMillis(wire.updatedAt)
  if (createdAt === null || (wire.updatedAt !== null && updatedAt === null)) {
    return encodeFailed(wire.id, new Error("not a timestamp"))
  }
  const fields = wire.fields
  const emails = Meeting.fieldStrings(fields[Meeting.SystemField.attendeeEmails])
  // Normalised, each once (first occurrence first).
  const attendees = Option.isNone(emails) ? [] : [...new Set(emails.value.map((e) => e.trim().toLowerCase()))]
  return Either.right({
    row: {
      principal,
      id: wire.id,
      title: Option.getOrNull(Meeting.fieldString(fields[Meeting.SystemField.title])),
      description: wire.accessLevel === "FULL"
        ? Option.getOrNull(Meeting.fieldString(fields[Meeting.SystemField.description]))
        : null,
      start_date: Meeting.fieldMillis(fields[Meeting.SystemField.startDate]),
      end_date: Meeting.fieldMillis(fields[Meeting.SystemField.endDate]),
      organizer: Option.getOrNull(
        Option.map(Meeting.fieldString(fields[Meeting.SystemField.organizerEmail]), (e) => e.trim().toLowerCase())
      ),
      access_level: wire.accessLevel,
      created_at: createdAt,
      updated_at: updatedAt,
      fetched_at: options.now,
      written_at: options.mode === "write" || options.mode === "local" ? options.now : null,
      pending: options.mode === "local" ? 1 : 0,
      gone: 0,
      seen_scan: options.scanId ?? null,
      body
    },
    attendees,
    incoming
  })
}

/** The row of a `Meeting`: its wire form's (`encodeWire`). */
export const encode = (
  principal: Principal,
  input: MeetingT,
  options: UpsertOptions
): Either.Either<EncodedMeeting, CacheError> => {
  let wire: MeetingCodec.WireMeeting
  try {
    wire = MeetingCodec.encodeMeeting(input)
  } catch (cause) {
    return encodeFailed(input.id, cause)
  }
  return encodeWire(principal, wire, options, input)
}

/** The incoming copy as a `Meeting` (a wire one decoded: it was validated, so this fails only on a bug). */
export const incomingMeeting = (incoming: Incoming): Either.Either<MeetingT, CacheError> =>
  incoming instanceof Meeting.Meeting ? Either.right(incoming) : Either.mapLeft(
    MeetingCodec.decodeMeeting(incoming),
    (cause) => new CacheError({ reason: "Encode", message: `Cannot decode meeting ${incoming.id}`, cause })
  )

const set = (names: ReadonlyArray<string>) => names.map((c) => `${c} = excluded.${c}`).join(", ")
const content = set([
  "title", "description", "start_date", "end_date", "organizer", "access_level", "created_at", "updated_at",
  "fetched_at", "body"
])

/**
 * THE privacy rule of the upsert, per mode: what an incoming copy overwrites. A server copy
 * (`scan`, `fetch`) never overwrites a pending row (the `WHERE`); a METADATA copy meeting a pending
 * FULL row is handled by the caller (`MeetingRows.upsert`), which replaces it redacted.
 */
export const conflictClause: Record<UpsertMode, string> = {
  scan: `DO UPDATE SET ${content}, written_at = NULL, pending = 0, gone = 0, seen_scan = excluded.seen_scan
    WHERE meetings.pending = 0 AND meetings.deleted = 0`,
  fetch: `DO UPDATE SET ${content}, pending = 0, gone = 0, seen_scan = COALESCE(excluded.seen_scan, meetings.seen_scan)
    WHERE meetings.pending = 0 AND meetings.deleted = 0`,
  write: `DO UPDATE SET ${content}, written_at = excluded.written_at, pending = 0, gone = 0 WHERE meetings.deleted = 0`,
  local: `DO UPDATE SET ${content}, written_at = excluded.written_at, pending = 1, gone = 0 WHERE meetings.deleted = 0`
}

/** Rows per multi-row upsert statement at most (`columns.length` × this many parameters). */
export const maxRowsPerStatement = 128

const rowPlaceholders = `(${columns.map(() => "?").join(", ")})`

/**
 * The upsert of `rows` rows of a mode (`?` placeholders in `columns` order, row after row),
 * answering the id of every row it wrote: an id missing from the answer met a row the conflict
 * clause keeps (pending or deleted). One statement for many rows, not one per row: SQLite flushes
 * the full-text index's pending terms at the end of every statement that fires its triggers, so
 * a statement per row wrote a segment per row (measured: ~50 µs of the ~85 µs a row cost).
 */
export const upsertManySql = (mode: UpsertMode, rows: number): string =>
  `INSERT INTO meetings (${columns.join(", ")}) VALUES ${Array.from({ length: rows }, () => rowPlaceholders).join(", ")}
    ON CONFLICT (principal, id) ${conflictClause[mode]} RETURNING id`

/** The columns a read selects, in `StoredRow` order. */
export const storedColumns = "id, body, fetched_at, pending, gone, written_at"

/** A row as read (`storedColumns`). */
export const StoredRow = Schema.Struct({
  id: Schema.String,
  body: Schema.String,
  fetched_at: Schema.Number,
  pending: Schema.Literal(0, 1),
  gone: Schema.Literal(0, 1),
  written_at: Schema.NullOr(Schema.Number)
})
export type StoredRow = typeof StoredRow.Type

const isFlag = (u: unknown): u is 0 | 1 => u === 0 || u === 1

/**
 * The columns a read by id selects, read raw (an array in this order): its id is the one asked for
 * and its `WHERE` has `gone = 0`, so neither is read back (a string fewer per read, and fewer
 * columns to extract: ~2 µs of the ~18 µs a prepared `get` of a row took).
 */
export const foundColumns = "body, fetched_at, pending, written_at"

const damaged = (id: string, why: string, cause?: unknown) =>
  Either.left(new CacheError({ reason: "Decode", message: `Stored meeting ${id} cannot be decoded: ${why}`, cause }))

const notWritten = "its bookkeeping columns are not what the cache writes"

/** The columns `decode` and `decodeFound` share, checked as `StoredRow` checks them. */
const bookkeeping = (body: unknown, fetchedAt: unknown, pending: unknown, writtenAt: unknown): boolean =>
  typeof body === "string" && typeof fetchedAt === "number" && isFlag(pending) &&
  (writtenAt === null || typeof writtenAt === "number")

const stored = (
  id: string,
  body: string,
  fetchedAt: number,
  pending: 0 | 1,
  writtenAt: number | null,
  gone: boolean
): Either.Either<StoredMeeting, CacheError> => {
  const meeting = MeetingCodec.decodeMeetingJson(body)
  if (Either.isLeft(meeting)) return damaged(id, meeting.left.message, meeting.left)
  // Keys one by one, not a literal with keys: V8 pretenures what a literal's allocation site sees
  // survive (these do, in the hot set), and a copy allocated old keeps its young meeting alive
  // through every scavenge (core's `internal/wireDecode.ts` builds the meeting the same way).
  const out: { -readonly [K in keyof StoredMeeting]?: StoredMeeting[K] } = {}
  out.meeting = meeting.right
  out.fetchedAt = fetchedAt
  out.pending = pending === 1
  out.gone = gone
  out.writtenAt = writtenAt
  return Either.right(out as StoredMeeting)
}

/**
 * A row read from SQLite, decoded: the bookkeeping columns checked as `StoredRow` checks them (a
 * test holds the two equal), the body with core's codec. Anything else is a `Decode` error for that
 * row, never a defect.
 */
export const decode = (u: unknown): Either.Either<StoredMeeting, CacheError> => {
  const row = u as Record<string, unknown>
  const id = typeof row?.id === "string" ? row.id : "?"
  if (
    typeof u !== "object" || u === null || typeof row.id !== "string" || !isFlag(row.gone) ||
    !bookkeeping(row.body, row.fetched_at, row.pending, row.written_at)
  ) {
    return damaged(id, notWritten)
  }
  return stored(
    id,
    row.body as string,
    row.fetched_at as number,
    row.pending as 0 | 1,
    row.written_at as number | null,
    row.gone === 1
  )
}

/** A raw row of `foundColumns` read by `id` (not gone), decoded as `decode` decodes the full row. */
export const decodeFound = (id: string, u: unknown): Either.Either<StoredMeeting, CacheError> => {
  if (!Array.isArray(u) || u.length !== 4) return damaged(id, notWritten)
  const body: unknown = u[0]
  const fetchedAt: unknown = u[1]
  const pending: unknown = u[2]
  const writtenAt: unknown = u[3]
  return bookkeeping(body, fetchedAt, pending, writtenAt)
    ? stored(id, body as string, fetchedAt as number, pending as 0 | 1, writtenAt as number | null, false)
    : damaged(id, notWritten)
}
