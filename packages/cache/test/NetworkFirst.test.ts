/**
 * `NetworkFirst` fallback latency over the real client and the sandbox: a refused connection is
 * answered from the cache without the client's retries, `networkTimeout` bounds the wait for a
 * slow answer (which then refreshes the row in the background), and a bad `networkTimeout` is
 * refused before anything is sent. Bounds are generous (a loaded machine): they tell "no
 * backoff was waited" from "the 1.5 s of default backoff", not fast from slow.
 */
import { assert, describe, it } from "@effect/vitest"
import { NodeHttpClient } from "@effect/platform-node"
import { MeetingsClient } from "@lightfield-effect/core"
import { Sandbox } from "@lightfield-effect/sandbox"
import type { Duration } from "effect"
import { Clock, Context, DateTime, Effect, Exit, Layer, Scope } from "effect"
import { join } from "node:path"
import { MeetingsCache } from "../src/index.js"
import { dbLayer, eventually, tempDir } from "./fixtures.js"
import { cacheLayer, withCache } from "./sandbox.js"

const timed = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const result = yield* self
    return [result, (yield* Clock.currentTimeMillis) - start] as const
  })

/**
 * The cache over a client whose one retry waits at least 2.25 s (3 s base, jitter up to
 * 25 % off): an answer within 2 s did not wait for it, however loaded the machine.
 */
const slowRetries = (sandbox: Sandbox.SandboxShape, file: string) =>
  Layer.unwrapEffect(
    Effect.map(sandbox.baseUrl, (baseUrl) =>
      MeetingsCache.layer({ apiKey: sandbox.keys.admin }).pipe(
        Layer.provide(
          MeetingsClient.layerWithApiKey(sandbox.keys.admin, {
            baseUrl,
            rate: false,
            retrySchedule: MeetingsClient.retrySchedule({ maxRetries: 1, base: "3 seconds" })
          }).pipe(Layer.provide(NodeHttpClient.layerUndici))
        ),
        Layer.provide(dbLayer(file))
      ))
  )

/** A temp folder, a sandbox with 5 meetings, and the id of one of them. */
const setup = Effect.gen(function*() {
  const dir = yield* tempDir
  const sandbox = yield* Sandbox.make({ meetings: 5, rateLimit: false })
  const id = (yield* sandbox.meetings)[0]!.id as string
  return { dir, sandbox, id }
})

describe("NetworkFirst fallback", () => {
  it.scopedLive("a refused connection answers from the cache at once, without the client's retries", () =>
    Effect.gen(function*() {
      const { dir, id, sandbox } = yield* setup
      yield* Effect.flatMap(MeetingsCache.MeetingsCache, (cache) =>
        Effect.gen(function*() {
          assert.strictEqual((yield* cache.retrieve(id, { policy: "NetworkFirst" })).source, "network")
          yield* sandbox.stop
          const [answer, ms] = yield* timed(cache.retrieve(id, { policy: "NetworkFirst" }))
          assert.strictEqual(answer.source, "cache")
          assert.isBelow(ms, 2_000)
          const [page, listMs] = yield* timed(cache.listCached({ limit: 5 }, { policy: "NetworkFirst" }))
          assert.strictEqual(page.source, "cache")
          assert.isBelow(listMs, 2_000)
          // Nothing cached: the client's retries still run (they are the only hope of an answer).
          const [miss, missMs] = yield* timed(Effect.flip(cache.retrieve("mtg_0000000000000000000000999", { policy: "NetworkFirst" })))
          assert.strictEqual(miss._tag, "MeetingsUnavailable")
          assert.isAtLeast(missMs, 2_200)
        })).pipe(Effect.provide(slowRetries(sandbox, join(dir, "c.db"))))
    }))

  it.scopedLive("networkTimeout: a slow answer is waited for that long, then the cache answers and the answer refreshes the row", () =>
    Effect.gen(function*() {
      const { dir, id, sandbox } = yield* setup
      yield* withCache(sandbox, "admin", join(dir, "c.db"), (cache) =>
        Effect.gen(function*() {
          const first = yield* cache.retrieve(id, { policy: "NetworkFirst" })
          assert.strictEqual(first.source, "network")
          yield* sandbox.inject({ fault: { _tag: "Latency", millis: 1_500 }, match: `GET /v1/meetings/${id}`, times: 1 })
          const [answer, ms] = yield* timed(cache.retrieve(id, { policy: "NetworkFirst", networkTimeout: "200 millis" }))
          assert.strictEqual(answer.source, "cache")
          assert.isAtLeast(ms, 190)
          assert.isBelow(ms, 1_200)
          // The slow answer arrives in the background and is stored.
          const refreshed = Effect.map(
            cache.retrieve(id, { policy: "CacheOnly" }),
            (c) => DateTime.toEpochMillis(c.fetchedAt) > DateTime.toEpochMillis(first.fetchedAt) + 1_000
          )
          yield* eventually(refreshed, "10 seconds")
          assert.isTrue(yield* refreshed)
          // A quick answer within the timeout is the network's.
          const quick = yield* cache.retrieve(id, { policy: "NetworkFirst", networkTimeout: "5 seconds" })
          assert.strictEqual(quick.source, "network")
        }))
    }))

  it.scopedLive("the background call lives in the cache's scope: closing the cache interrupts it", () =>
    Effect.gen(function*() {
      const { dir, id, sandbox } = yield* setup
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(cacheLayer(sandbox, "admin", join(dir, "c.db")), scope)
      const built = Context.get(context, MeetingsCache.MeetingsCache)
      yield* built.retrieve(id, { policy: "NetworkFirst" })
      yield* sandbox.inject({ fault: { _tag: "Latency", millis: 5_000 }, match: `GET /v1/meetings/${id}`, times: 1 })
      const answer = yield* built.retrieve(id, { policy: "NetworkFirst", networkTimeout: "100 millis" })
      assert.strictEqual(answer.source, "cache")
      const [, closeMs] = yield* timed(Scope.close(scope, Exit.void))
      // Closing did not wait for the 5 s answer: the background call was interrupted.
      assert.isBelow(closeMs, 3_000)
    }))

  it.scopedLive("a bad networkTimeout is InvalidParams before any request", () =>
    Effect.gen(function*() {
      const { dir, id, sandbox } = yield* setup
      yield* withCache(sandbox, "admin", join(dir, "c.db"), (cache) =>
        Effect.gen(function*() {
          yield* sandbox.clearRequests
          const bad: ReadonlyArray<Duration.DurationInput> = [-1, Number.NaN, Number.POSITIVE_INFINITY, 0, "soon" as Duration.DurationInput]
          for (const networkTimeout of bad) {
            const error = yield* Effect.flip(cache.retrieve(id, { policy: "NetworkFirst", networkTimeout }))
            assert.strictEqual(error._tag, "InvalidParams", String(networkTimeout))
            if (error._tag === "InvalidParams") assert.strictEqual(error.param, "networkTimeout")
            const listError = yield* Effect.flip(cache.listCached({}, { policy: "NetworkFirst", networkTimeout }))
            assert.strictEqual(listError._tag, "InvalidParams", String(networkTimeout))
          }
          assert.deepStrictEqual(yield* sandbox.requests, [])
        }))
    }))
})
