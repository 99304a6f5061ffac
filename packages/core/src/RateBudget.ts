/**
 * A rate budget shared by every instance of an application: the API's buckets are per
 * organisation and category (spec §9), so N workers of one organisation must together stay under
 * one bucket's rate. The client takes a slot of the shared budget after its own in-process limiter
 * (which stays the default, and still honours 429, `Retry-After` and `X-RateLimit-*`).
 *
 * This module holds only the service and the environment switch; the Redis store lives in
 * `RedisRateBudget` (import path `@lightfield-effect/core/RedisRateBudget`), loaded only when a
 * Redis URL is configured, so applications without Redis never need `ioredis` installed.
 */
import type { Duration, Scope } from "effect"
import { Config, ConfigError, Context, Effect, Either, Layer, Option, Redacted } from "effect"
import type * as Endpoint from "./Endpoint.js"
import type { MeetingsUnavailable } from "./MeetingsError.js"
import { InvalidConfig } from "./MeetingsError.js"

/**
 * What the client asks of a shared budget, per rate-limit category.
 *
 * @since 0.1.0
 */
export interface RateBudgetShape {
  /** `false` for `local` (nothing beyond the client's own limiter): the client then skips it. */
  readonly shared: boolean
  /** Where the budget lives and whose it is, for logs (never a password). */
  readonly description: string
  /** Wait for a slot of `category`; fails (nothing sent) when the store cannot be reached. */
  readonly take: (category: Endpoint.Category) => Effect.Effect<void, MeetingsUnavailable>
  /**
   * The server answered 429 with `Retry-After`: no instance takes a slot of `category` for
   * `wait` (the shared bucket is pushed into debt).
   */
  readonly pause: (category: Endpoint.Category, wait: Duration.Duration) => Effect.Effect<void, MeetingsUnavailable>
  /** The server's `X-RateLimit-Limit` (already checked to be sane): below the configured rate it lowers it. */
  readonly observeLimit: (category: Endpoint.Category, perSecond: number) => Effect.Effect<void>
}

/**
 * The shared budget the HTTP client takes its slots from. Optional: without it in the context the
 * client's in-process limiter is the only one.
 *
 * @since 0.1.0
 */
export class RateBudget extends Context.Tag("@lightfield-effect/core/RateBudget")<RateBudget, RateBudgetShape>() {}

/**
 * No shared budget: the client's in-process limiter alone (the default).
 *
 * @since 0.1.0
 */
export const local: RateBudgetShape = {
  shared: false,
  description: "in-process",
  take: () => Effect.void,
  pause: () => Effect.void,
  observeLimit: () => Effect.void
}

/**
 * Options of a Redis budget (`RedisRateBudget.layer`).
 *
 * @since 0.1.0
 */
export interface RedisOptions {
  /** `redis://[user][:password]@host[:port][/db]` (`rediss://` for TLS). */
  readonly url: Redacted.Redacted<string>
  /**
   * The organisation whose buckets are shared (the API's buckets are per organisation, and every
   * API key of one organisation draws on the same ones). Use the organisation's id; instances
   * that should share a budget must name the same organisation.
   */
  readonly organization: string
  /** Requests per second per category, for all instances together; default 25 (spec §9). */
  readonly rate?: number
  /**
   * Burst of the shared bucket; default 5, well below the server's capacity of 25, which leaves
   * room for requests that leave late and then bunched up (a busy event loop, network jitter).
   */
  readonly burst?: number
  /** Redis key prefix; default `lightfield:budget:`. */
  readonly prefix?: string
}

/**
 * Reads the shared budget's options from the environment: `LIGHTFIELD_REDIS_URL` (redacted; when
 * unset there is no shared budget), `LIGHTFIELD_ORGANIZATION` (default: a fingerprint of
 * `LIGHTFIELD_API_KEY`, so instances with the same key share a budget; set it so that every key of
 * the organisation does), `LIGHTFIELD_RATE_PER_SECOND`, `LIGHTFIELD_REDIS_PREFIX`.
 *
 * @since 0.1.0
 */
export const config: Config.Config<Option.Option<RedisOptions>> = Config.all({
  url: Config.option(Config.redacted("LIGHTFIELD_REDIS_URL")),
  organization: Config.option(Config.nonEmptyString("LIGHTFIELD_ORGANIZATION")),
  apiKey: Config.option(Config.redacted("LIGHTFIELD_API_KEY")),
  rate: Config.option(Config.number("LIGHTFIELD_RATE_PER_SECOND")),
  prefix: Config.option(Config.nonEmptyString("LIGHTFIELD_REDIS_PREFIX"))
}).pipe(
  Config.mapOrFail(({ apiKey, organization, prefix, rate, url }) =>
    Option.match(url, {
      onNone: () => Either.right(Option.none<RedisOptions>()),
      onSome: (url) =>
        Option.match(Option.orElse(organization, () => Option.map(apiKey, keyFingerprint)), {
          onNone: () =>
            Either.left(ConfigError.MissingData(
              ["LIGHTFIELD_ORGANIZATION"],
              "LIGHTFIELD_REDIS_URL needs LIGHTFIELD_ORGANIZATION (or LIGHTFIELD_API_KEY) to name whose budget it is"
            )),
          onSome: (organization) =>
            Either.right(Option.some<RedisOptions>({
              url,
              organization,
              ...Option.match(rate, { onNone: () => ({}), onSome: (rate) => ({ rate }) }),
              ...Option.match(prefix, { onNone: () => ({}), onSome: (prefix) => ({ prefix }) })
            }))
        })
    })
  )
)


/**
 * A stable, non-reversible name for an API key's budget when no organisation is configured: the
 * first 16 hex digits of a 64-bit FNV-1a hash, prefixed `key-`. It never holds the key itself.
 *
 * @since 0.1.0
 */
export const keyFingerprint = (apiKey: Redacted.Redacted): string => {
  const text = String(Redacted.value(apiKey))
  let h = 0xcbf29ce484222325n
  for (let i = 0; i < text.length; i++) {
    h ^= BigInt(text.charCodeAt(i))
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn
  }
  return `key-${h.toString(16).padStart(16, "0")}`
}

/**
 * The shared budget the options name, or `local` for none. The Redis module is imported only
 * here, when options are given.
 *
 * @since 0.1.0
 */
export const make = (
  options: Option.Option<RedisOptions>
): Effect.Effect<RateBudgetShape, InvalidConfig | MeetingsUnavailable, Scope.Scope> =>
  Option.match(options, {
    onNone: () => Effect.succeed(local),
    onSome: (options) =>
      Effect.flatMap(
        Effect.tryPromise({
          try: () => import("./RedisRateBudget.js"),
          catch: (cause) =>
            new InvalidConfig({
              option: "redis",
              message: `A Redis rate budget needs the packages ioredis and @effect/experimental installed (${
                cause instanceof Error ? cause.message : String(cause)
              })`
            })
        }),
        (redis) => redis.make(options)
      )
  })

/**
 * The shared budget from `config` (the environment): Redis when `LIGHTFIELD_REDIS_URL` is set,
 * `local` otherwise. Provide it to `MeetingsClient.layer…` (`Layer.provide`). Building it checks
 * that Redis answers: an unreachable one fails with `MeetingsUnavailable` (`RateBudget`), a bad
 * URL with `InvalidConfig`.
 *
 * @since 0.1.0
 */
export const layerConfig = (
  options: Config.Config<Option.Option<RedisOptions>> = config
): Layer.Layer<RateBudget, ConfigError.ConfigError | InvalidConfig | MeetingsUnavailable> =>
  Layer.scoped(RateBudget, Effect.flatMap(options, make))
