/**
 * Issue 13 #6: four worker processes share one PostgreSQL mirror and one Redis budget against the
 * sandbox at its documented 25 requests/s per organisation and category (the sandbox runs in this
 * process; the workers reach it over loopback).
 *
 * 1. All four sync at once: the list requests the sandbox sees are at most 1.05 x one sync's (one
 *    worker alone, on a mirror of its own), none is answered 429, and each worker then serves the
 *    full set from the mirror.
 *    Then all four re-read 40 meetings each from the server at once: 160 reads under the shared
 *    budget, none answered 429, and no faster than 25/s together.
 * 2. Forty writes queued offline across the four, then replayed by all four at once: each reaches
 *    the server exactly once (the sandbox's log, by idempotency key).
 * 3. SIGKILL of the lease holder mid-sync: another worker takes over and completes, and the mirror
 *    matches the server.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { freshPgUrl } from "../packages/cache/test/fleet/pgDatabase.js"
import * as Env from "../reliability/lib/Env.js"
import * as Fleet from "./lib/Fleet.js"

interface Synced {
  readonly pages: number
  readonly meetings: number
  readonly joined: boolean
  readonly complete: boolean
}

const meetings = 600

describe("issue 13 #6: four worker processes, one PostgreSQL mirror, one Redis budget", () => {
  it.scopedLive("sync at once, replay at once, SIGKILL of the lease holder", () =>
    Effect.gen(function*() {
      // The sandbox's documented limit: 25 requests/s per organisation and category.
      const sb = yield* Env.sandbox({ meetings, rateLimit: { perSecond: 25, capacity: 25 } })
      const baseUrl = yield* sb.baseUrl
      const apiKey = sb.keys.admin
      const redisPrefix = yield* Fleet.redisPrefix("fleet")
      const open = (dbUrl: string) => ({ baseUrl, apiKey, dbUrl, redisUrl: Fleet.redisUrl, redisPrefix, organization: "org_acme" })
      const lists = Effect.map(sb.requests, (rs) => rs.filter((r) => r.method === "GET" && r.path === "/v1/meetings"))
      const truth = yield* Effect.map(
        Effect.flatMap(Env.client(baseUrl, apiKey, { maxRetries: 4 }), Env.serverView),
        (view) => [...view.keys()].sort()
      )

      // -- one sync alone: the reference --------------------------------------------------------
      const solo = yield* Fleet.worker(open(yield* freshPgUrl("lf_fleet_solo")))
      yield* sb.clearRequests
      const alone = yield* solo.run<Synced>({ op: "sync" })
      const oneSync = (yield* lists).length
      assert.isTrue(alone.complete)
      assert.strictEqual(alone.meetings, truth.length)
      yield* solo.handle.kill

      // -- 1. four at once --------------------------------------------------------------------
      const shared = yield* freshPgUrl("lf_fleet_shared")
      const workers = yield* Effect.forEach([0, 1, 2, 3], () => Fleet.worker(open(shared)), { concurrency: "unbounded" })
      yield* sb.clearRequests
      const results = yield* Fleet.all<Synced>(workers, () => ({ op: "sync" }))
      const seen = yield* lists
      const status429 = seen.filter((r) => r.status === 429).length
      console.log(
        `fleet: one sync ${oneSync} list requests; four at once ${seen.length} (${(seen.length / oneSync).toFixed(3)}x), ` +
          `429: ${status429}; joined: ${results.filter((r) => r.joined).length} of 4`
      )
      assert.isAtMost(seen.length, 1.05 * oneSync)
      assert.strictEqual(status429, 0)
      assert.isTrue(results.every((r) => r.complete))
      const served = yield* Fleet.all<{ readonly served: number }>(workers, () => ({ op: "count" }))
      assert.deepStrictEqual(served.map((s) => s.served), [truth.length, truth.length, truth.length, truth.length])

      // The shared budget across the processes: 4 x 40 reads at once, none refused.
      yield* sb.clearRequests
      const readStarted = Date.now()
      const refreshed = yield* Fleet.all<{ readonly refreshed: number }>(workers, (i) => ({
        op: "refresh",
        ids: truth.slice(i * 40, i * 40 + 40)
      }))
      const readMillis = Date.now() - readStarted
      const reads = (yield* sb.requests).filter((r) => r.method === "GET" && r.path.startsWith("/v1/meetings/"))
      console.log(
        `fleet: ${reads.length} reads from four workers in ${readMillis} ms, ` +
          `429: ${reads.filter((r) => r.status === 429).length}`
      )
      assert.deepStrictEqual(refreshed.map((r) => r.refreshed), [40, 40, 40, 40])
      assert.strictEqual(reads.filter((r) => r.status === 429).length, 0)
      assert.strictEqual(reads.length, 160)
      // A burst of 5, then 25/s for all four together: at least (160 - 5) / 25 = 6.2 s.
      assert.isAtLeast(readMillis, 6_000)

      // -- 2. forty offline writes, replayed by all four at once ------------------------------
      yield* Fleet.all(workers, (i) => ({ op: "queue", count: 10, tag: `fleet-w${i}` }))
      yield* sb.clearRequests
      const replays = yield* Fleet.all<{ readonly replayed: number; readonly dead: number; readonly remaining: number }>(
        workers,
        () => ({ op: "replay" })
      )
      const posts = (yield* sb.requests).filter((r) => r.method === "POST" && r.path === "/v1/meetings")
      const byKey = new Map<string, number>()
      for (const p of posts) byKey.set(p.idempotencyKey ?? "(none)", (byKey.get(p.idempotencyKey ?? "(none)") ?? 0) + 1)
      console.log(`fleet: replays ${replays.map((r) => r.replayed).join("+")} = 40; ${posts.length} POSTs, ${byKey.size} keys`)
      assert.strictEqual(byKey.size, 40)
      assert.isTrue([...byKey.values()].every((n) => n === 1), JSON.stringify([...byKey]))
      assert.isTrue(posts.every((p) => p.status >= 200 && p.status < 300 && !p.replayed))
      assert.strictEqual(replays.reduce((n, r) => n + r.replayed, 0), 40)
      assert.isTrue(replays.every((r) => r.dead === 0))
      const titles = (yield* sb.meetings).flatMap((m) => {
        const t = m.fields["$title"]?.value
        return typeof t === "string" && t.startsWith("fleet-w") ? [t] : []
      })
      assert.strictEqual(new Set(titles).size, 40)
      assert.strictEqual(titles.length, 40)

      // -- 3. SIGKILL of the lease holder mid-sync ----------------------------------------------
      // More on the server and slower pages, so the kill lands mid-scan.
      yield* sb.seedMore(200)
      yield* sb.inject({ match: "GET /v1/meetings", fault: { _tag: "Latency", millis: 150 } })
      const [holder, taker, checker] = [workers[0]!, workers[1]!, workers[2]!]
      yield* holder.send({ op: "sync", concurrency: 1, progress: true })
      const progress = yield* holder.handle.waitForNth(["PROGRESS"], 3)
      assert.isTrue(Option.isSome(progress), holder.handle.stderr())
      const takeover = yield* taker.send({ op: "sync" })
      yield* holder.handle.kill
      yield* sb.clearFaults
      const completed = yield* takeover.answer<Synced>()
      assert.isTrue(completed.complete)
      assert.isFalse(completed.joined)
      const after = yield* Effect.map(
        Effect.flatMap(Env.client(baseUrl, apiKey, { maxRetries: 4 }), Env.serverView),
        (view) => [...view.keys()].sort()
      )
      const mirror = yield* checker.run<{ readonly ids: ReadonlyArray<string> }>({ op: "ids" })
      assert.deepStrictEqual([...mirror.ids].sort(), after)
    }), 240_000)
})
