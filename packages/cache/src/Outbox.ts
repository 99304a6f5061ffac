/**
 * The outbox: creates and updates that could not reach the API, stored durably in the same
 * database (so they survive restarts), each with the idempotency key generated before the first
 * attempt. They are replayed in order (`seq`); a create replayed with its original key is executed
 * at most once by the server, even if the first attempt reached it before the connection dropped.
 *
 * - A queued create gets a provisional id `local_<uuid>`. After replay, `id_map` resolves it to
 *   the real id, and queued updates against the local id are rewritten to the real id.
 * - Permanent failures (400/403/404/422, undecodable answers, too many conflicts) become dead letters
 *   with their error. They are kept until explicitly retried or discarded, never dropped.
 */
import { SqlClient } from "@effect/sql"
import type { MeetingsError } from "@lightfield-effect/core"
import { Effect, Option, Schema } from "effect"
import { mapSql } from "./CacheError.js"
import { retryBusy, transaction } from "./internal/sql.js"
import type { Principal } from "./Principal.js"

export type OutboxOp = "create" | "update"
export type OutboxStatus = "pending" | "dead"

/** The error a dead letter died of (or the last transient error of a pending entry). */
export interface OutboxError {
  readonly tag: string
  readonly message: string
  readonly status?: number
}

export interface OutboxEntry {
  readonly seq: number
  readonly op: OutboxOp
  /** The meeting id an update targets (a real id, or a `local_…` id until its create is replayed); for a create, its local id. */
  readonly targetId: string
  /** For creates: the provisional id handed out to the caller. */
  readonly localId: string | null
  readonly idempotencyKey: string
  /** The request body as JSON (`CreateMeetingParams` or `UpdateMeetingParams`). */
  readonly params: unknown
  readonly status: OutboxStatus
  /** Failed attempts that count against `maxReplayAttempts` (outages do not). */
  readonly attempts: number
  /** Times the entry was sent (recorded and committed before each request goes out). */
  readonly sends: number
  /** When it was first sent: the server may have seen its idempotency key since then. */
  readonly firstSentAt: number | null
  readonly lastError: OutboxError | null
  readonly createdAt: number
  readonly updatedAt: number
}

export const localIdPrefix = "local_"
export const isLocalId = (id: string): boolean => id.startsWith(localIdPrefix)

export const describeError = (e: MeetingsError.MeetingsError | { readonly _tag: string; readonly message: string }): OutboxError => {
  // Unprocessable carries no status field: it is always a 422.
  const status = "status" in e && typeof e.status === "number" ? e.status : e._tag === "Unprocessable" ? 422 : undefined
  return status === undefined ? { tag: e._tag, message: e.message } : { tag: e._tag, message: e.message, status }
}

interface OutboxRow {
  readonly seq: number
  readonly op: string
  readonly target_id: string
  readonly local_id: string | null
  readonly idempotency_key: string
  readonly params: string
  readonly status: string
  readonly attempts: number
  readonly sends: number
  readonly first_sent_at: number | null
  readonly last_error: string | null
  readonly created_at: number
  readonly updated_at: number
}

const parseJson = (text: string | null): unknown => {
  if (text === null) return null
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

const OutboxErrorSchema = Schema.Struct({
  tag: Schema.String,
  message: Schema.String,
  status: Schema.optionalWith(Schema.Number, { exact: true })
})
const decodeOutboxError = Schema.decodeUnknownOption(OutboxErrorSchema)

const toEntry = (row: OutboxRow): OutboxEntry => ({
  seq: Number(row.seq),
  op: row.op === "update" ? "update" : "create",
  targetId: row.target_id,
  localId: row.local_id,
  idempotencyKey: row.idempotency_key,
  params: parseJson(row.params),
  status: row.status === "dead" ? "dead" : "pending",
  attempts: Number(row.attempts),
  sends: Number(row.sends),
  firstSentAt: row.first_sent_at === null ? null : Number(row.first_sent_at),
  lastError: Option.getOrNull(decodeOutboxError(parseJson(row.last_error))),
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at)
})

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const columns = sql.literal(
    "seq, op, target_id, local_id, idempotency_key, params, status, attempts, sends, first_sent_at, last_error, " +
      "created_at, updated_at"
  )

  /**
   * Append an entry; returns its sequence number. Run inside the caller's transaction. `sent` is
   * given when the write was already sent once (an online attempt whose answer never came): the
   * entry starts with that send recorded, so its key's lifetime counts from then.
   */
  const enqueue = Effect.fn("Outbox.enqueue")(function*(
    principal: Principal,
    entry: {
      readonly op: OutboxOp
      readonly targetId: string
      readonly localId: string | null
      readonly idempotencyKey: string
      readonly params: unknown
      readonly sent?: { readonly at: number; readonly error: OutboxError }
    },
    now: number
  ) {
    const sends = entry.sent === undefined ? 0 : 1
    const firstSentAt = entry.sent?.at ?? null
    const lastError = entry.sent === undefined ? null : JSON.stringify(entry.sent.error)
    // One statement computes the next seq and inserts it, so two connections cannot pick the same one.
    const rows = yield* sql<{ seq: number }>`INSERT INTO outbox
      (principal, seq, op, target_id, local_id, idempotency_key, params, status, attempts, sends, first_sent_at,
        last_error, created_at, updated_at)
      SELECT ${principal}, COALESCE(MAX(seq), 0) + 1, ${entry.op}, ${entry.targetId}, ${entry.localId},
        ${entry.idempotencyKey}, ${JSON.stringify(entry.params)}, 'pending', 0, ${sends}, ${firstSentAt},
        ${lastError}, ${now}, ${now}
      FROM outbox WHERE principal = ${principal}
      RETURNING seq`
    const seq = Number(rows[0]?.seq ?? 0)
    return seq
  }, mapSql("Cannot enqueue an offline write"))

  const byStatus = (principal: Principal, status: OutboxStatus) =>
    sql<OutboxRow>`SELECT ${columns} FROM outbox WHERE principal = ${principal} AND status = ${status} ORDER BY seq`.pipe(
      Effect.map((rows) => rows.map(toEntry)),
      mapSql("Cannot read the outbox")
    )

  /** Entries waiting for replay, oldest first. */
  const pending = (principal: Principal) => byStatus(principal, "pending").pipe(Effect.withSpan("Outbox.pending"))
  /** Dead letters, oldest first. */
  const deadLetters = (principal: Principal) => byStatus(principal, "dead").pipe(Effect.withSpan("Outbox.deadLetters"))

  const depth = (principal: Principal) =>
    sql<{ n: number }>`SELECT COUNT(*) AS n FROM outbox WHERE principal = ${principal} AND status = 'pending'`.pipe(
      Effect.map((rows) => Number(rows[0]?.n ?? 0)),
      mapSql("Cannot read the outbox depth")
    )

  const deadCount = (principal: Principal) =>
    sql<{ n: number }>`SELECT COUNT(*) AS n FROM outbox WHERE principal = ${principal} AND status = 'dead'`.pipe(
      Effect.map((rows) => Number(rows[0]?.n ?? 0)),
      mapSql("Cannot count dead letters")
    )

  /** Remove a replayed entry (inside the replay's transaction). */
  const complete = (principal: Principal, seq: number) =>
    sql`DELETE FROM outbox WHERE principal = ${principal} AND seq = ${seq}`.pipe(mapSql("Cannot complete an outbox entry"))

  const markDead = (principal: Principal, seq: number, error: OutboxError, now: number) =>
    sql`UPDATE outbox SET status = 'dead', attempts = attempts + 1, last_error = ${JSON.stringify(error)},
      updated_at = ${now} WHERE principal = ${principal} AND seq = ${seq}`.pipe(
      retryBusy,
      mapSql("Cannot record a dead letter")
    )

  /**
   * Record a failed attempt. `counted` failures use up the entry's attempts; outages and in-progress
   * conflicts are not counted (they say nothing against the write), only remembered in `last_error`.
   */
  const recordAttempt = (principal: Principal, seq: number, error: OutboxError, now: number, counted = true) =>
    sql`UPDATE outbox SET attempts = attempts + ${counted ? 1 : 0}, last_error = ${JSON.stringify(error)},
      updated_at = ${now} WHERE principal = ${principal} AND seq = ${seq}`.pipe(
      retryBusy,
      mapSql("Cannot record an outbox attempt")
    )

  /**
   * Record that the entry is about to be sent, in its own committed transaction, BEFORE the request
   * goes out: after a crash, an interrupt, a lost answer or a failed local commit, the entry still
   * says it may have reached the server (and since when), so an expired key is never resent blindly.
   */
  const markSent = (principal: Principal, seq: number, now: number) =>
    transaction(
      sql,
      "Cannot record an outbox attempt",
      sql`UPDATE outbox SET sends = sends + 1, first_sent_at = COALESCE(first_sent_at, ${now}), updated_at = ${now}
        WHERE principal = ${principal} AND seq = ${seq}`
    ).pipe(Effect.withSpan("Outbox.markSent"))

  /** After a create was replayed: remember the real id and point queued updates at it. */
  const resolveLocal = (principal: Principal, localId: string, realId: string, now: number) =>
    Effect.all([
      sql`INSERT INTO id_map ${sql.insert({ principal, local_id: localId, real_id: realId, resolved_at: now })}
        ON CONFLICT (principal, local_id) DO UPDATE SET real_id = excluded.real_id, resolved_at = excluded.resolved_at`,
      sql`UPDATE outbox SET target_id = ${realId} WHERE principal = ${principal} AND target_id = ${localId}
        AND op = 'update'`
    ], { discard: true }).pipe(mapSql("Cannot resolve a provisional id"))

  /** The real id a provisional id resolved to, if its create was replayed. */
  const resolve = (principal: Principal, localId: string) =>
    sql<{ real_id: string }>`SELECT real_id FROM id_map WHERE principal = ${principal} AND local_id = ${localId}`.pipe(
      Effect.map((rows) => Option.fromNullable(rows[0]?.real_id)),
      mapSql("Cannot resolve a provisional id"),
      Effect.withSpan("Outbox.resolve")
    )

  const entryBySeq = (principal: Principal, seq: number) =>
    Effect.map(
      sql<OutboxRow>`SELECT ${columns} FROM outbox WHERE principal = ${principal} AND seq = ${seq}`,
      (rows) => Option.map(Option.fromNullable(rows[0]), toEntry)
    )

  /** Move an entry to the end of the queue as a fresh pending entry (a new seq, same key). */
  const requeue = (principal: Principal, seq: number, now: number) =>
    sql<{ seq: number }>`UPDATE outbox SET status = 'pending', attempts = 0, sends = 0, first_sent_at = NULL,
      last_error = NULL, created_at = ${now}, updated_at = ${now},
      seq = (SELECT COALESCE(MAX(o.seq), 0) + 1 FROM outbox o WHERE o.principal = ${principal})
      WHERE principal = ${principal} AND seq = ${seq} AND status = 'dead' RETURNING seq`

  /**
   * Put a dead letter back at the END of the queue (a new seq, MAX + 1; same idempotency key), so
   * an old write cannot overwrite state written after it. Dependencies come along, in order: an
   * update whose create is dead brings the create back before it; a create brings back the updates
   * that died because of it, after it. Returns the new seq, if it was dead.
   */
  const retryDead = (principal: Principal, seq: number, now: number) =>
    transaction(sql, "Cannot retry a dead letter", Effect.gen(function*() {
      const found = yield* entryBySeq(principal, seq)
      if (Option.isNone(found) || found.value.status !== "dead") return Option.none<number>()
      const entry = found.value
      const before: Array<number> = []
      const after: Array<number> = []
      if (entry.op === "update" && isLocalId(entry.targetId)) {
        const creates = yield* sql<{ seq: number }>`SELECT seq FROM outbox WHERE principal = ${principal}
          AND op = 'create' AND local_id = ${entry.targetId} AND status = 'dead'`
        before.push(...creates.map((r) => Number(r.seq)))
      }
      if (entry.op === "create" && entry.localId !== null) {
        const updates = yield* sql<{ seq: number }>`SELECT seq FROM outbox WHERE principal = ${principal}
          AND op = 'update' AND target_id = ${entry.localId} AND status = 'dead' ORDER BY seq`
        after.push(...updates.map((r) => Number(r.seq)))
      }
      let moved = Option.none<number>()
      // A person chose to send it again: it starts over (new place at the end, fresh attempt history).
      for (const s of [...before, seq, ...after]) {
        const rows = yield* requeue(principal, s, now)
        if (s === seq) moved = Option.map(Option.fromNullable(rows[0]), (r) => Number(r.seq))
      }
      return moved
    }))

  /**
   * Delete a dead letter for good. The updates of a discarded create can never be sent: any still
   * pending become dead letters, and all of them say why.
   */
  const discardDead = (principal: Principal, seq: number, now: number) =>
    transaction(sql, "Cannot discard a dead letter", Effect.gen(function*() {
      const found = yield* entryBySeq(principal, seq)
      if (Option.isNone(found) || found.value.status !== "dead") return
      const entry = found.value
      if (entry.op === "create" && entry.localId !== null) {
        const error: OutboxError = {
          tag: "DependencyFailed",
          message: `The queued create of ${entry.localId} was discarded`
        }
        yield* sql`UPDATE outbox SET status = 'dead', last_error = ${JSON.stringify(error)}, updated_at = ${now}
          WHERE principal = ${principal} AND op = 'update' AND target_id = ${entry.localId}`
      }
      yield* sql`DELETE FROM outbox WHERE principal = ${principal} AND seq = ${seq} AND status = 'dead'`
    }))

  /** Pending entries that write to this meeting (by its id, or the provisional id it resolved from). */
  const pendingFor = (principal: Principal, id: string) =>
    sql<{ n: number }>`SELECT COUNT(*) AS n FROM outbox WHERE principal = ${principal} AND status = 'pending'
      AND (target_id = ${id} OR target_id IN (SELECT local_id FROM id_map WHERE principal = ${principal} AND real_id = ${id}))`
      .pipe(Effect.map((rows) => Number(rows[0]?.n ?? 0)), mapSql("Cannot read the outbox"))

  return {
    enqueue,
    pending,
    deadLetters,
    depth,
    deadCount,
    complete,
    markDead,
    recordAttempt,
    markSent,
    resolveLocal,
    resolve,
    retryDead,
    discardDead,
    pendingFor
  } as const
})

export class Outbox extends Effect.Service<Outbox>()("@lightfield-effect/cache/Outbox", { effect: make }) {}

// ---------------------------------------------------------------------------------------------
// Provisional meetings: what local reads show for a queued write (see `internal/provisional.ts`).
// ---------------------------------------------------------------------------------------------

export { applyUpdate, provisionalMeeting } from "./internal/provisional.js"
