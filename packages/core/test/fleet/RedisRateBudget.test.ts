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
import { createServer, type Server } from "node:net"
import { Clock, Duration, Effect, Either, Exit, Fiber, Layer, Redacted, Scope } from "effect"
import { Redis } from "ioredis"
import { redisPrefix, redisUrl } from "./redisPrefix.js"
import { Meetings, MeetingsClient } from "../../src/index.js"
import * as RedisRateBudget from "../../src/RedisRateBudget.js"

const testPrefix = redisPrefix("core")

/** One instance: its own client, and its own connection to the shared budget. */
const instance = (prefix: string, url: string = redisUrl, maxRetries = 0) =>
  Effect.gen(function*() {
    const sandbox = yield* Sandbox.Sandbox
    const baseUrl = yield* sandbox.baseUrl
    const client = MeetingsClient.layer({ apiKey: Redacted.make(sandbox.keys.admin), baseUrl, maxRetries }).pipe(
      Layer.provide(RedisRateBudget.layer({ url: Redacted.make(url), organization: "org_acme", prefix }))
    )
    const context = yield* Layer.build(client.pipe(Layer.provide(NodeHttpClient.layerUndici)))
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

/** How many TCP connections arrive at `port` (on 127.0.0.1) within `window`. */
const connectionsTo = (port: number, window: Duration.DurationInput) => {
  let count = 0
  return Effect.acquireUseRelease(
    Effect.async<Server>((resume) => {
      const server = createServer((socket) => {
        count++
        socket.destroy()
      })
      server.once("error", (error) => resume(Effect.die(error)))
      server.listen(port, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    () => Effect.sleep(window).pipe(Effect.map(() => count)),
    (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  )
}

describe("issue 13 #4: one rate budget per organisation and category across instances (real Redis)", () => {
  layer(Sandbox.layer(), { excludeTestServices: true, timeout: 60_000 })("sandbox at 25 req/s", (it) => {
    it.scoped("four budgets on their own Redis connections grant 25 slots/s together, never more", () =>
      Effect.gen(function*() {
        const prefix = yield* testPrefix
        const budgets = yield* Effect.forEach([1, 2, 3, 4], () =>
          RedisRateBudget.make({ url: Redacted.make(redisUrl), organization: "org_acme", prefix }))
        const t0 = yield* Clock.currentTimeMillis
        const granted = yield* Effect.forEach(
          budgets.flatMap((b) => Array.from({ length: 30 }, () => b)),
          (b) => Effect.zipRight(b.take("Search"), Clock.currentTimeMillis),
          { concurrency: "unbounded" }
        )
        const times = granted.map((t) => t - t0).sort((a, b) => a - b)
        // The sandbox's bucket (capacity 25, 25/s) fed these grant times never refuses one: a slow
        // machine only grants later, which the bucket allows too. Unshared budgets would grant
        // 4 x 25/s and empty it within the first second.
        let tokens = 25
        let last = 0
        let refused = 0
        for (const t of times) {
          tokens = Math.min(25, tokens + ((t - last) * 25) / 1000)
          last = t
          if (tokens >= 1 - 1e-6) tokens -= 1
          else refused++
        }
        assert.strictEqual(refused, 0, times.join(","))
        // 120 slots, a burst of 5, then 25/s: at least (120 - 5) / 25 = 4.6 s.
        assert.isAtLeast(times[times.length - 1]!, 4_400)
      }), 60_000)

    it.scoped("four instances sharing it against the sandbox: 120 list calls all answered, no faster than 25/s together", () =>
      Effect.gen(function*() {
        const prefix = yield* testPrefix
        const instances = yield* Effect.forEach([1, 2, 3, 4], () => instance(prefix, redisUrl, 2))
        const { millis, results, statuses } = yield* burst(instances, 30)
        const refused = statuses.filter((s) => s === 429).length
        assert.strictEqual(results.filter(Either.isLeft).length, 0)
        // Requests leave in the budget's order (the test above), but a busy event loop (the clients
        // and the sandbox share this process, and the machine is shared) can send them late and
        // bunched: the odd 429 is honoured and retried. Across processes (fleet/Fleet.test.ts) none
        // came. Here 0 when the machine was quiet, up to 15 of 135 while the fleet test ran beside it.
        assert.isAtMost(refused, 24, `statuses: ${statuses.join(",")}`)
        assert.isAtLeast(millis, 4_400)
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

    // Regression: the store closed its client with `Effect.promise(() => redis.quit())`; with a
    // command still in ioredis's offline queue, `quit` is queued behind it and rejected at the next
    // flush, so closing the layer died. The interrupted call leaves its consume in that queue.
    it.scoped("Redis gone, a call interrupted while it waits for Redis: the layer still closes without a defect", () =>
      Effect.gen(function*() {
        const redis = yield* privateRedis
        const scope = yield* Scope.make()
        const m = yield* instance(`lf-test:closing_${process.pid}:`, redis.url).pipe(Scope.extend(scope))
        yield* m.list({ limit: 1 })
        yield* redis.stop
        yield* Effect.sleep("20 millis")
        const call = yield* Effect.fork(m.list({ limit: 1 }))
        yield* Effect.sleep("5 millis")
        yield* Fiber.interrupt(call)
        const closed = yield* Effect.exit(Effect.timeout(Scope.close(scope, Exit.void), "5 seconds"))
        assert.isTrue(Exit.isSuccess(closed), String(closed))
        // And the closed client no longer reconnects: nothing dials Redis's port for 1.5 s.
        assert.strictEqual(yield* connectionsTo(Number(new URL(redis.url).port), "1500 millis"), 0)
      }), 30_000)
  })
})
