/**
 * The owner of the `sync_state` table: per principal, the current scan (started, finished, pages,
 * items, interrupted scans) and the sync lease that serialises scans across connections and
 * processes. Rows are read through `SqlSchema` with the row's Schema.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { Context, Effect, Layer, Option, Schema } from "effect"
import type { CacheError } from "../CacheError.js"
import type { Principal } from "../Principal.js"
import type { SyncState } from "../Sync.js"
import { mapSql, transaction } from "./sql.js"

/** Who holds a principal's lease now. */
export interface LeaseHolder {
  readonly scanId: string
  readonly owner: string | null
  readonly until: number
}

export interface SyncStateStoreShape {
  readonly get: (principal: Principal) => Effect.Effect<Option.Option<SyncState>, CacheError>
  /** The id of the scan running now (started, not finished), if any. */
  readonly runningScan: (principal: Principal) => Effect.Effect<string | null, CacheError>
  /**
   * Record the start of a scan and take the lease until `leaseUntil`; an unfinished previous scan
   * counts as interrupted. False (and nothing changed) while another scan holds an unexpired lease.
   */
  readonly start: (
    principal: Principal,
    scanId: string,
    now: number,
    leaseUntil: number,
    owner: string | null
  ) => Effect.Effect<boolean, CacheError>
  /** The scan holding the lease now (unfinished, lease not released), if any. */
  readonly leaseHolder: (principal: Principal) => Effect.Effect<Option.Option<LeaseHolder>, CacheError>
  /** Give up the lease of a scan that ends without finishing. */
  readonly release: (principal: Principal, scanId: string) => Effect.Effect<void, CacheError>
  /** Record progress and renew the lease (in the batch's transaction); false when another scan took over. */
  readonly recordProgress: (
    principal: Principal,
    scanId: string,
    progress: { readonly pages: number; readonly items: number; readonly leaseUntil: number }
  ) => Effect.Effect<boolean, CacheError>
  /** Record a complete scan as finished, releasing the lease (in the reconcile's transaction); false when not current. */
  readonly finish: (principal: Principal, scanId: string, now: number) => Effect.Effect<boolean, CacheError>
  /** Forget the principal's sync state (in the rebuild's transaction). */
  readonly clear: (principal: Principal) => Effect.Effect<void, CacheError>
}

export class SyncStateStore extends Context.Tag("@lightfield-effect/cache/internal/SyncStateStore")<
  SyncStateStore,
  SyncStateStoreShape
>() {}

const SyncStateRow = Schema.Struct({
  scan_id: Schema.String,
  started_at: Schema.Number,
  finished_at: Schema.NullOr(Schema.Number),
  last_complete_at: Schema.NullOr(Schema.Number),
  pages: Schema.Number,
  items: Schema.Number,
  interrupted: Schema.Number
})

const LeaseRow = Schema.Struct({
  scan_id: Schema.String,
  lease_owner: Schema.NullOr(Schema.String),
  lease_until: Schema.Number
})

const ByPrincipal = Schema.Struct({ principal: Schema.String })

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const findState = SqlSchema.findOne({
    Request: ByPrincipal,
    Result: SyncStateRow,
    execute: (r) =>
      sql`SELECT scan_id, started_at, finished_at, last_complete_at, pages, items, interrupted FROM sync_state
        WHERE principal = ${r.principal}`
  })
  const findLease = SqlSchema.findOne({
    Request: ByPrincipal,
    Result: LeaseRow,
    execute: (r) =>
      sql`SELECT scan_id, lease_owner, lease_until FROM sync_state
        WHERE principal = ${r.principal} AND finished_at IS NULL AND lease_until IS NOT NULL`
  })

  return SyncStateStore.of({
    get: (principal) =>
      findState({ principal }).pipe(
        Effect.map(Option.map((row): SyncState => ({
          scanId: row.scan_id,
          startedAt: row.started_at,
          finishedAt: row.finished_at,
          lastCompleteAt: row.last_complete_at,
          pages: row.pages,
          items: row.items,
          interrupted: row.interrupted
        }))),
        mapSql("Cannot read sync state", "Decode")
      ),
    runningScan: (principal) =>
      sql<{ scan_id: string }>`SELECT scan_id FROM sync_state WHERE principal = ${principal} AND finished_at IS NULL`.pipe(
        Effect.map((rows) => rows[0]?.scan_id ?? null),
        mapSql("Cannot read sync state")
      ),
    start: (principal, scanId, now, leaseUntil, owner) =>
      transaction(
        sql,
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
      ).pipe(Effect.map((rows) => rows.length > 0)),
    leaseHolder: (principal) =>
      findLease({ principal }).pipe(
        Effect.map(Option.map((row) => ({ scanId: row.scan_id, owner: row.lease_owner, until: row.lease_until }))),
        mapSql("Cannot read sync state", "Decode")
      ),
    release: (principal, scanId) =>
      transaction(
        sql,
        "Cannot release the sync lease",
        sql`UPDATE sync_state SET lease_until = NULL WHERE principal = ${principal} AND scan_id = ${scanId}`
      ).pipe(Effect.asVoid),
    // The progress update goes first in a batch: it takes the write lock and checks the scan is current.
    recordProgress: (principal, scanId, progress) =>
      sql<{ scan_id: string }>`UPDATE sync_state SET pages = ${progress.pages}, items = ${progress.items},
          lease_until = ${progress.leaseUntil}
        WHERE principal = ${principal} AND scan_id = ${scanId} RETURNING scan_id`.pipe(
        Effect.map((rows) => rows.length > 0),
        mapSql("Cannot record sync progress")
      ),
    finish: (principal, scanId, now) =>
      sql<{ scan_id: string }>`UPDATE sync_state SET finished_at = ${now}, last_complete_at = ${now}, interrupted = 0,
          lease_until = NULL
        WHERE principal = ${principal} AND scan_id = ${scanId} RETURNING scan_id`.pipe(
        Effect.map((rows) => rows.length > 0),
        mapSql("Cannot reconcile the scan")
      ),
    clear: (principal) =>
      sql`DELETE FROM sync_state WHERE principal = ${principal}`.pipe(Effect.asVoid, mapSql("Cannot clear the sync state"))
  })
})

/** The sync state owner over the context's `SqlClient`. */
export const layer: Layer.Layer<SyncStateStore, never, SqlClient.SqlClient> = Layer.effect(SyncStateStore, make)
