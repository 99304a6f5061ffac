/**
 * The baseline, written the obvious way: global `fetch`, `JSON.parse`, one better-sqlite3 prepared
 * upsert per meeting inside one transaction per page, the same page concurrency as the library,
 * into its own file with a comparable schema (id primary key + the JSON + a few indexed columns).
 */
import Database from "better-sqlite3"

export interface WireField {
  readonly value: unknown
}

export interface WireMeeting {
  readonly id: string
  readonly createdAt: string
  readonly fields: Readonly<Record<string, WireField | undefined>>
}

interface WirePage {
  readonly data: ReadonlyArray<WireMeeting>
  readonly totalCount: number
}

export const openBaseline = (filename: string): Database.Database => {
  const db = new Database(filename)
  db.pragma("journal_mode = WAL")
  db.pragma("synchronous = NORMAL")
  db.exec(`CREATE TABLE IF NOT EXISTS meetings (
    id TEXT PRIMARY KEY,
    json TEXT NOT NULL,
    start_date INTEGER,
    organizer TEXT,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS meetings_by_start ON meetings (start_date);
  CREATE INDEX IF NOT EXISTS meetings_by_organizer ON meetings (organizer, start_date);
  CREATE INDEX IF NOT EXISTS meetings_by_created ON meetings (created_at, id);`)
  return db
}

const stringField = (m: WireMeeting, key: string): string | null => {
  const value = m.fields[key]?.value
  return typeof value === "string" ? value : null
}

export interface BaselineSyncOptions {
  readonly baseUrl: string
  readonly apiKey: string
  readonly filename: string
  /** Pages in flight at once. */
  readonly concurrency: number
  readonly pageSize?: number
}

export interface BaselineSyncResult {
  readonly pages: number
  readonly stored: number
  readonly elapsedMs: number
}

/**
 * The baseline's crawl, shared by the SQLite and PostgreSQL baselines: global `fetch`, `JSON.parse`,
 * the first page, then the other offsets with `concurrency` pages in flight; each page goes to
 * `store` as soon as it arrives. Answers the pages fetched.
 */
export const crawl = async (
  options: Pick<BaselineSyncOptions, "baseUrl" | "apiKey" | "concurrency" | "pageSize">,
  store: (meetings: ReadonlyArray<WireMeeting>) => void | Promise<void>
): Promise<number> => {
  const limit = options.pageSize ?? 25
  const headers = {
    authorization: `Bearer ${options.apiKey}`,
    "lightfield-version": "2026-03-01",
    accept: "application/json"
  }
  const fetchPage = async (offset: number): Promise<WirePage> => {
    const res = await fetch(`${options.baseUrl}/v1/meetings?limit=${limit}&offset=${offset}`, { headers })
    const text = await res.text()
    if (!res.ok) throw new Error(`GET /v1/meetings offset ${offset}: HTTP ${res.status} ${text.slice(0, 200)}`)
    return JSON.parse(text) as WirePage
  }

  const first = await fetchPage(0)
  await store(first.data)
  let pages = 1
  const offsets: Array<number> = []
  for (let offset = limit; offset < first.totalCount; offset += limit) offsets.push(offset)
  let next = 0
  const worker = async () => {
    while (next < offsets.length) {
      const offset = offsets[next++]!
      const page = await fetchPage(offset)
      await store(page.data)
      pages++
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker))
  return pages
}

/** The indexed columns of a meeting, as both baselines store them. */
export const columnsOf = (m: WireMeeting) => {
  const start = stringField(m, "$startDate")
  return {
    startDate: start === null ? null : Date.parse(start),
    organizer: stringField(m, "$organizerEmail")?.toLowerCase() ?? null,
    createdAt: Date.parse(m.createdAt)
  }
}

/** The baseline's store: one prepared upsert per meeting, one transaction per page. */
export const pageStore = (db: Database.Database): (meetings: ReadonlyArray<WireMeeting>) => void => {
  const upsert = db.prepare(`INSERT INTO meetings (id, json, start_date, organizer, created_at)
      VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET json = excluded.json, start_date = excluded.start_date,
        organizer = excluded.organizer, created_at = excluded.created_at`)
  return db.transaction((meetings: ReadonlyArray<WireMeeting>) => {
    for (const m of meetings) {
      const c = columnsOf(m)
      upsert.run(m.id, JSON.stringify(m), c.startDate, c.organizer, c.createdAt)
    }
  })
}

export const syncBaseline = async (options: BaselineSyncOptions): Promise<BaselineSyncResult> => {
  const started = performance.now()
  const db = openBaseline(options.filename)
  try {
    const pages = await crawl(options, pageStore(db))
    const row = db.prepare("SELECT COUNT(*) AS n FROM meetings").get() as { n: number }
    return { pages, stored: row.n, elapsedMs: performance.now() - started }
  } finally {
    db.close()
  }
}

export interface BaselineReader {
  readonly get: (id: string) => WireMeeting | undefined
  readonly ids: () => Array<string>
  readonly close: () => void
}

/** A retrieve by id the obvious way: a prepared `get` and `JSON.parse`. */
export const baselineReader = (filename: string): BaselineReader => {
  const db = new Database(filename, { readonly: true })
  const stmt = db.prepare<[string], { json: string }>("SELECT json FROM meetings WHERE id = ?")
  return {
    get: (id: string): WireMeeting | undefined => {
      const row = stmt.get(id)
      return row === undefined ? undefined : (JSON.parse(row.json) as WireMeeting)
    },
    ids: (): Array<string> => db.prepare<[], { id: string }>("SELECT id FROM meetings").all().map((r) => r.id),
    close: () => db.close()
  }
}
