/**
 * Issue 13 #4 against the real Redis on 127.0.0.1:6379 and the sandbox at its documented 25 req/s
 * per organisation and category: several clients (each with its own Redis connection, as separate
 * instances would have) share one budget. Each test uses its own key prefix and removes its keys.
 * The same across separate processes is the fleet test (`reliability`-style children) in `fleet/`.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, layer } from "@effect/vitest"
import { Sandbox } from "@lightfield-effect/sandbox"
import { spawn } from "node:child_process"
import { once } from "node:events"
import { createServer } from "node:net"
import { Clock, Effect, Either, Exit, Layer, Redacted, Scope } from "effect"
import { Redis } from "ioredis"
import { Meetings, MeetingsClient } from "../../src/index.js"
import * as RedisRateBudget from "../../src/RedisRateBudget.js"

const redisUrl = process.env["LIGHTFIELD_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379"

/** A key prefix of this test's own, whose keys are removed when the scope closes. */
const testPrefix = Effect.gen(function*() {
  const prefix = `lf-test:core_${process.pid}_${crypto.randomUUID().slice(0, 8)}:`
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

/** One instance: its own client, and (when `prefix` is given) its own connection to the shared budget. */
const instance = (prefix: string | undefined, url: string = redisUrl) =>
  Effect.gen(function*() {
    const sandbox = yield* Sandbox.Sandbox
    const baseUrl = yield* sandbox.baseUrl
    const client = MeetingsClient.layer({ apiKey: Redacted.make(sandbox.keys.admin), baseUrl, maxRetries: 0 })
    const budget = prefix === undefined
      ? client
      : client.pipe(Layer.provide(RedisRateBudget.layer({ url: Redacted.make(url), organization: "org_acme", prefix })))
    const context = yield* Layer.build(budget.pipe(Layer.provide(NodeHttpClient.layerUndici)))
    return yield* Effect.provide(Meetings.Meetings, context)
  })

/** `calls` list requests from each instance at once; the answers' statuses as the sandbox logged them. */
const burst = (instances: ReadonlyArray<Meetings.MeetingsShape>, calls: number) =>
  Effect.gen(function*() {
    const sandbox = yield* Sandbox.Sandbox
    yield* sandbox.clearRequests
    const started = yield* Clock.currentTimeMillis
    const results = yield* Effect.forEach(
      instances.flatMap((m) => Array.from({ length: calls }, () => m)),
      (m) => Effect.either(m.list({ limit: 1 })),
      { concurrency: "unbounded" }
    )
    const millis = (yield* Clock.currentTimeMillis) - started
    const statuses = (yield* sandbox.requests).filter((r) => r.path === "/v1/meetings").map((r) => r.status)
    return { results, millis, statuses }
  })

/** A Redis server of this test's own on a free port, stopped with the scope (to take it away mid-run). */
const privateRedis = Effect.gen(function*() {
  const port = yield* Effect.async<number>((resume) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0)))
    })
  })
  const child = yield* Effect.acquireRelease(
    Effect.sync(() =>
      spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
        stdio: "ignore"
      })
    ),
    (child) => Effect.sync(() => child.kill("SIGKILL"))
  )
  const ping = new Redis(port, "127.0.0.1", { maxRetriesPerRequest: 1, retryStrategy: () => 50 })
  ping.on("error", () => {})
  yield* Effect.promise(() => ping.ping()).pipe(Effect.timeout("10 seconds"), Effect.orDie)
  ping.disconnect()
  return { url: `redis://127.0.0.1:${port}`, stop: Effect.promise(async () => {
    child.kill("SIGKILL")
    await once(child, "exit")
  }) }
})

describe("issue 13 #4: one rate budget per organisation and category across instances (real Redis)", () => {
  layer(Sandbox.layer(), { excludeTestServices: true, timeout: 60_000 })("sandbox at 25 req/s", (it) => {
    it.scoped("four instances sharing the Redis budget: 160 list requests at once, no 429, at the server's rate", () =>
      Effect.gen(function*() {
        const prefix = yield* testPrefix
        const instances = yield* Effect.forEach([1, 2, 3, 4], () => instance(prefix))
        const { millis, results, statuses } = yield* burst(instances, 40)
        assert.strictEqual(statuses.filter((s) => s === 429).length, 0, `statuses: ${statuses.join(",")}`)
        assert.strictEqual(results.filter(Either.isLeft).length, 0)
        assert.strictEqual(statuses.length, 160)
        // 160 requests, a shared burst of 10, then 25/s: at least (160 - 10) / 25 = 6 s (only a
        // slower machine makes it longer).
        assert.isAtLeast(millis, 5_000)
      }), 60_000)

    it.scoped("the same four instances without it: each keeps its own 25/s, and the server answers 429", () =>
      Effect.gen(function*() {
        const instances = yield* Effect.forEach([1, 2, 3, 4], () => instance(undefined))
        const { statuses } = yield* burst(instances, 40)
        assert.isAbove(statuses.filter((s) => s === 429).length, 0)
      }), 60_000)

    it.scoped("a 429 with Retry-After seen by one instance pauses the others", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const prefix = yield* testPrefix
        const [a, b] = yield* Effect.forEach([1, 2], () => instance(prefix))
        yield* sandbox.inject({ match: "GET /v1/meetings", fault: { _tag: "RateLimit", retryAfterSeconds: 2 }, times: 1 })
        const first = yield* Effect.flip(a!.list({ limit: 1 }))
        assert.strictEqual(first._tag, "RateLimited")
        const started = yield* Clock.currentTimeMillis
        yield* b!.list({ limit: 1 })
        // B never saw the 429; the shared bucket in debt makes it wait out (most of) the 2 s.
        assert.isAtLeast((yield* Clock.currentTimeMillis) - started, 1_500)
      }).pipe(Effect.ensuring(Effect.flatMap(Sandbox.Sandbox, (s) => s.clearFaults))), 30_000)

    it.scoped("Redis gone mid-run: the call fails with MeetingsUnavailable (RateBudget), nothing is sent", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const redis = yield* privateRedis
        const scope = yield* Scope.make()
        const m = yield* instance(`lf-test:gone_${process.pid}:`, redis.url).pipe(Scope.extend(scope))
        yield* m.list({ limit: 1 })
        yield* redis.stop
        yield* sandbox.clearRequests
        const error = yield* Effect.flip(m.list({ limit: 1 }))
        assert.strictEqual(error._tag, "MeetingsUnavailable")
        if (error._tag === "MeetingsUnavailable") assert.strictEqual(error.reason, "RateBudget")
        assert.deepStrictEqual((yield* sandbox.requests).filter((r) => r.path === "/v1/meetings"), [])
        yield* Scope.close(scope, Exit.void)
      }), 30_000)
  })
})
