/**
 * The SQLite database behind the cache: one better-sqlite3 connection (WAL, busy timeout) with an
 * `SqlClient` built over it, and the migrations applied when the layer is built. The rest of the
 * package takes the `SqlClient` (portable SQL) and, for reads by id and sync batches, the same
 * connection's handle (`SqliteHandle`, internal) from the context.
 *
 * @since 0.1.0
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient } from "@effect/sql"
import { Config, Context, Effect, Layer } from "effect"
import type { ConfigError, Scope } from "effect"
import { CacheError } from "./CacheError.js"
import * as FileChecks from "./internal/databaseFile.js"
import * as Dialect from "./internal/dialect.js"
import { migrate } from "./internal/migrations.js"
import { fromCause } from "./internal/sql.js"
import * as Sqlite from "./internal/sqlite.js"
import type { SqliteHandle } from "./internal/sqlite.js"

/**
 * How to open the database.
 *
 * @since 0.1.0
 */
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
  /** Prepared statement cache size of the `SqlClient` (default 200). */
  readonly prepareCacheSize?: number
}

/**
 * Which file the cache lives in (for messages).
 *
 * @since 0.1.0
 */
export class DatabaseFile extends Context.Tag("@lightfield-effect/cache/DatabaseFile")<DatabaseFile, {
  readonly filename: string
}>() {}

/**
 * What the database layer provides: the `SqlClient`, the same connection's handle, and the file.
 *
 * @since 0.1.0
 */
export type Services = SqlClient.SqlClient | SqliteHandle | DatabaseFile

/**
 * Open (or create) the database, configure the connection and apply the migrations.
 *
 * @since 0.1.0
 */
export const make = (
  options: DatabaseOptions
): Effect.Effect<Context.Context<Services>, CacheError, Reactivity.Reactivity | Scope.Scope> =>
  Effect.gen(function*() {
    const file = options.filename
    yield* FileChecks.checkOptions(options)
    yield* FileChecks.checkHeader(file)
    yield* FileChecks.preparePrivateFile(file)
    const context = yield* Sqlite.layer({
      filename: file,
      ...(options.prepareCacheSize === undefined ? {} : { prepareCacheSize: options.prepareCacheSize })
    }).pipe(
      Effect.mapError((e) => fromCause(e, "Open", `Cannot open cache file ${file}`, file)),
      Effect.catchAllDefect((defect) => Effect.fail(fromCause(defect, "Open", `Cannot open cache file ${file}`, file)))
    )
    const sql = Context.get(context, SqlClient.SqlClient)
    yield* Dialect.configureConnection(sql, {
      busyTimeoutMillis: options.busyTimeout ?? 25,
      synchronous: options.synchronous ?? "NORMAL"
    }).pipe(Effect.mapError((e) => fromCause(e, "Open", `Cannot configure cache file ${file}`, file)))
    const applied = yield* migrate.pipe(
      Effect.provideService(SqlClient.SqlClient, sql),
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
    return Context.add(context, DatabaseFile, { filename: file })
  }).pipe(Effect.withSpan("Database.make", { attributes: { filename: options.filename } }))

/**
 * The database as a layer, migrations applied.
 *
 * @since 0.1.0
 */
export const layer = (options: DatabaseOptions): Layer.Layer<Services, CacheError> =>
  Layer.scopedContext(make(options)).pipe(Layer.provide(Reactivity.layer))

/**
 * Options from `Config`: `LIGHTFIELD_CACHE_PATH` (default `lightfield-cache.db`),
 * `LIGHTFIELD_CACHE_BUSY_TIMEOUT` (ms, default 25).
 *
 * @since 0.1.0
 */
export const config: Config.Config<DatabaseOptions> = Config.all({
  filename: Config.string("LIGHTFIELD_CACHE_PATH").pipe(Config.withDefault("lightfield-cache.db")),
  busyTimeout: Config.integer("LIGHTFIELD_CACHE_BUSY_TIMEOUT").pipe(Config.withDefault(25))
})

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
export const layerMemory: Layer.Layer<Services, CacheError> = layer({ filename: ":memory:" })
