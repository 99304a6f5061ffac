/**
 * The claim statements of the shared outbox, used only by its owner (`outboxStore.ts`). Several
 * instances on one PostgreSQL database replay one principal's queue at once; each entry is executed
 * by the one worker that claimed it:
 *
 * - a claim sets `claimed_by` (the worker) and `claimed_until` (epoch ms on the DATABASE's clock, so
 *   every host agrees) in one `UPDATE … WHERE seq IN (SELECT … FOR UPDATE SKIP LOCKED)`: two workers
 *   claiming at once never pick the same row, and a row claimed and committed meanwhile is re-checked
 *   and skipped;
 * - only the first pending entry of each meeting (`target_id`) is claimable: a later write to a
 *   meeting never overtakes an earlier one (a replayed create points its queued updates at the real
 *   id in the transaction that removes it, so they become claimable together);
 * - a worker renews its claims while it runs and gives them back when it ends; a worker that died
 *   holds them until `claimed_until`, then any other worker takes them (the entry's `first_sent_at`
 *   and idempotency key make that resend safe).
 *
 * Why claims with an expiry rather than row locks held in an open transaction: every send is
 * committed as sent BEFORE it goes out (`markSent`, its own transaction), which a transaction
 * holding the entry's row lock would block on. On SQLite (one writer) the same SQL runs without
 * `SKIP LOCKED` and on the application's clock; the SQLite replay does not use claims.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import { Clock, Effect } from "effect"
import type { Principal } from "../Principal.js"

/** The claim statements over `sql`; `columns` is the outbox row's column list. */
export const make = (sql: SqlClient.SqlClient, columns: string) => {
  /** Now in epoch milliseconds: the database's clock on PostgreSQL, the application's elsewhere. */
  const nowMillis = (appNow: number): Statement.Fragment =>
    sql.onDialectOrElse({
      pg: () => sql.literal("CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"),
      orElse: () => sql`${appNow}`
    })
  const skipLocked: Statement.Fragment = sql.onDialectOrElse({
    pg: () => sql.literal("FOR UPDATE SKIP LOCKED"),
    orElse: () => sql.literal("")
  })
  const withNow = <A>(f: (now: Statement.Fragment) => Effect.Effect<A, SqlError.SqlError>) =>
    Effect.flatMap(Clock.currentTimeMillis, (appNow) => f(nowMillis(appNow)))

  return {
    /**
     * Serialise appends to a principal's queue until the end of the caller's transaction (a new
     * `seq` is `MAX + 1`): a transaction-scoped advisory lock on PostgreSQL; SQLite has one writer.
     */
    lockQueue: (principal: Principal): Effect.Effect<void, SqlError.SqlError> =>
      sql.onDialectOrElse({
        pg: () => Effect.asVoid(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`lf-outbox:${principal}`}, 0))`),
        orElse: () => Effect.void
      }),
    claim: (
      principal: Principal,
      worker: string,
      options: { readonly limit: number; readonly ttlMillis: number }
    ): Effect.Effect<ReadonlyArray<unknown>, SqlError.SqlError> =>
      withNow((now) =>
        // The pick is a MATERIALIZED CTE, evaluated once: as `seq IN (subquery … LIMIT n SKIP LOCKED)`
        // PostgreSQL may run the subquery again per outer row, and each run skips the rows the
        // previous one locked, so more than `n` rows were claimed (seen: two with LIMIT 1).
        sql`WITH picked AS MATERIALIZED (
            SELECT c.seq AS picked_seq FROM outbox c
            WHERE c.principal = ${principal} AND c.status = 'pending'
              AND (c.claimed_until IS NULL OR c.claimed_until < ${now})
              AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.principal = c.principal AND p.target_id = c.target_id
                AND p.status = 'pending' AND p.seq < c.seq)
            ORDER BY c.seq LIMIT ${options.limit} ${skipLocked})
          UPDATE outbox SET claimed_by = ${worker}, claimed_until = ${now} + ${options.ttlMillis}
          FROM picked WHERE outbox.principal = ${principal} AND outbox.seq = picked.picked_seq
          RETURNING ${sql.literal(columns)}`
      ).pipe(Effect.map((rows) => [...rows].sort((a, b) => Number(a["seq"]) - Number(b["seq"])))),
    renew: (principal: Principal, worker: string, ttlMillis: number): Effect.Effect<void, SqlError.SqlError> =>
      withNow((now) =>
        Effect.asVoid(sql`UPDATE outbox SET claimed_until = ${now} + ${ttlMillis}
          WHERE principal = ${principal} AND claimed_by = ${worker} AND status = 'pending'`)
      ),
    release: (principal: Principal, worker: string): Effect.Effect<void, SqlError.SqlError> =>
      Effect.asVoid(sql`UPDATE outbox SET claimed_by = NULL, claimed_until = NULL
        WHERE principal = ${principal} AND claimed_by = ${worker}`)
  }
}
