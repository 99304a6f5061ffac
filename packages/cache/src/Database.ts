/**
 * The SQLite database behind the cache: a `@effect/sql-sqlite-node` client (WAL, busy timeout) with
 * the migrations applied when the layer is built. Provides both `SqliteClient` and the generic
 * `SqlClient`; everything else in the package only needs `SqlClient`, so a PostgreSQL backend is a
 * different layer here (plus the `Dialect.ts` counterparts).
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from "node:fs"
import { dirname } from "node:path"
import { Config, Context, Effect, Either, Layer, Option } from "effect"
import type { ConfigError, Scope } from "effect"
import { CacheError, fromCause, isBusy } from "./CacheError.js"
import * as Dialect from "./Dialect.js"
import * as Check from "./internal/options.js"
import { busySchedule } from "./internal/sql.js"
import { migrations, migrationsTable } from "./migrations.js"

export interface DatabaseOptions {
  /** Path of the database file, or `":memory:"`. */
  readonly filename: string
  /**
   * Milliseconds SQLite itself waits for another connection's lock (default 25). Longer waits are
   * done asynchronously by a retry `Schedule` (up to 15 s), so the event loop is never blocked.
   */
  readonly busyTimeout?: number
  /** `NORMAL` (default) or `FULL`. */
  readonly synchronous?: "NORMAL" | "FULL"
  /** Prepared statement cache size (default 200). */
  readonly prepareCacheSize?: number
}

/** Which file the cache lives in (for messages and for `rebuild`). */
export class DatabaseFile extends Context.Tag("@lightfield-effect/cache/DatabaseFile")<DatabaseFile, {
  readonly filename: string
}>() {}

const sqliteHeader = "SQLite format 3\u0000"

/** An existing non-empty file must start with the SQLite header; otherwise it is not our database. */
const checkHeader = (filename: string): Effect.Effect<void, CacheError> =>
  filename === ":memory:" || filename === ""
    ? Effect.void
    : Effect.try({
      try: () => {
        let size: number
        try {
          const stat = statSync(filename)
          if (stat.isDirectory()) return "directory" as const
          size = stat.size
        } catch {
          return "absent" as const
        }
        if (size === 0) return "ok" as const
        const buffer = Buffer.alloc(16)
        const fd = openSync(filename, "r")
        try {
          readSync(fd, buffer, 0, 16, 0)
        } finally {
          closeSync(fd)
        }
        return buffer.toString("latin1") === sqliteHeader ? ("ok" as const) : ("foreign" as const)
      },
      catch: (cause) =>
        new CacheError({ reason: "Open", file: filename, message: `Cannot read cache file ${filename}`, cause })
    }).pipe(
      Effect.flatMap((state) =>
        state === "foreign"
          ? Effect.fail(
            new CacheError({
              reason: "Corrupt",
              file: filename,
              message: `Cache file ${filename} is not a SQLite database`
            })
          )
          : state === "directory"
          ? Effect.fail(
            new CacheError({ reason: "Open", file: filename, message: `Cache path ${filename} is a directory` })
          )
          : Effect.void
      )
    )

/** `busyTimeout` and `prepareCacheSize`, checked before the file is touched. */
const checkOptions = (options: DatabaseOptions): Effect.Effect<void, CacheError> => {
  const problem = [
    Check.optional(options.busyTimeout, (n) => Check.integer("busyTimeout", n, { min: 0 })),
    Check.optional(options.prepareCacheSize, (n) => Check.integer("prepareCacheSize", n, { min: 1 }))
  ].find(Either.isLeft)
  return problem === undefined
    ? Effect.void
    : Effect.fail(new CacheError({ reason: "Config", file: options.filename, message: `Invalid database option: ${problem.left}` }))
}

/** Only the owner may read the cache: it holds FULL descriptions. */
const folderMode = 0o700
const fileMode = 0o600

/**
 * Before SQLite opens the file: create a missing folder 0700 and a missing file 0600 (SQLite gives
 * the -wal and -shm files the mode of the database file), and make an existing file private.
 */
const preparePrivateFile = (filename: string): Effect.Effect<void, CacheError> =>
  filename === ":memory:" || filename === "" || filename.startsWith("file:")
    ? Effect.void
    : Effect.try({
      try: () => {
        // The folders to create, innermost first; each is made 0700 (`mkdir`'s mode is masked by the umask).
        const missing: Array<string> = []
        for (let dir = dirname(filename); !existsSync(dir) && dir !== dirname(dir); dir = dirname(dir)) missing.push(dir)
        if (missing.length > 0) mkdirSync(missing[0]!, { recursive: true, mode: folderMode })
        for (const dir of missing) chmodSync(dir, folderMode)
        if (!existsSync(filename)) {
          closeSync(openSync(filename, "a", fileMode))
        }
        for (const path of [filename, `${filename}-wal`, `${filename}-shm`]) {
          if (existsSync(path) && (statSync(path).mode & 0o077) !== 0) chmodSync(path, fileMode)
        }
      },
      catch: (cause) =>
        new CacheError({ reason: "Open", file: filename, message: `Cannot create the cache file ${filename}`, cause })
    })

const connectionOptions = (options: DatabaseOptions): Dialect.ConnectionOptions => ({
  busyTimeoutMillis: options.busyTimeout ?? 25,
  synchronous: options.synchronous ?? "NORMAL"
})

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

/** Run the migrations with `@effect/sql`'s generic Migrator (needs only `SqlClient`). */
export const migrate: Effect.Effect<ReadonlyArray<readonly [number, string]>, CacheError, SqlClient.SqlClient> = Migrator
  .make({})({ loader: Migrator.fromRecord(migrations), table: migrationsTable })
  .pipe(
    Effect.tap(() => ensureLatest),
    Effect.retry({ schedule: busySchedule, while: isBusy }),
    Effect.catchAllDefect((defect) => Effect.fail(fromCause(defect, "Migration", "A cache migration failed"))),
    Effect.mapError((e) => (e instanceof CacheError ? e : fromCause(e, "Migration", "Cache migrations failed"))),
    Effect.withSpan("Database.migrate")
  )

/** Open (or create) the database, configure the connection and apply the migrations. */
export const make = (
  options: DatabaseOptions
): Effect.Effect<SqliteClient.SqliteClient, CacheError, Reactivity.Reactivity | Scope.Scope> =>
  Effect.gen(function*() {
    const file = options.filename
    yield* checkOptions(options)
    yield* checkHeader(file)
    yield* preparePrivateFile(file)
    const client = yield* SqliteClient.make({
      filename: file,
      ...(options.prepareCacheSize === undefined ? {} : { prepareCacheSize: options.prepareCacheSize })
    }).pipe(
      Effect.catchAllDefect((defect) => Effect.fail(fromCause(defect, "Open", `Cannot open cache file ${file}`, file)))
    )
    yield* Dialect.configureConnection(client, connectionOptions(options)).pipe(
      Effect.mapError((e) => fromCause(e, "Open", `Cannot configure cache file ${file}`, file))
    )
    const applied = yield* migrate.pipe(
      Effect.provideService(SqlClient.SqlClient, client),
      Effect.mapError((e) =>
        new CacheError({
          reason: e.reason,
          file,
          message: e.reason === "Corrupt" ? `Cache file ${file} is not a valid SQLite database` : e.message,
          cause: e.cause
        })
      )
    )
    if (applied.length > 0) {
      yield* Effect.logDebug("cache migrations applied", { file, migrations: applied.map(([id, name]) => `${id}_${name}`) })
    }
    return client
  }).pipe(Effect.withSpan("Database.make", { attributes: { filename: options.filename } }))

/** The database as a layer: `SqliteClient`, `SqlClient` and `DatabaseFile`, migrations applied. */
export const layer = (
  options: DatabaseOptions
): Layer.Layer<SqliteClient.SqliteClient | SqlClient.SqlClient | DatabaseFile, CacheError> =>
  Layer.scopedContext(
    Effect.gen(function*() {
      const client = yield* make(options)
      const context = Context.make(SqliteClient.SqliteClient, client).pipe(
        Context.add(SqlClient.SqlClient, client),
        Context.add(DatabaseFile, { filename: options.filename })
      )
      // Opened after the migrations, so it never sees a half-built schema. It is an optional service
      // (the repo looks it up with `serviceOption` and falls back to the portable path), so it is not
      // part of the layer's declared output.
      const native = yield* Dialect.openNative(options.filename, connectionOptions(options)).pipe(
        Effect.mapError((e) => fromCause(e, "Open", `Cannot open cache file ${options.filename}`, options.filename))
      )
      return Option.isSome(native) ? Context.add(context, Dialect.NativeSqliteConnection, native.value) : context
    })
  ).pipe(Layer.provide(Reactivity.layer))

/** Options from `Config`: `LIGHTFIELD_CACHE_PATH` (default `lightfield-cache.db`), `LIGHTFIELD_CACHE_BUSY_TIMEOUT` (ms, default 25). */
export const config: Config.Config<DatabaseOptions> = Config.all({
  filename: Config.string("LIGHTFIELD_CACHE_PATH").pipe(Config.withDefault("lightfield-cache.db")),
  busyTimeout: Config.integer("LIGHTFIELD_CACHE_BUSY_TIMEOUT").pipe(Config.withDefault(25))
})

export const layerConfig = (
  options: Config.Config<DatabaseOptions> = config
): Layer.Layer<SqliteClient.SqliteClient | SqlClient.SqlClient | DatabaseFile, CacheError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(options, layer))

/** An in-memory database (tests, throw-away caches). */
export const layerMemory: Layer.Layer<SqliteClient.SqliteClient | SqlClient.SqlClient | DatabaseFile, CacheError> =
  layer({ filename: ":memory:" })
