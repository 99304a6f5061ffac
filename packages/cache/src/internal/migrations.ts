/**
 * Versioned, forward-only migrations for `Migrator.make({})` + `Migrator.fromRecord`. Applied ids
 * are never edited: a schema change is a new entry with the next number.
 *
 * The SQL is portable (SQLite and PostgreSQL): epoch-millisecond `BIGINT` timestamps, `INTEGER`
 * 0/1 flags, JSON as `TEXT`, composite primary keys that always start with `principal`. The only
 * dialect-specific migration is the full-text index, delegated to `dialect.ts`.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Migrator from "@effect/sql/Migrator"
import { Effect } from "effect"
import { CacheError } from "../CacheError.js"
import * as ChangeNotices from "./changeNotices.js"
import * as Dialect from "./dialect.js"
import { busySchedule, fromCause, isBusy } from "./sql.js"

const createMeetings = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE meetings (
    principal TEXT NOT NULL,
    id TEXT NOT NULL,
    title TEXT,
    description TEXT,
    start_date BIGINT,
    end_date BIGINT,
    organizer TEXT,
    access_level TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT,
    fetched_at BIGINT NOT NULL,
    written_at BIGINT,
    pending INTEGER NOT NULL DEFAULT 0,
    gone INTEGER NOT NULL DEFAULT 0,
    seen_scan TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (principal, id)
  )`
  // Each index ends with (start_date, id): the filtered rows come out in the query's order.
  yield* sql`CREATE INDEX meetings_by_start ON meetings (principal, start_date, id)`
  yield* sql`CREATE INDEX meetings_by_organizer ON meetings (principal, organizer, start_date, id)`
  yield* sql`CREATE INDEX meetings_by_access ON meetings (principal, access_level, start_date, id)`
  yield* sql`CREATE INDEX meetings_by_created ON meetings (principal, created_at, id)`
  yield* sql`CREATE TABLE meeting_attendees (
    principal TEXT NOT NULL,
    meeting_id TEXT NOT NULL,
    email TEXT NOT NULL,
    PRIMARY KEY (principal, meeting_id, email)
  )`
  yield* sql`CREATE INDEX meeting_attendees_by_email ON meeting_attendees (principal, email, meeting_id)`
  yield* sql`CREATE TABLE sync_state (
    principal TEXT NOT NULL,
    scan_id TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    last_complete_at BIGINT,
    pages INTEGER NOT NULL DEFAULT 0,
    items INTEGER NOT NULL DEFAULT 0,
    interrupted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (principal)
  )`
})

const createOutbox = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE outbox (
    principal TEXT NOT NULL,
    seq BIGINT NOT NULL,
    op TEXT NOT NULL,
    target_id TEXT NOT NULL,
    local_id TEXT,
    idempotency_key TEXT NOT NULL,
    params TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (principal, seq)
  )`
  yield* sql`CREATE INDEX outbox_by_status ON outbox (principal, status, seq)`
  yield* sql`CREATE TABLE id_map (
    principal TEXT NOT NULL,
    local_id TEXT NOT NULL,
    real_id TEXT NOT NULL,
    resolved_at BIGINT NOT NULL,
    PRIMARY KEY (principal, local_id)
  )`
})

const createFullText = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* Dialect.createFullTextIndex(sql)
})

/** Read counters per principal, so a hit ratio survives the process (flushed when the service closes). */
const createReadStats = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE read_stats (
    principal TEXT NOT NULL,
    hits BIGINT NOT NULL DEFAULT 0,
    misses BIGINT NOT NULL DEFAULT 0,
    stale BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (principal)
  )`
})

/**
 * A lease on the sync of each principal, so scans are serialised across connections and processes:
 * a scan holds it until `lease_until` (renewed with every stored batch) and releases it when it ends.
 * `lease_owner` (`host/pid`) lets a process on the same host take over at once from a dead holder.
 */
const addSyncLease = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE sync_state ADD COLUMN lease_until BIGINT`
  yield* sql`ALTER TABLE sync_state ADD COLUMN lease_owner TEXT`
})

/**
 * Every send of an outbox entry is recorded (and committed) before the request goes out: `sends`
 * counts them and `first_sent_at` is when the server may first have seen the idempotency key. An
 * entry first sent more than the key's lifetime ago is never sent again blindly. Entries that
 * failed before this migration (a `last_error`) count as sent at their queue time.
 */
const addOutboxSends = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE outbox ADD COLUMN sends INTEGER NOT NULL DEFAULT 0`
  yield* sql`ALTER TABLE outbox ADD COLUMN first_sent_at BIGINT`
  yield* sql`UPDATE outbox SET sends = 1, first_sent_at = created_at WHERE last_error IS NOT NULL`
})

/** Pages in the API's order (createdAt desc, then id asc: spec §14 #9) read straight off an index. */
const indexApiOrder = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX meetings_by_api_order ON meetings (principal, created_at DESC, id ASC)`
  yield* sql`DROP INDEX IF EXISTS meetings_by_created`
})

/**
 * Deleted meetings (spec §3.5): `deleted = 1` marks a tombstone whose content is purged. No server
 * copy (scan, fetch or write) ever overwrites it and a rebuild keeps it, so a delete queued offline
 * or done through this cache is never undone by a later sync.
 */
const addMeetingDeleted = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE meetings ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0`
})

/** The steps of transcript uploads (core's `TranscriptJournal`), per principal and run key: owned by `TranscriptSteps`. */
const createTranscriptJournal = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE transcript_journal (
    principal TEXT NOT NULL,
    run_key TEXT NOT NULL,
    step TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (principal, run_key)
  )`
})

/**
 * Claims on outbox entries, so several instances sharing one PostgreSQL database replay one queue
 * with each entry executed once (`outboxClaims.ts`): who holds an entry and until when (epoch ms on
 * the database's clock). The index serves the per-meeting order check of a claim.
 */
const addOutboxClaims = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE outbox ADD COLUMN claimed_by TEXT`
  yield* sql`ALTER TABLE outbox ADD COLUMN claimed_until BIGINT`
  yield* sql`CREATE INDEX outbox_by_target ON outbox (principal, target_id, seq)`
})

/** Change notices of the `meetings` table to other instances (PostgreSQL only: `changeNotices.ts`). */
const notifyMeetingChanges = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* ChangeNotices.createTriggers(sql)
})

/** All migrations, keyed `NNNN_name` as `Migrator.fromRecord` expects. Append only. */
export const migrations: Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>> = {
  "0001_create_meetings": createMeetings,
  "0002_create_outbox": createOutbox,
  "0003_create_full_text": createFullText,
  "0004_create_read_stats": createReadStats,
  "0005_add_sync_lease": addSyncLease,
  "0006_add_outbox_sends": addOutboxSends,
  "0007_index_api_order": indexApiOrder,
  "0008_add_meeting_deleted": addMeetingDeleted,
  "0009_create_transcript_journal": createTranscriptJournal,
  "0010_add_outbox_claims": addOutboxClaims,
  "0011_notify_meeting_changes": notifyMeetingChanges
}

/** The migrations table (the `@effect/sql` default). */
export const migrationsTable = "effect_sql_migrations"

const latestMigration = Math.max(...Object.keys(migrations).map((key) => Number(key.split("_")[0])))

/**
 * After the Migrator: is the schema at the latest version? The Migrator treats a lost race for its
 * table as "another connection is migrating" and returns without waiting; this check turns that
 * into a `Busy` failure, retried until the other connection has committed.
 */
const ensureLatest = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ id: number | null }>`SELECT MAX(migration_id) AS id FROM ${sql(migrationsTable)}`.withoutTransform
  const applied = Number(rows[0]?.id ?? 0)
  if (applied < latestMigration) {
    return yield* new CacheError({
      reason: "Busy",
      message: `Another connection is migrating the cache (at ${applied}, expected ${latestMigration})`
    })
  }
})

/**
 * On PostgreSQL, the migrations table is created before the Migrator runs, under a transaction-level
 * advisory lock: the Migrator's own `CREATE TABLE` (run when its `regclass` probe fails, outside any
 * transaction) races on a fresh database, and the losers fail with a unique violation (23505). Once
 * the table exists the Migrator serialises the migrations itself (`LOCK TABLE … ACCESS EXCLUSIVE`).
 * The columns are the ones the Migrator creates.
 */
const ensureMigrationsTable = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql.onDialectOrElse({
    pg: () =>
      sql.withTransaction(Effect.asVoid(Effect.zipRight(
        sql`SELECT pg_advisory_xact_lock(hashtextextended(${migrationsTable}, 0))`,
        sql`CREATE TABLE IF NOT EXISTS ${sql(migrationsTable)} (
          migration_id integer PRIMARY KEY,
          created_at timestamp with time zone NOT NULL DEFAULT now(),
          name text NOT NULL
        )`
      ))),
    orElse: () => Effect.void
  }))

/** Run the migrations with `@effect/sql`'s generic Migrator (needs only `SqlClient`). */
export const migrate: Effect.Effect<ReadonlyArray<readonly [number, string]>, CacheError, SqlClient.SqlClient> = Migrator
  .make({})({ loader: Migrator.fromRecord(migrations), table: migrationsTable })
  .pipe(
    (run) => Effect.zipRight(ensureMigrationsTable, run),
    Effect.tap(() => ensureLatest),
    Effect.retry({ schedule: busySchedule, while: isBusy }),
    Effect.catchAllDefect((defect) => Effect.fail(fromCause(defect, "Migration", "A cache migration failed"))),
    Effect.mapError((e) => (e instanceof CacheError ? e : fromCause(e, "Migration", "Cache migrations failed"))),
    Effect.withSpan("Database.migrate")
  )
