/**
 * Several cache instances on one PostgreSQL database against the sandbox (real HTTP): each
 * instance is its own layer with its own pool, LISTEN connection and client, as separate workers
 * would have. What they share: one sync per principal (advisory-lock lease), one outbox (claims),
 * change notices (hot sets and `watch`). The multi-process version is the reliability suite's.
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import { NodeHttpClient } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import * as PgClient from "@effect/sql-pg/PgClient"
import { assert, describe, it } from "@effect/vitest"
import { MeetingsClient } from "@lightfield-effect/core"
import type { Meeting } from "@lightfield-effect/core"
import { Sandbox } from "@lightfield-effect/sandbox"
import { Chunk, Clock, Context, Deferred, Duration, Effect, Exit, Fiber, Layer, Option, Redacted, Stream } from "effect"
import type { Scope } from "effect"
import { Database, MeetingsCache } from "../../src/index.js"
import { cachedIds, pastMeeting } from "../sandbox.js"
import { freshPgUrl, withAdmin } from "./pgDatabase.js"

type Instance = {
  readonly cache: MeetingsCache.MeetingsCacheShape
  readonly sql: SqlClient.SqlClient
}

/** One instance: its own pool (3 connections), change-notice listener and HTTP client, until the scope closes. */
const instance = (
  sandbox: Sandbox.SandboxShape,
  url: string,
  options: Omit<MeetingsCache.MeetingsCacheOptions, "apiKey" | "principal"> = {}
): Effect.Effect<Instance, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const baseUrl = yield* sandbox.baseUrl
    const layer = MeetingsCache.layer({ apiKey: sandbox.keys.admin, ...options } as MeetingsCache.MeetingsCacheOptions).pipe(
      Layer.provideMerge(
        MeetingsClient.layerWithApiKey(sandbox.keys.admin, { baseUrl, rate: false, timeout: "5 seconds", maxRetries: 0 })
          .pipe(Layer.provide(NodeHttpClient.layerUndici))
      ),
      Layer.provideMerge(Database.layer({ url, maxConnections: 3 }))
    )
    const context = yield* Layer.build(layer)
    return { cache: Context.get(context, MeetingsCache.MeetingsCache), sql: Context.get(context, SqlClient.SqlClient) }
  })

const instances = (n: number, sandbox: Sandbox.SandboxShape, url: string) =>
  Effect.all(Array.from({ length: n }, () => instance(sandbox, url)), { concurrency: "unbounded" })

/** A sandbox with `meetings` and two instances on a fresh database. */
const pair = (meetings: number) =>
  Effect.gen(function*() {
    const sandbox = yield* Sandbox.make({ meetings, rateLimit: false })
    const url = yield* freshPgUrl()
    const [a, b] = (yield* instances(2, sandbox, url)) as [Instance, Instance]
    return { sandbox, url, a, b }
  })

const listRequests = (sandbox: Sandbox.SandboxShape) =>
  Effect.map(sandbox.requests, (rs) => rs.filter((r) => r.method === "GET" && r.path === "/v1/meetings").length)

const serverIds = (sandbox: Sandbox.SandboxShape) => Effect.map(sandbox.meetings, (ms) => ms.map((m) => m.id as string).sort())

/** The backends holding a sync lease (session advisory locks) in the current database. */
const leaseHolders = (sql: SqlClient.SqlClient) =>
  sql<{ pid: number }>`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`.pipe(Effect.map((rows) => rows.map((r) => r.pid)))

/** Poll `check` every 20 ms until it holds (or fail after `within`). */
const until = <E, R>(check: Effect.Effect<boolean, E, R>, within: Duration.DurationInput = "10 seconds") =>
  Effect.gen(function*() {
    const deadline = (yield* Clock.currentTimeMillis) + Duration.toMillis(within)
    while (!(yield* check)) {
      if ((yield* Clock.currentTimeMillis) > deadline) return yield* Effect.dieMessage("condition not met in time")
      yield* Effect.sleep("20 millis")
    }
  })

describe("one sync per principal across instances", () => {
  it.scopedLive("four instances syncing at once make one scan's list requests; the others join it and serve the full set", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.make({ meetings: 300, rateLimit: false })
      yield* sandbox.inject({ fault: { _tag: "Latency", millis: 20 }, match: "GET /v1/meetings" })
      // One sync alone (its own database): the baseline.
      const [alone] = yield* instances(1, sandbox, yield* freshPgUrl())
      yield* alone!.cache.sync()
      const single = yield* listRequests(sandbox)
      yield* sandbox.clearRequests

      const fleet = yield* instances(4, sandbox, yield* freshPgUrl())
      const results = yield* Effect.all(fleet.map((i) => i.cache.sync()), { concurrency: "unbounded" })
      const together = yield* listRequests(sandbox)
      yield* Effect.logInfo(`[figure] list requests: one sync ${single}, four at once ${together} (${(together / single).toFixed(2)}x)`)
      assert.isAtMost(together, Math.floor(single * 1.05))
      assert.isTrue(results.every((r) => r.complete))
      assert.strictEqual(results.filter((r) => r.joined === true).length, 3)
      const expected = yield* serverIds(sandbox)
      for (const { cache } of fleet) assert.deepStrictEqual(yield* cachedIds(cache), expected)
      assert.deepStrictEqual(yield* leaseHolders(fleet[0]!.sql), [])
    }), { timeout: 60_000 })

  it.scopedLive("the holder's session dies mid-sync: another instance takes over at once and completes; the mirror matches the server", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.make({ meetings: 200, rateLimit: false })
      yield* sandbox.inject({ fault: { _tag: "Latency", millis: 150 }, match: "GET /v1/meetings" })
      const url = yield* freshPgUrl()
      const [a, b] = (yield* instances(2, sandbox, url)) as [Instance, Instance]
      const syncA = yield* Effect.fork(a.cache.sync({ concurrency: 1, batchSize: 25 }))
      yield* until(Effect.map(leaseHolders(a.sql), (pids) => pids.length === 1))
      const syncB = yield* Effect.fork(b.cache.sync({ concurrency: 1, batchSize: 25 }))
      yield* until(Effect.map(a.cache.syncState, (s) => Option.isSome(s) && s.value.pages >= 2))
      // A crash of the holder as the database sees it: its lease session ends.
      const [holder] = yield* leaseHolders(a.sql)
      yield* withAdmin((admin) => admin`SELECT pg_terminate_backend(${holder!})`)
      const killedAt = yield* Clock.currentTimeMillis
      yield* until(Effect.map(leaseHolders(a.sql), (pids) => pids.length === 1 && pids[0] !== holder), "5 seconds")
      const takeover = (yield* Clock.currentTimeMillis) - killedAt
      const resultB = yield* Fiber.join(syncB)
      const exitA = yield* Fiber.await(syncA)
      yield* Effect.logInfo(`[figure] lease takeover ${takeover} ms after the holder's session ended`)
      assert.isTrue(resultB.complete)
      assert.notStrictEqual(resultB.joined, true)
      // A stopped: its session (and lease) is gone, or B's scan superseded it.
      assert.isTrue(Exit.isFailure(exitA) || (Exit.isSuccess(exitA) && !exitA.value.complete))
      assert.deepStrictEqual(yield* cachedIds(b.cache), yield* serverIds(sandbox))
      assert.deepStrictEqual(yield* cachedIds(a.cache), yield* serverIds(sandbox))
    }), { timeout: 60_000 })

  it.scopedLive("the holder's fiber is interrupted: the lease is given back and a waiting instance completes the sync", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.make({ meetings: 100, rateLimit: false })
      yield* sandbox.inject({ fault: { _tag: "Latency", millis: 100 }, match: "GET /v1/meetings" })
      const [a, b] = (yield* instances(2, sandbox, yield* freshPgUrl())) as [Instance, Instance]
      const syncA = yield* Effect.fork(a.cache.sync({ concurrency: 1, batchSize: 25 }))
      yield* until(Effect.map(leaseHolders(a.sql), (pids) => pids.length === 1))
      const syncB = yield* Effect.fork(b.cache.sync({ concurrency: 1 }))
      yield* Effect.sleep("300 millis")
      yield* Fiber.interrupt(syncA)
      const resultB = yield* Fiber.join(syncB)
      assert.isTrue(resultB.complete)
      assert.notStrictEqual(resultB.joined, true)
      assert.deepStrictEqual(yield* cachedIds(b.cache), yield* serverIds(sandbox))
    }), { timeout: 60_000 })
})

describe("one outbox shared by the instances", () => {
  /** The privacy settings each meeting's three queued updates set, in order. */
  const sequence = ["METADATA", "FULL", "METADATA"] as const

  /** 10 provisional meetings, each a create and three updates: 40 entries queued by `writer`. */
  const queueForty = (writer: Instance) =>
    Effect.gen(function*() {
      const localIds: Array<string> = []
      for (let m = 0; m < 10; m++) {
        const created = yield* writer.cache.create(pastMeeting(`Fleet ${m}`), { offline: true })
        localIds.push(created.value.id)
        for (const level of sequence) {
          yield* writer.cache.update(created.value.id, { fields: { $privacySetting: level } }, { offline: true })
        }
      }
      assert.strictEqual((yield* writer.cache.outbox).length, 40)
      return localIds
    })

  /** Every write the sandbox saw, by idempotency key, and the titles each meeting went through in order. */
  const writesSeen = (sandbox: Sandbox.SandboxShape) =>
    Effect.map(sandbox.requests, (rs) => {
      const writes = rs.filter((r) => r.method === "POST")
      const byKey = new Map<string, number>()
      for (const w of writes) byKey.set(w.idempotencyKey ?? "none", (byKey.get(w.idempotencyKey ?? "none") ?? 0) + 1)
      return { writes: writes.length, keys: byKey }
    })

  it.scopedLive("four instances replaying 40 queued writes at once: each key reaches the sandbox once, each meeting in order", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.make({ meetings: 0, rateLimit: false })
      yield* sandbox.inject({ fault: { _tag: "Latency", millis: 15 }, match: "POST" })
      const fleet = yield* instances(4, sandbox, yield* freshPgUrl())
      yield* queueForty(fleet[0]!)
      yield* sandbox.clearRequests
      const results = yield* Effect.all(fleet.map((i) => i.cache.replay), { concurrency: "unbounded" })
      const { keys, writes } = yield* writesSeen(sandbox)
      const duplicates = [...keys.values()].filter((n) => n > 1).length
      yield* Effect.logInfo(
        `[figure] outbox: ${writes} writes for 40 entries, ${duplicates} keys seen twice; replayed per instance ${
          results.map((r) => r.replayed).join("/")
        }`
      )
      assert.strictEqual(results.reduce((n, r) => n + r.replayed, 0), 40)
      assert.strictEqual(writes, 40)
      assert.strictEqual(keys.size, 40)
      assert.strictEqual(duplicates, 0)
      assert.strictEqual((yield* fleet[1]!.cache.outbox).length, 0)
      // Order per meeting: each meeting was created once, then its updates arrived in their order.
      const requests = yield* sandbox.requests
      const meetings = yield* sandbox.meetings
      assert.deepStrictEqual(
        meetings.map((m) => Option.getOrUndefined(m.title)).sort(),
        Array.from({ length: 10 }, (_, m) => `Fleet ${m}`).sort()
      )
      for (const meeting of meetings) {
        const sent = requests.filter((r) => r.path === `/v1/meetings/${meeting.id}`).map((r) =>
          (r.body as { fields: { $privacySetting: string } }).fields.$privacySetting
        )
        assert.deepStrictEqual(sent, [...sequence])
        assert.deepStrictEqual(meeting.privacySetting, Option.some("METADATA"))
      }
    }), { timeout: 60_000 })

  it.scopedLive("a dead worker's claims: nobody takes them while they last, another instance replays them once they expire", () =>
    Effect.gen(function*() {
      const { a: writer, b: other, sandbox } = yield* pair(0)
      yield* queueForty(writer)
      // A worker that claimed every entry and died: its claims last 1.5 s more on the database clock.
      yield* writer.sql`UPDATE outbox SET claimed_by = 'dead-worker',
        claimed_until = CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) + 1500`
      yield* sandbox.clearRequests
      const early = yield* other.cache.replay
      assert.strictEqual(early.replayed, 0)
      assert.strictEqual(early.remaining, 40)
      assert.strictEqual((yield* writesSeen(sandbox)).writes, 0)
      yield* Effect.sleep("1600 millis")
      const late = yield* other.cache.replay
      assert.strictEqual(late.replayed, 40)
      const { keys, writes } = yield* writesSeen(sandbox)
      assert.strictEqual(writes, 40)
      assert.strictEqual(keys.size, 40)
    }), { timeout: 60_000 })

  it.scopedLive("a worker whose answers are slow keeps its claims (renewed), so a second worker never sends its entries", () =>
    Effect.gen(function*() {
      const { a, b, sandbox } = yield* pair(0)
      const localId = yield* a.cache.create(pastMeeting("Slow"), { offline: true })
      yield* sandbox.inject({ fault: { _tag: "Latency", millis: 4000 }, match: "POST /v1/meetings", times: 1 })
      // Claims last 1.5 s here: without renewal, b would claim the entry while a's request is out.
      const slow = yield* Effect.fork(Effect.provideService(a.cache.replay, MeetingsCache.OutboxClaimTtl, Duration.millis(1500)))
      yield* until(Effect.map(sandbox.inFlight, (n) => n === 1))
      yield* Effect.sleep("2500 millis")
      const meanwhile = yield* Effect.provideService(b.cache.replay, MeetingsCache.OutboxClaimTtl, Duration.millis(1500))
      assert.strictEqual(meanwhile.replayed, 0)
      assert.strictEqual((yield* Fiber.join(slow)).replayed, 1)
      const creates = (yield* sandbox.requests).filter((r) => r.method === "POST" && r.path === "/v1/meetings")
      assert.strictEqual(creates.length, 1)
      assert.isTrue(Option.isSome(yield* b.cache.resolveId(localId.value.id)))
    }), { timeout: 60_000 })
})

describe("change notices between instances", () => {
  it.scopedLive("a write in instance A: B's hot copy is dropped and B's watch emits within 1 s; notices carry ids, not content", () =>
    Effect.gen(function*() {
      const { a, b, sandbox, url } = yield* pair(5)
      yield* a.cache.sync()
      const [id] = yield* serverIds(sandbox)
      yield* Effect.sleep("300 millis")
      // Hot in B (admitted on its second read).
      yield* b.cache.retrieve(id!, { policy: "CacheOnly" })
      yield* b.cache.retrieve(id!, { policy: "CacheOnly" })
      // Raw notices, as any session on the database could see them.
      const listener = yield* PgClient.make({ url: Redacted.make(url), maxConnections: 1 }).pipe(Effect.provide(Reactivity.layer))
      const raw = yield* Effect.fork(
        Stream.runCollect(Stream.take(listener.listen("lf_cache_changes").pipe(Stream.filter((p) => p.startsWith("m "))), 1))
      )
      yield* Effect.sleep("300 millis")
      const emitted = yield* Deferred.make<number>()
      const level = Option.getOrUndefined((yield* b.cache.retrieve(id!, { policy: "CacheOnly" })).value.privacySetting) === "METADATA"
        ? "FULL" as const
        : "METADATA" as const
      const changed = (m: Meeting.Meeting) => Option.getOrUndefined(m.privacySetting) === level
      yield* Effect.forkScoped(
        b.cache.watch({}).pipe(
          Stream.filter((rows) => rows.some((r) => r.value.id === id && changed(r.value))),
          Stream.take(1),
          Stream.runForEach(() => Effect.flatMap(Clock.currentTimeMillis, (now) => Deferred.succeed(emitted, now)))
        )
      )
      yield* Effect.sleep("300 millis")
      const before = yield* Clock.currentTimeMillis
      yield* a.cache.update(id!, { fields: { $privacySetting: level } })
      const wrote = yield* Clock.currentTimeMillis
      const at = yield* Deferred.await(emitted).pipe(Effect.timeout("1 second"))
      yield* Effect.logInfo(`[figure] notice latency: B's watch emitted ${at - wrote} ms after A's write returned (${at - before} ms after it began)`)
      // B's hot copy is gone: the read by id finds the new version.
      assert.isTrue(changed((yield* b.cache.retrieve(id!, { policy: "CacheOnly" })).value))
      // The notice names the principal and the meeting id: no title, no field, no content.
      const payloads = Chunk.toReadonlyArray(yield* Fiber.join(raw).pipe(Effect.timeout("2 seconds")))
      assert.deepStrictEqual(payloads, [`m ${a.cache.principal} ${id}`])
    }), { timeout: 60_000 })

  it.scopedLive("B's LISTEN session is killed: the listener notices, listens again and drops every hot copy", () =>
    Effect.gen(function*() {
      const { a, b, sandbox, url } = yield* pair(3)
      yield* a.cache.sync()
      const [id] = yield* serverIds(sandbox)
      yield* b.cache.retrieve(id!, { policy: "CacheOnly" })
      yield* b.cache.retrieve(id!, { policy: "CacheOnly" })
      yield* withAdmin((admin) =>
        admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = ${
          new URL(url).pathname.slice(1)
        }`
      )
      // Written while B hears nothing: only the reset after B listens again can drop its copy.
      const level = Option.getOrUndefined((yield* b.cache.retrieve(id!, { policy: "CacheOnly" })).value.privacySetting) === "METADATA"
        ? "FULL" as const
        : "METADATA" as const
      yield* a.cache.update(id!, { fields: { $privacySetting: level } })
      yield* until(
        Effect.map(b.cache.retrieve(id!, { policy: "CacheOnly" }), (c) => Option.getOrUndefined(c.value.privacySetting) === level),
        "15 seconds"
      )
    }), { timeout: 60_000 })
})
