/**
 * The PostgreSQL baseline, written the obvious way with plain `pg`: the same crawl as the SQLite
 * baseline (global `fetch`, `JSON.parse`, the same page concurrency), each page written as one
 * multi-row `INSERT … ON CONFLICT (id) DO UPDATE` in its own transaction, over a pool of as many
 * connections as pages in flight, into a table like the SQLite baseline's (id primary key, the
 * JSON, three indexed columns).
 */
import pg from "pg"
import type { BaselineSyncOptions, BaselineSyncResult, WireMeeting } from "./Baseline.js"
import { columnsOf, crawl } from "./Baseline.js"

export interface PgBaselineOptions extends Omit<BaselineSyncOptions, "filename"> {
  /** `postgres://…/<database>` of a database of its own (the table is created in it). */
  readonly url: string
}

const schema = `CREATE TABLE IF NOT EXISTS baseline_meetings (
    id TEXT PRIMARY KEY,
    json TEXT NOT NULL,
    start_date BIGINT,
    organizer TEXT,
    created_at BIGINT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS baseline_by_start ON baseline_meetings (start_date);
  CREATE INDEX IF NOT EXISTS baseline_by_organizer ON baseline_meetings (organizer, start_date);
  CREATE INDEX IF NOT EXISTS baseline_by_created ON baseline_meetings (created_at, id);`

export const syncPgBaseline = async (options: PgBaselineOptions): Promise<BaselineSyncResult> => {
  const started = performance.now()
  const pool = new pg.Pool({ connectionString: options.url, max: Math.max(1, options.concurrency) })
  // An idle client the server ends (the scratch database dropped WITH (FORCE) while pool.end() is
  // still closing it) emits 'error' on the pool: without a listener that crashed the whole bench.
  pool.on("error", () => undefined)
  try {
    await pool.query(schema)
    const storePage = async (meetings: ReadonlyArray<WireMeeting>) => {
      if (meetings.length === 0) return
      const values: Array<unknown> = []
      const rows = meetings.map((m, i) => {
        const c = columnsOf(m)
        values.push(m.id, JSON.stringify(m), c.startDate, c.organizer, c.createdAt)
        const p = i * 5
        return `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5})`
      })
      const client = await pool.connect()
      try {
        await client.query("BEGIN")
        await client.query(
          `INSERT INTO baseline_meetings (id, json, start_date, organizer, created_at) VALUES ${rows.join(", ")}
           ON CONFLICT (id) DO UPDATE SET json = excluded.json, start_date = excluded.start_date,
             organizer = excluded.organizer, created_at = excluded.created_at`,
          values
        )
        await client.query("COMMIT")
      } catch (e) {
        await client.query("ROLLBACK").catch(() => undefined)
        throw e
      } finally {
        client.release()
      }
    }
    const pages = await crawl(options, storePage)
    const counted = await pool.query<{ n: string }>("SELECT count(*) AS n FROM baseline_meetings")
    return { pages, stored: Number(counted.rows[0]!.n), elapsedMs: performance.now() - started }
  } finally {
    await pool.end()
  }
}

/** A database of its own on the server at `adminUrl` (…/postgres), dropped by the returned `drop`. */
export const scratchDatabase = async (
  adminUrl: string,
  label: string
): Promise<{ readonly url: string; readonly drop: () => Promise<void> }> => {
  const name = `lf_bench_${label}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE "${name}"`)
  } finally {
    await admin.end()
  }
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl })
      await c.connect()
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
      } finally {
        await c.end()
      }
    }
  }
}

/** Whether PostgreSQL answers at `adminUrl`. */
export const reachable = async (adminUrl: string): Promise<boolean> => {
  const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3_000 })
  try {
    await c.connect()
    await c.query("SELECT 1")
    return true
  } catch {
    return false
  } finally {
    await c.end().catch(() => undefined)
  }
}
