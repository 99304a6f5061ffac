/**
 * THE ONLY MODULE WITH DIALECT-SPECIFIC SQL (SQLite and PostgreSQL).
 *
 * Everything else in this package uses portable SQL (multi-row `INSERT … ON CONFLICT … DO UPDATE`,
 * `BIGINT`/`TEXT`/`INTEGER` columns, `LIMIT/OFFSET` parameters) that runs unchanged on both. The
 * dialect-specific parts are here:
 *
 * - connection PRAGMAs (busy timeout, synchronous mode; WAL is switched on by `internal/sqlite.ts`);
 *   nothing on PostgreSQL,
 * - the full-text index on title + description: FTS5 (virtual table + triggers) on SQLite; on
 *   PostgreSQL a generated `tsvector` column with a GIN index, through a text search configuration
 *   (`lf_search`: `simple` + `unaccent`) that matches FTS5's `unicode61 remove_diacritics 2`,
 * - the condition used by `query({ text })` (`MATCH` / `@@ to_tsquery`), and the FTS `rebuild`,
 * - `PRAGMA data_version` (noticing other connections' commits) and `PRAGMA optimize` / `ANALYZE`.
 *
 * (The connections themselves: `internal/sqlite.ts`, `internal/postgres.ts`.)
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import { Effect } from "effect"

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
    // The generated column follows title and description: a METADATA copy that replaces FULL
    // content drops the old terms with no trigger. Prefix queries (`to_tsquery('…':*)`) use the index.
    pg: () =>
      Effect.all([
        sql`CREATE EXTENSION IF NOT EXISTS unaccent`,
        sql`CREATE TEXT SEARCH CONFIGURATION lf_search (COPY = pg_catalog.simple)`,
        sql`ALTER TEXT SEARCH CONFIGURATION lf_search ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple`,
        sql`ALTER TABLE meetings ADD COLUMN search tsvector GENERATED ALWAYS AS
          (to_tsvector('lf_search', coalesce(title, '') || ' ' || coalesce(description, ''))) STORED`,
        sql`CREATE INDEX meetings_search ON meetings USING gin (search)`
      ], { discard: true }),
    orElse: () => Effect.void
  })

/** Re-derive the full-text index from `meetings` (used by `rebuild`; PostgreSQL's generated column needs none). */
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

/**
 * A PostgreSQL `tsquery` for `text`: every word a prefix term, all required, as `ftsQuery`. Words
 * hold only letters, digits and `_`, so quoting them needs no escaping and no tsquery syntax gets in.
 */
export const tsQuery = (text: string): string | undefined => {
  const words = searchWords(text)
  return words.length === 0 ? undefined : words.map((w) => `'${w}':*`).join(" & ")
}

/** `WHERE` fragment: the meeting row (alias `m`) matches the full text `text` (which has a word). */
export const fullTextCondition = (sql: SqlClient.SqlClient, text: string): Statement.Fragment =>
  sql.onDialectOrElse({
    pg: () => sql`m.search @@ to_tsquery('lf_search', ${tsQuery(text) ?? ""})`,
    orElse: () => sql`m.rowid IN (SELECT rowid FROM meetings_fts WHERE meetings_fts MATCH ${ftsQuery(text) ?? ""})`
  })

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

/**
 * How many rows THIS connection has changed since it opened (SQLite's `total_changes()`): with
 * `dataVersion`, which only moves for other connections' commits, it covers every write to the file.
 */
export const ownChanges = (sql: SqlClient.SqlClient): Effect.Effect<number | null, SqlError.SqlError> =>
  sql.onDialectOrElse({
    sqlite: () =>
      Effect.map(sql<{ n: number }>`SELECT total_changes() AS n`.withoutTransform, (rows) =>
        rows[0] === undefined ? null : Number(rows[0].n)),
    orElse: () => Effect.succeed(null)
  })

/** Refresh the planner's statistics after large changes (SQLite's `PRAGMA optimize`). */
export const optimize = (sql: SqlClient.SqlClient): Effect.Effect<void, SqlError.SqlError> =>
  sql.onDialectOrElse({
    sqlite: () => Effect.asVoid(sql.unsafe("PRAGMA optimize=0x10002")),
    pg: () => Effect.asVoid(sql`ANALYZE meetings, meeting_attendees`),
    orElse: () => Effect.void
  })
