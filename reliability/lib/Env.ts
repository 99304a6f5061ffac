/**
 * Test-side building blocks: temp folders, the sandbox, HTTP clients and caches built in the
 * current scope (real undici over loopback, real SQLite files), what the sandbox serves a key, what
 * the cache serves and stores for a key, and direct SQLite inspection with better-sqlite3.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { Database, MeetingsCache, Principal } from "@lightfield-effect/cache"
import type { CacheError } from "@lightfield-effect/cache"
import type { Meeting, MeetingsConfig, MeetingsError } from "@lightfield-effect/core"
import { Meetings, MeetingsClient } from "@lightfield-effect/core"
import { Sandbox } from "@lightfield-effect/sandbox"
import Sqlite from "better-sqlite3"
import { Chunk, Context, Duration, Effect, Layer, Redacted, Stream } from "effect"
import type { Scope } from "effect"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** A temp folder removed (with every SQLite file in it) when the scope closes. */
export const tempDir = (prefix: string): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), `lf-reliability-${prefix}-`))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

/** A sandbox on loopback for this scope; rate limiting off unless asked for. */
export const sandbox = (options: Sandbox.SandboxOptions = {}) => Sandbox.make({ rateLimit: false, legacyFileIds: true, ...options })

export type ClientOptions = Omit<MeetingsConfig.Options, "apiKey">

const clientLayer = (baseUrl: string, apiKey: string, options: ClientOptions) =>
  MeetingsClient.layerWithApiKey(apiKey, { timeout: Duration.seconds(5), ...options, baseUrl }).pipe(
    Layer.provide(NodeHttpClient.layerUndici),
    // The harness passes a sandbox URL and key: an InvalidConfig here is a bug in the harness.
    Layer.orDie
  )

/** The HTTP client for one key, alive for the current scope. */
export const client = (
  baseUrl: string,
  apiKey: string,
  options: ClientOptions = {}
): Effect.Effect<Meetings.MeetingsShape, never, Scope.Scope> =>
  Effect.map(Layer.build(clientLayer(baseUrl, apiKey, options)), (ctx) => Context.get(ctx, Meetings.Meetings))

export interface CacheSetup {
  readonly baseUrl: string
  readonly apiKey: string
  readonly db: string
  readonly client?: ClientOptions
  readonly cache?: Omit<MeetingsCache.MeetingsCacheOptions, "apiKey" | "principal">
  /** `PRAGMA max_page_count` on the cache's connection: a size-limited file (a "full disk" without a small filesystem). */
  readonly maxPageCount?: number
}

const databaseLayer = (setup: CacheSetup) => {
  const base = Database.layer({ filename: setup.db })
  const limit = setup.maxPageCount
  return limit === undefined
    ? base
    : Layer.tap(base, (ctx) => Effect.orDie(Context.get(ctx, SqlClient.SqlClient).unsafe(`PRAGMA max_page_count = ${limit}`)))
}

/** The cache for one key on one file (its own SQLite connection), alive for the current scope. */
export const cache = (setup: CacheSetup): Effect.Effect<MeetingsCache.MeetingsCacheShape, CacheError.CacheError, Scope.Scope> =>
  Effect.map(
    Layer.build(
      MeetingsCache.layer({ ...setup.cache, apiKey: Redacted.make(setup.apiKey) }).pipe(
        Layer.provide(clientLayer(setup.baseUrl, setup.apiKey, setup.client ?? {})),
        Layer.provide(databaseLayer(setup))
      )
    ),
    (ctx) => Context.get(ctx, MeetingsCache.MeetingsCache)
  )

export const principalOf = (apiKey: string): string => Principal.fromApiKey(apiKey)

// ---------------------------------------------------------------------------------------------
// Views: what a key is served, what a cache serves, what a file stores
// ---------------------------------------------------------------------------------------------

export interface Seen {
  readonly access: Meeting.AccessLevel
  /** `$description` value (content: null under METADATA). */
  readonly description: string | null
  /** `$transcript` relationship present (omitted under METADATA). */
  readonly transcript: boolean
}

export type View = ReadonlyMap<string, Seen>

export const seen = (m: Meeting.Meeting): Seen => {
  const d = m.fields["$description"]?.value
  return {
    access: m.accessLevel,
    description: typeof d === "string" ? d : null,
    transcript: m.relationships["$transcript"] !== undefined
  }
}

/** Every meeting the key is served, by plain offset paging over `GET /v1/meetings` (the server must be quiet). */
export const serverView = (api: Meetings.MeetingsShape): Effect.Effect<View, MeetingsError.MeetingsError> =>
  Effect.gen(function*() {
    const out = new Map<string, Seen>()
    let offset = 0
    for (;;) {
      const page = yield* api.list({ limit: 25, offset })
      for (const m of page.data) out.set(m.id, seen(m))
      offset += page.data.length
      if (page.data.length < 25 || offset >= page.totalCount) return out
    }
  })

/** Every meeting the cache serves from SQLite (`streamLocal`: not gone, pending included). */
export const cacheView = (c: MeetingsCache.MeetingsCacheShape): Effect.Effect<View, CacheError.CacheError> =>
  Effect.map(Stream.runCollect(c.streamLocal), (chunk) => new Map(Chunk.toReadonlyArray(chunk).map((m) => [m.id, seen(m)])))

export interface ViewDiff {
  readonly missing: ReadonlyArray<string>
  readonly extra: ReadonlyArray<string>
  readonly accessMismatch: ReadonlyArray<string>
  /** Same access level, different content (description / transcript presence). */
  readonly contentMismatch: ReadonlyArray<string>
}

export const diff = (expected: View, actual: View): ViewDiff => {
  const missing: Array<string> = []
  const accessMismatch: Array<string> = []
  const contentMismatch: Array<string> = []
  for (const [id, e] of expected) {
    const a = actual.get(id)
    if (a === undefined) missing.push(id)
    else if (a.access !== e.access) accessMismatch.push(id)
    else if (a.description !== e.description || a.transcript !== e.transcript) contentMismatch.push(id)
  }
  const extra = [...actual.keys()].filter((id) => !expected.has(id))
  return { missing, extra, accessMismatch, contentMismatch }
}

export const same = (d: ViewDiff): boolean =>
  d.missing.length + d.extra.length + d.accessMismatch.length + d.contentMismatch.length === 0

export const describeDiff = (d: ViewDiff): string =>
  `missing ${d.missing.length} [${d.missing.slice(0, 3).join(",")}], extra ${d.extra.length} [${
    d.extra.slice(0, 3).join(",")
  }], access ${d.accessMismatch.length} [${d.accessMismatch.slice(0, 3).join(",")}], content ${d.contentMismatch.length} [${
    d.contentMismatch.slice(0, 3).join(",")
  }]`

// ---------------------------------------------------------------------------------------------
// Direct SQLite inspection (better-sqlite3, a separate connection)
// ---------------------------------------------------------------------------------------------

export interface StoredRow {
  readonly principal: string
  readonly id: string
  readonly access_level: string
  readonly description: string | null
  readonly pending: number
  readonly gone: number
  readonly body: string
}

export interface OutboxRow {
  readonly principal: string
  readonly seq: number
  readonly op: string
  readonly target_id: string
  readonly local_id: string | null
  readonly idempotency_key: string
  readonly params: string
  readonly status: string
  readonly attempts: number
  readonly last_error: string | null
}

/** Open the file with a fresh connection, run `f`, close it. */
export const withSqlite = <A>(file: string, f: (db: Sqlite.Database) => A): Effect.Effect<A, Error> =>
  Effect.try({
    try: () => {
      const db = new Sqlite(file, { fileMustExist: true, timeout: 10_000 })
      try {
        return f(db)
      } finally {
        db.close()
      }
    },
    catch: (e) => (e instanceof Error ? e : new Error(String(e)))
  })

/** `PRAGMA integrity_check` ("ok" when healthy); a file that does not exist yet counts as "absent". */
export const integrity = (file: string): Effect.Effect<string> =>
  existsSync(file)
    ? withSqlite(file, (db) => String(db.pragma("integrity_check", { simple: true }))).pipe(
      Effect.catchAll((e) => Effect.succeed(`cannot open: ${e.message}`))
    )
    : Effect.succeed("absent")

export const tableExists = (db: Sqlite.Database, table: string): boolean =>
  db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined

export const storedRows = (file: string): Effect.Effect<ReadonlyArray<StoredRow>, Error> =>
  withSqlite(file, (db) =>
    tableExists(db, "meetings")
      ? db.prepare("SELECT principal, id, access_level, description, pending, gone, body FROM meetings").all() as Array<StoredRow>
      : [])

export const outboxRows = (file: string): Effect.Effect<ReadonlyArray<OutboxRow>, Error> =>
  withSqlite(file, (db) =>
    tableExists(db, "outbox")
      ? db.prepare(
        "SELECT principal, seq, op, target_id, local_id, idempotency_key, params, status, attempts, last_error FROM outbox ORDER BY principal, seq"
      ).all() as Array<OutboxRow>
      : [])

/** The servable rows (not gone) a file stores for one principal, as a view. */
export const storedView = (rows: ReadonlyArray<StoredRow>, principal: string): View => {
  const out = new Map<string, Seen>()
  for (const r of rows) {
    if (r.principal !== principal || r.gone === 1) continue
    out.set(r.id, storedSeen(r))
  }
  return out
}

/** What a stored row holds (a tombstone of a gone meeting may keep no body at all). */
export const storedSeen = (r: StoredRow): Seen => {
  const body = JSON.parse(r.body) as {
    readonly accessLevel?: Meeting.AccessLevel
    readonly fields?: Record<string, { readonly value: unknown } | undefined>
    readonly relationships?: Record<string, unknown>
  }
  const d = body.fields?.["$description"]?.value
  return {
    access: body.accessLevel ?? (r.access_level === "METADATA" ? "METADATA" : "FULL"),
    description: typeof d === "string" ? d : null,
    transcript: body.relationships?.["$transcript"] !== undefined
  }
}

/** Whether a byte sequence occurs in any of the database's files (main, WAL, journal). */
export const fileContains = (file: string, needle: string): boolean =>
  [file, `${file}-wal`, `${file}-journal`].some((f) => existsSync(f) && readFileSync(f).includes(Buffer.from(needle, "utf8")))
