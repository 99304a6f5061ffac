/**
 * The database behind the cache, chosen by its options: a SQLite file (the embedded default: one
 * better-sqlite3 connection, WAL, busy timeout, with an `SqlClient` built over it) or a PostgreSQL
 * server (`{ url: "postgres://…" }`: an `@effect/sql-pg` pool), with the migrations applied when the
 * layer is built. The rest of the package takes the `SqlClient` (portable SQL) and, on SQLite, for
 * reads by id and sync batches, the same connection's handle (`SqliteHandle`, internal).
 *
 * @since 0.1.0
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqlClient from "@effect/sql/SqlClient"
import { Config, Context, Effect, Layer, Option, Redacted } from "effect"
import type { ConfigError, Duration, Scope } from "effect"
import { CacheError } from "./CacheError.js"
import * as FileChecks from "./internal/databaseFile.js"
import * as Dialect from "./internal/dialect.js"
import { migrate } from "./internal/migrations.js"
import { fromCause } from "./internal/sql.js"
import * as Sqlite from "./internal/sqlite.js"
import type { SqliteHandle } from "./internal/sqlite.js"

/**
 * How to open a SQLite database.
 *
 * @since 0.1.0
 */
export interface SqliteOptions {
  /** Path of the database file, or `":memory:"`. */
  readonly filename: string
  /**
   * Milliseconds SQLite itself waits for another connection's lock (default 25). Longer waits are
   * done asynchronously by a retry `Schedule` (up to 15 s), so the event loop is never blocked.
   */
  readonly busyTimeout?: number
  /** `NORMAL` (default) or `FULL`. */
  readonly synchronous?: "NORMAL" | "FULL"
  /** Prepared statement cache size of the `SqlClient` (default 200). */
  readonly prepareCacheSize?: number
  /**
   * Bytes of the file that reads by id see memory-mapped, through a second, read-only connection
   * (default 256 MiB; 0 reads it with system calls instead). Pages read that way count in the
   * process's resident memory as shared file pages; writes never go through the map.
   */
  readonly mmapSize?: number
}

/**
 * How to open a PostgreSQL database (`@effect/sql-pg` and `pg` must be installed). Every instance
 * pointed at the same database shares one mirror; the migrations run once, whoever starts first.
 *
 * @since 0.1.0
 */
export interface PostgresOptions {
  /** `postgres://user[:password]@host[:port]/database`: never shown with its password. */
  readonly url: string | Redacted.Redacted<string>
  /**
   * Connections in the pool (default 5, at least 2: a sync holds one for its lease while it runs);
   * the change-notice listener uses one more, outside the pool.
   */
  readonly maxConnections?: number
  /** How long connecting may take (default 5 seconds). */
  readonly connectTimeout?: Duration.DurationInput
}

/**
 * How to open the database: a SQLite file (`filename`) or a PostgreSQL server (`url`).
 *
 * @since 0.1.0
 */
export type DatabaseOptions = SqliteOptions | PostgresOptions

/**
 * Which file (or database URL, without its password) the cache lives in (for messages).
 *
 * @since 0.1.0
 */
export class DatabaseFile extends Context.Tag("@lightfield-effect/cache/DatabaseFile")<DatabaseFile, {
  readonly filename: string
}>() {}

/**
 * What every database layer provides: the `SqlClient` and where it lives.
 *
 * @since 0.1.0
 */
export type Services = SqlClient.SqlClient | DatabaseFile

/**
 * What the SQLite layer provides besides: the connection's handle (for prepared reads and batches).
 *
 * @since 0.1.0
 */
export type SqliteServices = Services | SqliteHandle

const isPostgres = (options: DatabaseOptions): options is PostgresOptions => "url" in options

/** Apply the migrations on `sql`; a failure names `file`. */
const migrateOn = (sql: SqlClient.SqlClient, file: string, corrupt: string) =>
  Effect.gen(function*() {
    const applied = yield* migrate.pipe(
      Effect.provideService(SqlClient.SqlClient, sql),
      Effect.mapError((e) =>
        new CacheError({ reason: e.reason, file, message: e.reason === "Corrupt" ? corrupt : e.message, cause: e.cause })
      )
    )
    if (applied.length > 0) {
      yield* Effect.logDebug("cache migrations applied", { file, migrations: applied.map(([id, name]) => `${id}_${name}`) })
    }
  })

const makePostgres = (
  options: PostgresOptions
): Effect.Effect<Context.Context<Services>, CacheError, Reactivity.Reactivity | Scope.Scope> =>
  Effect.gen(function*() {
    const url = typeof options.url === "string" ? Redacted.make(options.url) : options.url
    const Postgres = yield* Effect.tryPromise({
      try: () => import("./internal/postgres.js"),
      catch: (cause) =>
        new CacheError({
          reason: "Config",
          message: "A postgres:// database needs the packages @effect/sql-pg and pg installed",
          cause
        })
    })
    const file = Postgres.displayUrl(Redacted.value(url))
    const context = yield* Postgres.open({
      url,
      maxConnections: options.maxConnections,
      connectTimeout: options.connectTimeout
    })
    yield* migrateOn(Context.get(context, SqlClient.SqlClient), file, `Cache database ${file} is damaged`)
    return Context.add(context, DatabaseFile, { filename: file })
  }).pipe(Effect.withSpan("Database.make", { attributes: { database: "postgresql" } }))

const makeSqlite = (
  options: SqliteOptions
): Effect.Effect<Context.Context<SqliteServices>, CacheError, Reactivity.Reactivity | Scope.Scope> =>
  Effect.gen(function*() {
    const file = options.filename
    yield* FileChecks.checkOptions(options)
    yield* FileChecks.checkHeader(file)
    yield* FileChecks.preparePrivateFile(file)
    const context = yield* Sqlite.layer({
      filename: file,
      ...(options.prepareCacheSize === undefined ? {} : { prepareCacheSize: options.prepareCacheSize }),
      ...(options.mmapSize === undefined ? {} : { mmapSize: options.mmapSize })
    }).pipe(
      Effect.mapError((e) => fromCause(e, "Open", `Cannot open cache file ${file}`, file)),
      Effect.catchAllDefect((defect) => Effect.fail(fromCause(defect, "Open", `Cannot open cache file ${file}`, file)))
    )
    const sql = Context.get(context, SqlClient.SqlClient)
    yield* Dialect.configureConnection(sql, {
      busyTimeoutMillis: options.busyTimeout ?? 25,
      synchronous: options.synchronous ?? "NORMAL"
    }).pipe(Effect.mapError((e) => fromCause(e, "Open", `Cannot configure cache file ${file}`, file)))
    yield* migrateOn(sql, file, `Cache file ${file} is not a valid SQLite database`)
    return Context.add(context, DatabaseFile, { filename: file })
  }).pipe(Effect.withSpan("Database.make", { attributes: { filename: options.filename } }))

/**
 * Open the database (create a SQLite file, connect to a PostgreSQL server), configure the
 * connection and apply the migrations. Every failure is a `CacheError` naming the file or the URL
 * (without its password): a bad URL is `Config`, an unreachable server or a missing database `Open`.
 *
 * @since 0.1.0
 */
export function make(
  options: SqliteOptions
): Effect.Effect<Context.Context<SqliteServices>, CacheError, Reactivity.Reactivity | Scope.Scope>
/**
 * `make` for either database (a SQLite file or a PostgreSQL URL).
 *
 * @since 0.1.0
 */
export function make(
  options: DatabaseOptions
): Effect.Effect<Context.Context<Services>, CacheError, Reactivity.Reactivity | Scope.Scope>
/**
 * `make`'s implementation: PostgreSQL for a `url`, SQLite for a `filename`.
 *
 * @since 0.1.0
 */
export function make(
  options: DatabaseOptions
): Effect.Effect<Context.Context<Services>, CacheError, Reactivity.Reactivity | Scope.Scope> {
  return isPostgres(options) ? makePostgres(options) : makeSqlite(options)
}

/**
 * The database as a layer, migrations applied: `{ filename }` for SQLite, `{ url: "postgres://…" }`
 * for PostgreSQL.
 *
 * @since 0.1.0
 */
export function layer(options: SqliteOptions): Layer.Layer<SqliteServices, CacheError>
/**
 * `layer` for either database (a SQLite file or a PostgreSQL URL).
 *
 * @since 0.1.0
 */
export function layer(options: DatabaseOptions): Layer.Layer<Services, CacheError>
/**
 * `layer`'s implementation: `make` as a scoped layer.
 *
 * @since 0.1.0
 */
export function layer(options: DatabaseOptions): Layer.Layer<Services, CacheError> {
  return Layer.scopedContext(make(options)).pipe(Layer.provide(Reactivity.layer))
}

/**
 * Options from `Config`: `LIGHTFIELD_CACHE_URL` (a `postgres://` URL: PostgreSQL, pool size
 * `LIGHTFIELD_CACHE_POOL_SIZE`, default 5); otherwise SQLite at `LIGHTFIELD_CACHE_PATH` (default
 * `lightfield-cache.db`) with `LIGHTFIELD_CACHE_BUSY_TIMEOUT` (ms, default 25).
 *
 * @since 0.1.0
 */
export const config: Config.Config<DatabaseOptions> = Config.all({
  url: Config.option(Config.redacted("LIGHTFIELD_CACHE_URL")),
  maxConnections: Config.integer("LIGHTFIELD_CACHE_POOL_SIZE").pipe(Config.withDefault(5)),
  filename: Config.string("LIGHTFIELD_CACHE_PATH").pipe(Config.withDefault("lightfield-cache.db")),
  busyTimeout: Config.integer("LIGHTFIELD_CACHE_BUSY_TIMEOUT").pipe(Config.withDefault(25))
}).pipe(
  Config.map(({ busyTimeout, filename, maxConnections, url }): DatabaseOptions =>
    Option.isSome(url) ? { url: url.value, maxConnections } : { filename, busyTimeout }
  )
)

/**
 * `layer` with its options read from `Config` (default: `config`).
 *
 * @since 0.1.0
 */
export const layerConfig = (
  options: Config.Config<DatabaseOptions> = config
): Layer.Layer<Services, CacheError | ConfigError.ConfigError> => Layer.unwrapEffect(Effect.map(options, layer))

/**
 * An in-memory database (tests, throw-away caches): the same code as a file.
 *
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<SqliteServices, CacheError> = layer({ filename: ":memory:" })
