/**
 * Issue 13 #4: the shared rate budget's switch and its typed failures, on a machine with only Node
 * (no Redis needed: an unreachable one is port 1 on loopback). The budget against the real Redis
 * is in the fleet suite (`test/fleet/`).
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Layer, Option, Redacted } from "effect"
import * as RateBudget from "../src/RateBudget.js"
import * as RedisRateBudget from "../src/RedisRateBudget.js"

const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("issue 13 #4: the shared rate budget", () => {
  it.effect("without LIGHTFIELD_REDIS_URL there is no shared budget (the in-process limiter alone)", () =>
    Effect.gen(function*() {
      const options = yield* RateBudget.config.pipe(withEnv({ LIGHTFIELD_API_KEY: "sk_lf_x" }))
      assert.isTrue(Option.isNone(options))
      const budget = yield* Effect.scoped(RateBudget.make(options))
      assert.isFalse(budget.shared)
    }))

  it.effect("the organisation comes from LIGHTFIELD_ORGANIZATION, else from a fingerprint of the key (never the key)", () =>
    Effect.gen(function*() {
      const named = yield* RateBudget.config.pipe(withEnv({
        LIGHTFIELD_REDIS_URL: "redis://127.0.0.1:6379",
        LIGHTFIELD_ORGANIZATION: "org_acme",
        LIGHTFIELD_API_KEY: "sk_lf_secret"
      }))
      assert.strictEqual(Option.getOrThrow(named).organization, "org_acme")
      const fromKey = Option.getOrThrow(
        yield* RateBudget.config.pipe(withEnv({ LIGHTFIELD_REDIS_URL: "redis://h", LIGHTFIELD_API_KEY: "sk_lf_secret" }))
      )
      assert.match(fromKey.organization, /^key-[0-9a-f]{16}$/)
      assert.notInclude(fromKey.organization, "secret")
      assert.strictEqual(fromKey.organization, RateBudget.keyFingerprint(Redacted.make("sk_lf_secret")))
      assert.notStrictEqual(fromKey.organization, RateBudget.keyFingerprint(Redacted.make("sk_lf_other")))
      const missing = yield* Effect.flip(RateBudget.config.pipe(withEnv({ LIGHTFIELD_REDIS_URL: "redis://h" })))
      assert.include(String(missing), "LIGHTFIELD_ORGANIZATION")
    }))

  it.effect("a URL that is not a Redis URL is InvalidConfig, without its password", () =>
    Effect.gen(function*() {
      for (const url of ["http://127.0.0.1:6379", "not a url", "redis://", "redis://u:hunter2@h/x"]) {
        const error = yield* Effect.flip(Effect.scoped(RedisRateBudget.make({ url: Redacted.make(url), organization: "o" })))
        assert.strictEqual(error._tag, "InvalidConfig", url)
        assert.notInclude(error.message, "hunter2")
      }
      const parsed = RedisRateBudget.redisOptionsFromUrl(Redacted.make("rediss://me:p%40ss@cache.internal:6380/2"))
      assert.deepInclude(parsed, {
        right: {
          host: "cache.internal",
          port: 6380,
          db: 2,
          username: "me",
          password: "p@ss",
          tls: {},
          maxRetriesPerRequest: 1,
          connectTimeout: 5_000
        }
      })
    }))

  it.effect("an unreachable Redis fails the layer with MeetingsUnavailable (RateBudget), not a defect", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Layer.build(RedisRateBudget.layer({ url: Redacted.make("redis://127.0.0.1:1"), organization: "o" })).pipe(
          Effect.scoped
        )
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isSuccess(exit)) return
      const error = Option.getOrThrow(Exit.causeOption(exit).pipe(Option.flatMap((c) => Option.fromNullable(
        c._tag === "Fail" ? c.error : undefined
      ))))
      assert.strictEqual(error._tag, "MeetingsUnavailable")
      if (error._tag === "MeetingsUnavailable") assert.strictEqual(error.reason, "RateBudget")
    }), 20_000)
})
