/**
 * Redis for the fleet suites: a key prefix of the test's own, its keys removed when the scope
 * closes. Shared by core's budget tests and the multi-process test (`fleet/`).
 */
import { Effect } from "effect"
import type { Scope } from "effect"
import { Redis } from "ioredis"

/** The test server (`LIGHTFIELD_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`). */
export const redisUrl = process.env["LIGHTFIELD_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379"

/** `lf-test:<label>_<pid>_<random>:`, whose keys are removed when the scope closes. */
export const redisPrefix = (label: string): Effect.Effect<string, never, Scope.Scope> =>
  Effect.gen(function*() {
    const prefix = `lf-test:${label}_${process.pid}_${crypto.randomUUID().slice(0, 8)}:`
    const redis = yield* Effect.acquireRelease(
      Effect.sync(() => new Redis(redisUrl, { maxRetriesPerRequest: 1 })),
      (r) => Effect.promise(() => r.quit())
    )
    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        const keys = await redis.keys(`${prefix}*`)
        if (keys.length > 0) await redis.unlink(...keys)
      })
    )
    return prefix
  })
