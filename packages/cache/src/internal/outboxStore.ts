/**
 * The owner of the `outbox` and `id_map` tables: queued writes, dead letters, provisional ids.
 * Every statement filters on `principal`. Rows are read through `SqlSchema` with the row's Schema;
 * errors are stored encoded with `OutboxFailure` and read back typed.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { MeetingParams } from "@lightfield-effect/core"
import { Context, Effect, Either, Layer, Option, Schema } from "effect"
import type { CacheError } from "../CacheError.js"
import type { OutboxEntry, OutboxOp, OutboxStatus } from "../Outbox.js"
import { DependencyFailed, OutboxFailure, RecordedError } from "../Outbox.js"
import { Principal } from "../Principal.js"
import * as OutboxClaims from "./outboxClaims.js"
import { isLocalId } from "./provisional.js"
import { mapSql, retryBusy, transaction, withinTransaction } from "./sql.js"

/** What `enqueue` stores. */
export interface NewEntry {
  readonly op: OutboxOp
  readonly targetId: string
  readonly localId: string | null
  readonly idempotencyKey: string
  readonly params: unknown
  /** The write was already sent once (an online attempt whose answer never came): since when, and what it met. */
  readonly sent?: { readonly at: number; readonly error: OutboxFailure } | undefined
}

/** A principal with queued writes or dead letters. */
export interface PrincipalQueue {
  readonly principal: string
  readonly queued: number
  readonly deadLetters: number
}

export interface OutboxStoreShape {
  /** Append an entry (in the caller's transaction); its sequence number. */
  readonly enqueue: (principal: Principal, entry: NewEntry, now: number) => Effect.Effect<number, CacheError>
  /** Entries waiting for replay, oldest first. */
  readonly pending: (principal: Principal) => Effect.Effect<ReadonlyArray<OutboxEntry>, CacheError>
  /** Dead letters, oldest first. */
  readonly deadLetters: (principal: Principal) => Effect.Effect<ReadonlyArray<OutboxEntry>, CacheError>
  readonly depth: (principal: Principal) => Effect.Effect<number, CacheError>
  readonly deadCount: (principal: Principal) => Effect.Effect<number, CacheError>
  /** Remove a replayed entry (in the replay's transaction). */
  readonly complete: (principal: Principal, seq: number) => Effect.Effect<void, CacheError>
  readonly markDead: (principal: Principal, seq: number, error: OutboxFailure, now: number) => Effect.Effect<void, CacheError>
  /** A failed attempt; `counted` ones use up the entry's attempts (outages do not). */
  readonly recordAttempt: (
    principal: Principal,
    seq: number,
    error: OutboxFailure,
    now: number,
    counted: boolean
  ) => Effect.Effect<void, CacheError>
  /** Commit that the entry is about to be sent, BEFORE it is (own transaction). */
  readonly markSent: (principal: Principal, seq: number, now: number) => Effect.Effect<void, CacheError>
  /** After a create was replayed: remember the real id and point queued updates at it. */
  readonly resolveLocal: (principal: Principal, localId: string, realId: string, now: number) => Effect.Effect<void, CacheError>
  /** A queued create never sent, and the writes queued after it for its provisional id, removed (in the caller's transaction); how many. */
  readonly cancelLocal: (principal: Principal, localId: string) => Effect.Effect<number, CacheError>
  /** The real id a provisional id resolved to, if its create was replayed. */
  readonly resolve: (principal: Principal, localId: string) => Effect.Effect<Option.Option<string>, CacheError>
  /** A dead letter back at the end of the queue (an update with its dead create before it); its new seq. */
  readonly retryDead: (principal: Principal, seq: number, now: number) => Effect.Effect<Option.Option<number>, CacheError>
  /** Delete a dead letter; the updates of a discarded create become dead letters saying so. */
  readonly discardDead: (principal: Principal, seq: number, now: number) => Effect.Effect<void, CacheError>
  /** Pending entries that write to this meeting (by its id, or the provisional id it resolved from). */
  readonly pendingFor: (principal: Principal, id: string) => Effect.Effect<number, CacheError>
  /** The params of the pending updates of a meeting, in order. */
  readonly queuedUpdates: (
    principal: Principal,
    id: string
  ) => Effect.Effect<ReadonlyArray<MeetingParams.UpdateMeetingParams>, CacheError>
  /** Other principals of this file with queued writes or dead letters. */
  readonly elsewhere: (principal: Principal) => Effect.Effect<ReadonlyArray<PrincipalQueue>, CacheError>
  /** Move every entry and resolved id of `from` to `to`, after `to`'s own (in the caller's transaction). */
  readonly adopt: (from: Principal, to: Principal) => Effect.Effect<number, CacheError>
  /**
   * Claim up to `limit` pending entries for `worker` until `ttlMillis` from now, on the database's
   * clock (`outboxClaims.ts`): oldest first, only the first pending entry of each meeting, none
   * another worker holds (`FOR UPDATE SKIP LOCKED` on PostgreSQL).
   */
  readonly claim: (
    principal: Principal,
    worker: string,
    options: { readonly limit: number; readonly ttlMillis: number }
  ) => Effect.Effect<ReadonlyArray<OutboxEntry>, CacheError>
  /** Extend every claim `worker` holds to `ttlMillis` from now. */
  readonly renewClaims: (principal: Principal, worker: string, ttlMillis: number) => Effect.Effect<void, CacheError>
  /** Give back every claim `worker` holds. */
  readonly releaseClaims: (principal: Principal, worker: string) => Effect.Effect<void, CacheError>
}

export class OutboxStore extends Context.Tag("@lightfield-effect/cache/internal/OutboxStore")<
  OutboxStore,
  OutboxStoreShape
>() {}

const OutboxRow = Schema.Struct({
  seq: Schema.Number,
  op: Schema.Literal("create", "update", "delete"),
  target_id: Schema.String,
  local_id: Schema.NullOr(Schema.String),
  idempotency_key: Schema.String,
  params: Schema.String,
  status: Schema.Literal("pending", "dead"),
  attempts: Schema.Number,
  sends: Schema.Number,
  first_sent_at: Schema.NullOr(Schema.Number),
  last_error: Schema.NullOr(Schema.String),
  created_at: Schema.Number,
  updated_at: Schema.Number
})
const columns = Object.keys(OutboxRow.fields).join(", ")

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

const encodeFailure = Schema.encodeSync(Schema.parseJson(OutboxFailure))
const decodeFailure = Schema.decodeUnknownEither(Schema.parseJson(OutboxFailure))
const decodeLegacy = Schema.decodeUnknownOption(
  Schema.parseJson(Schema.Struct({ tag: Schema.String, message: Schema.String, status: Schema.optional(Schema.Number) }))
)

/** A stored error, typed; one written by an earlier version (`{tag, message, status}`) as `RecordedError`. */
const readFailure = (text: string | null): OutboxFailure | null => {
  if (text === null) return null
  const typed = decodeFailure(text)
  if (Either.isRight(typed)) return typed.right
  return Option.match(decodeLegacy(text), {
    onNone: () => new RecordedError({ tag: "Unknown", message: text.slice(0, 500) }),
    onSome: (legacy) => new RecordedError(legacy)
  })
}

const toEntry = (row: typeof OutboxRow.Type): OutboxEntry => ({
  seq: row.seq,
  op: row.op,
  targetId: row.target_id,
  localId: row.local_id,
  idempotencyKey: row.idempotency_key,
  params: parseJson(row.params),
  status: row.status,
  attempts: row.attempts,
  sends: row.sends,
  firstSentAt: row.first_sent_at,
  lastError: readFailure(row.last_error),
  createdAt: row.created_at,
  updatedAt: row.updated_at
})

const decodeRows = Schema.decodeUnknown(Schema.Array(OutboxRow))

const decodeUpdateParams = Schema.decodeUnknownOption(MeetingParams.UpdateMeetingParams)

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient

  const entries = SqlSchema.findAll({
    Request: Schema.Struct({ principal: Schema.String, status: Schema.Literal("pending", "dead") }),
    Result: OutboxRow,
    execute: (r) =>
      sql`SELECT ${sql.literal(columns)} FROM outbox WHERE principal = ${r.principal} AND status = ${r.status} ORDER BY seq`
  })
  const bySeq = SqlSchema.findOne({
    Request: Schema.Struct({ principal: Schema.String, seq: Schema.Number }),
    Result: OutboxRow,
    execute: (r) => sql`SELECT ${sql.literal(columns)} FROM outbox WHERE principal = ${r.principal} AND seq = ${r.seq}`
  })
  const count = (principal: Principal, status: OutboxStatus) =>
    sql<{ n: number }>`SELECT COUNT(*) AS n FROM outbox WHERE principal = ${principal} AND status = ${status}`.pipe(
      Effect.map((rows) => Number(rows[0]?.n ?? 0)),
      mapSql("Cannot read the outbox")
    )
  const byStatus = (principal: Principal, status: OutboxStatus) =>
    entries({ principal, status }).pipe(
      Effect.map((rows) => rows.map(toEntry)),
      mapSql("Cannot read the outbox", "Decode"),
      Effect.withSpan(`OutboxStore.${status}`)
    )
  /** Move an entry to the end of the queue as a fresh pending entry (a new seq, same key). */
  const requeue = (principal: Principal, seq: number, now: number) =>
    sql<{ seq: number }>`UPDATE outbox SET status = 'pending', attempts = 0, sends = 0, first_sent_at = NULL,
      last_error = NULL, created_at = ${now}, updated_at = ${now}, claimed_by = NULL, claimed_until = NULL,
      seq = (SELECT COALESCE(MAX(o.seq), 0) + 1 FROM outbox o WHERE o.principal = ${principal})
      WHERE principal = ${principal} AND seq = ${seq} AND status = 'dead' RETURNING seq`
  const seqs = (rows: ReadonlyArray<{ readonly seq: number }>) => rows.map((r) => Number(r.seq))

  const claims = OutboxClaims.make(sql, columns)

  return OutboxStore.of({
    enqueue: (principal, entry, now) =>
      // One statement computes the next seq and inserts it (under the queue's lock on PostgreSQL,
      // where another instance's statement could otherwise pick the same one).
      withinTransaction(sql, "Cannot enqueue an offline write", Effect.zipRight(claims.lockQueue(principal), sql<{ seq: number }>`INSERT INTO outbox
        (principal, seq, op, target_id, local_id, idempotency_key, params, status, attempts, sends, first_sent_at,
          last_error, created_at, updated_at)
        SELECT ${principal}, COALESCE(MAX(seq), 0) + 1, ${entry.op}, ${entry.targetId}, ${entry.localId},
          ${entry.idempotencyKey}, ${JSON.stringify(entry.params)}, 'pending', 0, ${entry.sent === undefined ? 0 : 1},
          ${entry.sent?.at ?? null}, ${entry.sent === undefined ? null : encodeFailure(entry.sent.error)}, ${now}, ${now}
        FROM outbox WHERE principal = ${principal}
        RETURNING seq`)).pipe(
        Effect.map((rows) => Number(rows[0]?.seq ?? 0)),
        Effect.withSpan("OutboxStore.enqueue")
      ),
    pending: (principal) => byStatus(principal, "pending"),
    deadLetters: (principal) => byStatus(principal, "dead"),
    depth: (principal) => count(principal, "pending"),
    deadCount: (principal) => count(principal, "dead"),
    complete: (principal, seq) =>
      sql`DELETE FROM outbox WHERE principal = ${principal} AND seq = ${seq}`.pipe(
        Effect.asVoid,
        mapSql("Cannot complete an outbox entry")
      ),
    markDead: (principal, seq, error, now) =>
      sql`UPDATE outbox SET status = 'dead', attempts = attempts + 1, last_error = ${encodeFailure(error)},
        updated_at = ${now} WHERE principal = ${principal} AND seq = ${seq}`.pipe(
        Effect.asVoid,
        retryBusy,
        mapSql("Cannot record a dead letter")
      ),
    recordAttempt: (principal, seq, error, now, counted) =>
      sql`UPDATE outbox SET attempts = attempts + ${counted ? 1 : 0}, last_error = ${encodeFailure(error)},
        updated_at = ${now} WHERE principal = ${principal} AND seq = ${seq}`.pipe(
        Effect.asVoid,
        retryBusy,
        mapSql("Cannot record an outbox attempt")
      ),
    // Own committed transaction, BEFORE the request goes out: after a crash, an interrupt, a lost
    // answer or a failed local commit, the entry still says it may have reached the server (and
    // since when), so an expired key is never resent blindly.
    markSent: (principal, seq, now) =>
      transaction(
        sql,
        "Cannot record an outbox attempt",
        sql`UPDATE outbox SET sends = sends + 1, first_sent_at = COALESCE(first_sent_at, ${now}), updated_at = ${now}
          WHERE principal = ${principal} AND seq = ${seq}`
      ).pipe(Effect.asVoid, Effect.withSpan("OutboxStore.markSent")),
    resolveLocal: (principal, localId, realId, now) =>
      Effect.all([
        sql`INSERT INTO id_map ${sql.insert({ principal, local_id: localId, real_id: realId, resolved_at: now })}
          ON CONFLICT (principal, local_id) DO UPDATE SET real_id = excluded.real_id, resolved_at = excluded.resolved_at`,
        sql`UPDATE outbox SET target_id = ${realId} WHERE principal = ${principal} AND target_id = ${localId}
          AND op IN ('update', 'delete')`
      ], { discard: true }).pipe(mapSql("Cannot resolve a provisional id")),
    cancelLocal: (principal, localId) =>
      sql<{ seq: number }>`DELETE FROM outbox WHERE principal = ${principal} AND status = 'pending'
        AND ((op = 'create' AND local_id = ${localId}) OR (op <> 'create' AND target_id = ${localId})) RETURNING seq`.pipe(
        Effect.map((rows) => rows.length),
        mapSql("Cannot cancel queued writes")
      ),
    resolve: (principal, localId) =>
      sql<{ real_id: string }>`SELECT real_id FROM id_map WHERE principal = ${principal} AND local_id = ${localId}`.pipe(
        Effect.map((rows) => Option.fromNullable(rows[0]?.real_id)),
        mapSql("Cannot resolve a provisional id"),
        Effect.withSpan("OutboxStore.resolve")
      ),
    // An old write cannot overwrite state written after it: a retried dead letter goes to the END
    // (MAX + 1, same key). An update whose create is dead brings the create back before it (it
    // cannot be sent without it); a create comes back alone: the updates that died with it stay
    // dead letters until they are retried themselves (a person may have discarded them meanwhile).
    retryDead: (principal, seq, now) =>
      transaction(sql, "Cannot retry a dead letter", Effect.gen(function*() {
        const found = yield* bySeq({ principal, seq })
        if (Option.isNone(found) || found.value.status !== "dead") return Option.none<number>()
        const entry = found.value
        const before = entry.op !== "create" && isLocalId(entry.target_id)
          ? seqs(yield* sql<{ seq: number }>`SELECT seq FROM outbox WHERE principal = ${principal}
              AND op = 'create' AND local_id = ${entry.target_id} AND status = 'dead'`)
          : []
        let moved = Option.none<number>()
        yield* claims.lockQueue(principal)
        for (const s of [...before, seq]) {
          const rows = yield* requeue(principal, s, now)
          if (s === seq) moved = Option.map(Option.fromNullable(rows[0]), (r) => Number(r.seq))
        }
        return moved
      })),
    discardDead: (principal, seq, now) =>
      transaction(sql, "Cannot discard a dead letter", Effect.gen(function*() {
        const found = yield* bySeq({ principal, seq })
        if (Option.isNone(found) || found.value.status !== "dead") return
        const localId = found.value.op === "create" ? found.value.local_id : null
        if (localId !== null) {
          const error = new DependencyFailed({
            localId,
            dependency: "Discarded",
            message: `The queued create of ${localId} was discarded`
          })
          yield* sql`UPDATE outbox SET status = 'dead', last_error = ${encodeFailure(error)}, updated_at = ${now}
            WHERE principal = ${principal} AND op <> 'create' AND target_id = ${localId}`
        }
        yield* sql`DELETE FROM outbox WHERE principal = ${principal} AND seq = ${seq} AND status = 'dead'`
      })),
    pendingFor: (principal, id) =>
      sql<{ n: number }>`SELECT COUNT(*) AS n FROM outbox WHERE principal = ${principal} AND status = 'pending'
        AND (target_id = ${id} OR target_id IN (SELECT local_id FROM id_map WHERE principal = ${principal} AND real_id = ${id}))`
        .pipe(Effect.map((rows) => Number(rows[0]?.n ?? 0)), mapSql("Cannot read the outbox")),
    queuedUpdates: (principal, id) =>
      sql<{ params: string }>`SELECT params FROM outbox WHERE principal = ${principal}
        AND target_id = ${id} AND op = 'update' AND status = 'pending' ORDER BY seq`.pipe(
        Effect.map((rows) => rows.flatMap((r) => Option.toArray(decodeUpdateParams(parseJson(r.params))))),
        mapSql("Cannot read the outbox")
      ),
    elsewhere: (principal) =>
      sql<{ principal: string; queued: number; dead: number }>`SELECT principal,
          COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS queued,
          COALESCE(SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END), 0) AS dead
        FROM outbox WHERE principal <> ${principal} GROUP BY principal ORDER BY principal`.pipe(
        Effect.map((rows) => rows.map((r) => ({ principal: r.principal, queued: Number(r.queued), deadLetters: Number(r.dead) }))),
        mapSql("Cannot read the outbox")
      ),
    adopt: (from, to) =>
      Effect.gen(function*() {
        const last = yield* sql<{ seq: number }>`SELECT COALESCE(MAX(seq), 0) AS seq FROM outbox WHERE principal = ${to}`
        // Every moved seq lands past `to`'s last one, in the same order.
        const moved = yield* sql<{ seq: number }>`UPDATE outbox SET principal = ${to}, seq = seq + ${Number(last[0]?.seq ?? 0)}
          WHERE principal = ${from} RETURNING seq`
        yield* sql`UPDATE id_map SET principal = ${to} WHERE principal = ${from}
          AND local_id NOT IN (SELECT local_id FROM id_map WHERE principal = ${to})`
        return moved.length
      }).pipe(mapSql("Cannot move outbox entries")),
    claim: (principal, worker, options) =>
      claims.claim(principal, worker, options).pipe(
        Effect.flatMap(decodeRows),
        Effect.map((rows) => rows.map(toEntry)),
        mapSql("Cannot claim outbox entries", "Decode"),
        Effect.withSpan("OutboxStore.claim")
      ),
    renewClaims: (principal, worker, ttlMillis) =>
      claims.renew(principal, worker, ttlMillis).pipe(mapSql("Cannot renew outbox claims")),
    releaseClaims: (principal, worker) => claims.release(principal, worker).pipe(mapSql("Cannot release outbox claims"))
  })
})

/** The outbox owner over the context's `SqlClient`. */
export const layer: Layer.Layer<OutboxStore, never, SqlClient.SqlClient> = Layer.effect(OutboxStore, make)

/** A principal named by a caller (a fingerprint included), checked. */
export const principalNamed = Schema.decodeUnknownEither(Principal)
