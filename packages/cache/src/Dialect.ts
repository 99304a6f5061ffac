/**
 * THE ONLY MODULE WITH SQLITE-SPECIFIC SQL.
 *
 * Everything else in this package uses portable SQL (multi-row `INSERT … ON CONFLICT … DO UPDATE`,
 * `BIGINT`/`TEXT`/`INTEGER` columns, `LIMIT/OFFSET` parameters) that runs unchanged on PostgreSQL
 * through `@effect/sql-pg`. The SQLite-only parts are here:
 *
 * - connection PRAGMAs (busy timeout, synchronous mode; WAL is switched on by `SqliteClient`),
 * - the FTS5 full-text index on title + description (virtual table + triggers),
 * - the `MATCH` condition used by `query({ text })`, and the FTS `rebuild` command,
 * - `PRAGMA data_version` (noticing other connections' commits) and `PRAGMA optimize`,
 * - the native connection (`NativeSqlite`): a synchronous better-sqlite3 handle on the same file that
 *   the repo uses, when present, for cached reads by id and sync batches.
 *
 * A PostgreSQL backend replaces these with: nothing for the PRAGMAs, a generated `tsvector` column +
 * GIN index for the full-text index, and `to_tsvector(...) @@ plainto_tsquery($1)` for the condition.
 */
import type { SqlClient, SqlError, Statement } from "@effect/sql"
import BetterSqlite from "better-sqlite3"
import { Context, Effect, Option } from "effect"
import type { Scope } from "effect"

export interface ConnectionOptions {
  /** How long a statement waits for another connection's lock before failing (ms). */
  readonly busyTimeoutMillis: number
  /** `NORMAL` is durable in WAL mode except on power loss; `FULL` syncs every commit. */
  readonly synchronous: "NORMAL" | "FULL"
}

/** PRAGMAs run once per connection, before the migrations. */
export const configureConnection = (
  sql: SqlClient.SqlClient,
  options: ConnectionOptions
): Effect.Effect<void, SqlError.SqlError> =>
  sql.onDialectOrElse({
    sqlite: () =>
      Effect.all([
        sql.unsafe(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMillis))}`),
        sql.unsafe(`PRAGMA synchronous = ${options.synchronous}`),
        sql.unsafe("PRAGMA temp_store = MEMORY")
      ], { discard: true }),
    orElse: () => Effect.void
  })

/**
 * Migration body for the full-text index: an FTS5 table with external content (`meetings`), kept in
 * step by triggers. The index therefore never holds text the `meetings` row no longer has: when a
 * METADATA copy replaces FULL content, the update trigger deletes the old terms.
 */
export const createFullTextIndex = (sql: SqlClient.SqlClient): Effect.Effect<void, SqlError.SqlError> =>
  sql.onDialectOrElse({
    sqlite: () =>
      Effect.all([
        sql`CREATE VIRTUAL TABLE meetings_fts USING fts5(
          title, description, content='meetings', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2'
        )`,
        sql`CREATE TRIGGER meetings_fts_insert AFTER INSERT ON meetings BEGIN
          INSERT INTO meetings_fts(rowid, title, description) VALUES (new.rowid, new.title, new.description);
        END`,
        sql`CREATE TRIGGER meetings_fts_delete AFTER DELETE ON meetings BEGIN
          INSERT INTO meetings_fts(meetings_fts, rowid, title, description)
          VALUES ('delete', old.rowid, old.title, old.description);
        END`,
        sql`CREATE TRIGGER meetings_fts_update AFTER UPDATE OF title, description ON meetings
          WHEN old.title IS NOT new.title OR old.description IS NOT new.description BEGIN
          INSERT INTO meetings_fts(meetings_fts, rowid, title, description)
          VALUES ('delete', old.rowid, old.title, old.description);
          INSERT INTO meetings_fts(rowid, title, description) VALUES (new.rowid, new.title, new.description);
        END`
      ], { discard: true }),
    orElse: () => Effect.void
  })

/** Re-derive the full-text index from `meetings` (used by `rebuild`). */
export const rebuildFullTextIndex = (sql: SqlClient.SqlClient): Effect.Effect<void, SqlError.SqlError> =>
  sql.onDialectOrElse({
    sqlite: () => Effect.asVoid(sql`INSERT INTO meetings_fts(meetings_fts) VALUES ('rebuild')`),
    orElse: () => Effect.void
  })

/**
 * Turn free text into an FTS5 query: every word must occur (prefix match on each), quotes escaped,
 * so user input can never inject FTS syntax. `None` when there is no word in the input.
 */
export const ftsQuery = (text: string): string | undefined => {
  const words = searchWords(text)
  if (words.length === 0) return undefined
  return words.map((w) => `"${w.replaceAll("\"", "\"\"")}"*`).join(" ")
}

/** The words of a full-text query (what `ftsQuery` turns into terms). */
export const searchWords = (text: string): ReadonlyArray<string> =>
  text.split(/[^\p{L}\p{N}_]+/u).filter((w) => w.length > 0)

/** `WHERE` fragment: the meeting row (alias `m`) matches the full-text query. */
export const fullTextCondition = (sql: SqlClient.SqlClient, query: string): Statement.Fragment =>
  sql`m.rowid IN (SELECT rowid FROM meetings_fts WHERE meetings_fts MATCH ${query})`

/**
 * A number that changes whenever ANOTHER connection commits to the database file (SQLite's
 * `PRAGMA data_version`); `null` where there is no such thing. Lets the in-memory hot set notice
 * writes made through other connections.
 */
export const dataVersion = (sql: SqlClient.SqlClient): Effect.Effect<number | null, SqlError.SqlError> =>
  sql.onDialectOrElse({
    sqlite: () =>
      Effect.map(sql<{ data_version: number }>`PRAGMA data_version`.withoutTransform, (rows) =>
        rows[0] === undefined ? null : Number(rows[0].data_version)),
    orElse: () => Effect.succeed(null)
  })

/** Refresh the planner's statistics after large changes (SQLite's `PRAGMA optimize`). */
export const optimize = (sql: SqlClient.SqlClient): Effect.Effect<void, SqlError.SqlError> =>
  sql.onDialectOrElse({
    sqlite: () => Effect.asVoid(sql.unsafe("PRAGMA optimize=0x10002")),
    orElse: () => Effect.void
  })

// ---------------------------------------------------------------------------------------------
// Native SQLite fast path
// ---------------------------------------------------------------------------------------------

/** A prepared statement of the native connection (positional `?` parameters). */
export interface NativeStatement {
  readonly get: (...params: ReadonlyArray<unknown>) => unknown
  readonly run: (...params: ReadonlyArray<unknown>) => { readonly changes: number }
}

/**
 * A second, synchronous connection to the same SQLite file (better-sqlite3), for the two paths where
 * `@effect/sql`'s per-statement cost dominates: the cached read by id (a span, a compile and a
 * prepared-statement `Cache` lookup per call cost ~5x the query itself) and the bulk upsert of a
 * sync (tens of thousands of statements). WAL lets it read while the main connection writes; its
 * writes take the same file lock, so lock contention surfaces as `SQLITE_BUSY` and is retried like
 * any other write. Only file databases get one (`:memory:` is private to its connection), and only
 * on SQLite: elsewhere the repo keeps its portable `@effect/sql` path.
 */
export interface NativeSqlite {
  /** Prepared once, cached for the life of the connection. */
  readonly prepare: (sql: string) => NativeStatement
  /** Run `body` in one `BEGIN IMMEDIATE` transaction (rolled back if it throws). */
  readonly immediate: <A>(body: () => A) => A
}

export class NativeSqliteConnection extends Context.Tag("@lightfield-effect/cache/Dialect/NativeSqlite")<
  NativeSqliteConnection,
  NativeSqlite
>() {}

/** Open the native connection to a file database (closed with the scope); `None` for `:memory:`. */
export const openNative = (
  filename: string,
  options: ConnectionOptions
): Effect.Effect<Option.Option<NativeSqlite>, unknown, Scope.Scope> => {
  if (filename === ":memory:" || filename === "" || filename.startsWith("file:")) return Effect.succeed(Option.none())
  return Effect.acquireRelease(
    Effect.try(() => {
      const db = new BetterSqlite(filename)
      // The main connection already switched the file to WAL and ran the migrations.
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMillis))}`)
      db.pragma(`synchronous = ${options.synchronous}`)
      db.pragma("temp_store = MEMORY")
      return db
    }),
    (db) => Effect.sync(() => db.close())
  ).pipe(
    Effect.map((db) => {
      const statements = new Map<string, NativeStatement>()
      const prepare = (sql: string): NativeStatement => {
        let statement = statements.get(sql)
        if (statement === undefined) {
          statement = db.prepare<Array<unknown>>(sql)
          statements.set(sql, statement)
        }
        return statement
      }
      const immediate = <A>(body: () => A): A => db.transaction(body).immediate()
      return Option.some<NativeSqlite>({ prepare, immediate })
    })
  )
}
