/**
 * The whole stack in one layer: core's HTTP client, the database (SQLite, or PostgreSQL with
 * `LIGHTFIELD_CACHE_URL`) and the cache, each read
 * from `Config`, so a backend job needs a single `Layer.provide`. It composes the public layers
 * (`MeetingsClient.layerConfig`, `Database.layerConfig`, `MeetingsCache.layerConfig`) and nothing
 * else; use those directly for finer control.
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import { MeetingsClient } from "@lightfield-effect/core"
import type { MeetingsConfig, MeetingsError } from "@lightfield-effect/core"
import { Layer } from "effect"
import type { Config, ConfigError } from "effect"
import type { CacheError } from "./CacheError.js"
import * as Database from "./Database.js"
import * as MeetingsCache from "./MeetingsCache.js"

/**
 * Where each part reads its options (each defaults to its module's `config`, the environment) and
 * which HTTP client carries the requests.
 *
 * @since 0.1.0
 */
export interface StackOptions {
  /** Default `MeetingsConfig.config`: `LIGHTFIELD_API_KEY`, `LIGHTFIELD_BASE_URL`, `LIGHTFIELD_TIMEOUT`, … */
  readonly client?: Config.Config<MeetingsConfig.Options>
  /** Default `Database.config`: `LIGHTFIELD_CACHE_URL` (PostgreSQL), else `LIGHTFIELD_CACHE_PATH`, `LIGHTFIELD_CACHE_BUSY_TIMEOUT`. */
  readonly database?: Config.Config<Database.DatabaseOptions>
  /** Default `MeetingsCache.config`: `LIGHTFIELD_API_KEY` or `LIGHTFIELD_CACHE_PRINCIPAL`, `LIGHTFIELD_CACHE_POLICY`, … */
  readonly cache?: Config.Config<MeetingsCache.MeetingsCacheOptions>
  /**
   * The platform client. Default `FetchHttpClient.layer` (the runtime's global `fetch`), so the
   * stack needs no platform package; pass `NodeHttpClient.layerUndici` from
   * `@effect/platform-node` for Node's undici pool.
   */
  readonly httpClient?: Layer.Layer<HttpClient.HttpClient>
}

/**
 * `MeetingsCache` over the SQLite file and the HTTP client, everything read from `Config`. The
 * database is opened and migrated when the layer is built; a bad setting fails the build with a
 * `ConfigError` (or core's `InvalidConfig`), an unusable file with a `CacheError`.
 *
 * @example
 * ```ts
 * import { MeetingsCache, MeetingsStack } from "@lightfield-effect/cache"
 * import { Effect } from "effect"
 *
 * const job = Effect.flatMap(MeetingsCache.MeetingsCache, (cache) => cache.sync())
 * job.pipe(Effect.provide(MeetingsStack.layerConfig()))
 * ```
 *
 * @since 0.1.0
 */
export const layerConfig = (
  options: StackOptions = {}
): Layer.Layer<MeetingsCache.MeetingsCache, ConfigError.ConfigError | MeetingsError.InvalidConfig | CacheError> =>
  MeetingsCache.layerConfig(options.cache).pipe(
    Layer.provide(MeetingsClient.layerConfig(options.client).pipe(
      Layer.provide(options.httpClient ?? FetchHttpClient.layer)
    )),
    Layer.provide(Database.layerConfig(options.database))
  )
