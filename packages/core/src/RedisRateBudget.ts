/**
 * The shared rate budget on Redis: `@effect/experimental`'s `RateLimiter` with its Redis store
 * (a Lua token bucket over ioredis, atomic across processes), one bucket per organisation and
 * category. Import it as `@lightfield-effect/core/RedisRateBudget`; it needs the optional peers
 * `ioredis` (^5) and `@effect/experimental`. `RateBudget.layerConfig` loads it only when
 * `LIGHTFIELD_REDIS_URL` is set.
 *
 * While Redis is down, ioredis itself prints `[ioredis] Unhandled error event` to stderr on each
 * reconnect attempt (the store's client has no error listener); the calls meanwhile fail with
 * `MeetingsUnavailable` (`RateBudget`) after one attempt each.
 */
import * as RateLimiter from "@effect/experimental/RateLimiter"
import * as RateLimiterRedis from "@effect/experimental/RateLimiter/Redis"
import { Duration, Effect, Either, Exit, Layer, Redacted, Ref, Scope } from "effect"
import type * as Endpoint from "./Endpoint.js"
import { InvalidConfig, MeetingsUnavailable } from "./MeetingsError.js"
import * as RateBudget from "./RateBudget.js"

/**
 * The defaults of `RateBudget.RedisOptions`: the documented 25 req/s per category, a burst of 5
 * (well below the server's capacity of 25: the slack of 20 tokens, 0.8 s at 25/s, absorbs
 * requests that a busy event loop sends late and then bunched; with the sandbox and four clients
 * in one busy process, a burst of 20 met 11 and a burst of 10 met 3 to 7 answers 429 in 160).
 *
 * @since 0.1.0
 */
export const defaults = { rate: 25, burst: 5, prefix: "lightfield:budget:" } as const

/** How long a limit learnt from `X-RateLimit-Limit` holds without being confirmed again. */
const learntRateTtlMillis = 60_000

/**
 * Where and how ioredis connects (a subset of its `RedisOptions`).
 *
 * @since 0.1.0
 */
export interface RedisConnection {
  readonly host: string
  readonly port: number
  readonly db: number
  readonly username?: string
  readonly password?: string
  readonly tls?: Record<string, never>
  readonly maxRetriesPerRequest: number
  readonly connectTimeout: number
}

/**
 * A `redis://` or `rediss://` URL as ioredis options (ioredis's store takes no URL), with one
 * retry per command so that a dead Redis fails a call in milliseconds instead of stalling it for
 * ten seconds. A URL that is not one fails with `InvalidConfig` (option `redis`), without the
 * password in the message.
 *
 * @since 0.1.0
 */
export const redisOptionsFromUrl = (url: Redacted.Redacted<string>): Either.Either<RedisConnection, InvalidConfig> => {
  const text = Redacted.value(url)
  const fail = (why: string) =>
    Either.left(new InvalidConfig({ option: "redis", message: `Redis URL ${shown(text)} ${why}` }))
  let u: URL
  try {
    u = new URL(text)
  } catch {
    return fail("is not a URL (expected redis://host:port)")
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") return fail("must be a redis: or rediss: URL")
  if (u.hostname === "") return fail("has no host")
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0
  if (!Number.isInteger(db) || db < 0) return fail("names no database number (redis://host:port/<n>)")
  return Either.right<RedisConnection>({
    host: u.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: u.port === "" ? 6379 : Number(u.port),
    db,
    ...(u.username === "" ? {} : { username: decodeURIComponent(u.username) }),
    ...(u.password === "" ? {} : { password: decodeURIComponent(u.password) }),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000
  })
}

/** A URL for messages: user info replaced. */
const shown = (text: string) => JSON.stringify(text.replace(/\/\/[^/?#]*@/, "//***@").slice(0, 200))

/**
 * The store in a scope of its own, closed by our finalizer. The store's own finalizer is
 * `Effect.promise(() => redis.quit())`: with a command still in ioredis's offline queue (a call
 * interrupted while Redis is down), `quit` is queued behind it and rejected, and closing would die.
 * So closing first makes ioredis's `retryStrategy` answer `null` (the next failed reconnect ends the
 * client and flushes its queue), then waits at most a second for the store to close (the next
 * attempt can be 2 s away, and a connect can take `connectTimeout`); a failure is logged at Debug.
 */
const ownStore = (options: RedisConnection & { readonly prefix: string }) =>
  Effect.gen(function*() {
    let closing = false
    const storeScope = yield* Effect.acquireRelease(Scope.make(), (scope) =>
      Effect.suspend(() => {
        closing = true
        return Scope.close(scope, Exit.void)
      }).pipe(
        Effect.timeout("1 second"),
        Effect.catchAllCause((cause) => Effect.logDebug("Lightfield rate budget: closing the Redis client failed", cause))
      ))
    return yield* RateLimiterRedis.make({
      ...options,
      // ioredis's default delay between reconnects, until we close.
      retryStrategy: (times: number) => closing ? null : Math.min(times * 50, 2_000)
    }).pipe(Scope.extend(storeScope))
  })

/**
 * The budget on Redis: checks the options, connects, and checks that Redis answers (one read of
 * a bucket that takes nothing), so an unreachable Redis fails here with `MeetingsUnavailable`
 * (`RateBudget`) rather than at the first call. The connection closes with the scope.
 *
 * @since 0.1.0
 */
export const make = (
  options: RateBudget.RedisOptions
): Effect.Effect<RateBudget.RateBudgetShape, InvalidConfig | MeetingsUnavailable, Scope.Scope> =>
  Effect.gen(function*() {
    const invalid = (option: string, message: string) => new InvalidConfig({ option, message })
    const configuredRate = options.rate ?? defaults.rate
    const burst = options.burst ?? defaults.burst
    if (!(Number.isFinite(configuredRate) && configuredRate > 0)) {
      return yield* invalid("rate", "rate must be a number of requests per second greater than 0")
    }
    if (!Number.isInteger(burst) || burst < 1) return yield* invalid("burst", "burst must be an integer ≥ 1")
    if (options.organization.trim() === "") return yield* invalid("organization", "organization must not be empty")
    const redisOptions = yield* redisOptionsFromUrl(options.url)
    const where = `${shown(Redacted.value(options.url))} (organisation ${options.organization})`

    const store = yield* ownStore({ ...redisOptions, prefix: options.prefix ?? defaults.prefix })
    const limiter = yield* Effect.provideService(RateLimiter.make, RateLimiter.RateLimiterStore, store)

    const unreachable = (error: RateLimiter.RateLimiterError) =>
      new MeetingsUnavailable({
        reason: "RateBudget",
        message: `The shared rate budget on Redis ${where} could not be reached: ${
          error.cause instanceof Error ? error.cause.message : error.message
        }`,
        cause: error
      })

    /** A lower rate learnt from `X-RateLimit-Limit`, per category, until it lapses. */
    const learnt = yield* Ref.make<Partial<Record<Endpoint.Category, { readonly rate: number; readonly until: number }>>>({})
    const rateOf = (category: Endpoint.Category, now: number) =>
      Effect.map(Ref.get(learnt), (m) => {
        const l = m[category]
        return l !== undefined && now < l.until ? l.rate : configuredRate
      })

    /** The bucket of a category at `rate`: capacity `limit`, one token every `1 / rate` s. */
    const bucket = (category: Endpoint.Category, rate: number) => {
      const limit = Math.max(1, Math.min(burst, Math.floor(rate * burst / configuredRate)))
      return {
        key: `${options.organization}:${category}`,
        limit,
        window: Duration.millis((limit * 1000) / rate),
        algorithm: "token-bucket" as const,
        onExceeded: "delay" as const
      }
    }

    const consume = (category: Endpoint.Category, tokens: number) =>
      Effect.flatMap(Effect.clockWith((clock) => rateOf(category, clock.unsafeCurrentTimeMillis())), (rate) => {
        const b = bucket(category, rate)
        return Effect.map(
          Effect.mapError(limiter.consume({ ...b, tokens: Math.min(tokens, b.limit) }), unreachable),
          (result) => ({ result, rate, limit: b.limit })
        )
      })

    // Fail at startup, not at the first call, when Redis does not answer (a read that takes nothing).
    yield* Effect.timeoutFail(consume("Search", 0), {
      duration: "10 seconds",
      onTimeout: () =>
        new MeetingsUnavailable({ reason: "RateBudget", message: `The shared rate budget on Redis ${where} did not answer within 10 s` })
    })
    yield* Effect.logDebug("Lightfield shared rate budget on Redis").pipe(Effect.annotateLogs({ where }))

    const take = (category: Endpoint.Category) =>
      Effect.flatMap(consume(category, 1), ({ result }) =>
        Duration.greaterThan(result.delay, Duration.zero) ? Effect.sleep(result.delay) : Effect.void)

    // Push the shared bucket into debt so that the next slot of anyone is `wait` away: the
    // deficit is what `wait` refills (chunks of at most `limit`, the most one consume takes).
    const pause = (category: Endpoint.Category, wait: Duration.Duration) =>
      Effect.flatMap(consume(category, 0), ({ limit, rate, result }) => {
        const target = -Math.ceil((Duration.toMillis(wait) * rate) / 1000)
        const push = (remaining: number): Effect.Effect<void, MeetingsUnavailable> =>
          remaining <= target
            ? Effect.void
            : Effect.flatMap(consume(category, Math.min(limit, remaining - target)), (next) => push(next.result.remaining))
        return push(result.remaining)
      })

    const observeLimit = (category: Endpoint.Category, perSecond: number) =>
      Effect.flatMap(Effect.clockWith((clock) => Effect.succeed(clock.unsafeCurrentTimeMillis())), (now) =>
        Ref.update(learnt, (m) =>
          perSecond >= configuredRate
            ? { ...m, [category]: undefined }
            : { ...m, [category]: { rate: perSecond, until: now + learntRateTtlMillis } }))

    return {
      shared: true,
      description: `Redis ${where}`,
      take,
      pause,
      observeLimit
    } satisfies RateBudget.RateBudgetShape
  })

/**
 * `RateBudget` on Redis with the given options (checked, and Redis reached, when built).
 *
 * @since 0.1.0
 */
export const layer = (
  options: RateBudget.RedisOptions
): Layer.Layer<RateBudget.RateBudget, InvalidConfig | MeetingsUnavailable> =>
  Layer.scoped(RateBudget.RateBudget, make(options))
