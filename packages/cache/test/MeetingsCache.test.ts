import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { Meeting, Meetings, MeetingsError } from "@lightfield-effect/core"
import { Chunk, ConfigProvider, Duration, Effect, Layer, Metric, Option, Queue, Stream } from "effect"
import { existsSync } from "node:fs"
import { CachedMeetings, CacheMetrics, Database, MeetingsCache, Principal } from "../src/index.js"
import { cacheLayer, createParams, eventually, type Fake, fakeLayer, makeFake, many, meeting, withCache } from "./fixtures.js"
import { databases } from "./databases.js"

describe.each(databases)("MeetingsCache read policies (fake network) ($name)", (db) => {
  it.scopedLive("CacheFirst: network on a miss, cache afterwards, also offline", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake([meeting("mtg_1")])
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          const first = yield* cache.retrieve("mtg_1", { policy: "CacheFirst" })
          assert.strictEqual(first.source, "network")
          fake.state.down = true
          const second = yield* cache.retrieve("mtg_1", { policy: "CacheFirst" })
          assert.strictEqual(second.source, "cache")
          assert.isFalse(second.pending)
          assert.strictEqual(second.value.id, "mtg_1")
          const miss = yield* Effect.flip(cache.retrieve("mtg_2", { policy: "CacheFirst" }))
          assert.strictEqual(miss._tag, "MeetingsUnavailable")
        }))
    }))

  it.scopedLive("CacheOnly never touches the network; a miss is CacheMiss", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake([meeting("mtg_1")])
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          const miss = yield* Effect.flip(cache.retrieve("mtg_1", { policy: "CacheOnly" }))
          assert.strictEqual(miss._tag, "CacheMiss")
          assert.strictEqual(fake.state.requests.length, 0)
          yield* cache.retrieve("mtg_1", { policy: "NetworkFirst" })
          const hit = yield* cache.retrieve("mtg_1", { policy: "CacheOnly" })
          assert.strictEqual(hit.source, "cache")
          assert.strictEqual(fake.state.requests.length, 1)
        }))
    }))

  it.scopedLive("NetworkFirst: network online, cache when unreachable, error when unreachable and uncached", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake([meeting("mtg_1"), meeting("mtg_2")])
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          const online = yield* cache.retrieve("mtg_1", { policy: "NetworkFirst" })
          assert.strictEqual(online.source, "network")
          const again = yield* cache.retrieve("mtg_1", { policy: "NetworkFirst" })
          assert.strictEqual(again.source, "network")
          fake.state.down = true
          const offline = yield* cache.retrieve("mtg_1", { policy: "NetworkFirst", maxAge: "0 millis" })
          assert.strictEqual(offline.source, "cache")
          const error = yield* Effect.flip(cache.retrieve("mtg_2", { policy: "NetworkFirst" }))
          assert.strictEqual(error._tag, "MeetingsUnavailable")
        }))
    }))

  it.scopedLive("StaleWhileRevalidate answers stale from cache and refreshes in the background", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake([meeting("mtg_1", { title: "Old title" })])
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          const first = yield* cache.retrieve("mtg_1", { policy: "StaleWhileRevalidate" })
          assert.strictEqual(first.source, "network")
          const fresh = yield* cache.retrieve("mtg_1", { policy: "StaleWhileRevalidate", maxAge: "1 hour" })
          assert.isFalse(fresh.stale)
          fake.state.meetings.set("mtg_1", meeting("mtg_1", { title: "New title" }))
          yield* Effect.sleep("5 millis")
          const stale = yield* cache.retrieve("mtg_1", { policy: "StaleWhileRevalidate", maxAge: "1 milli" })
          assert.strictEqual(stale.source, "cache")
          assert.isTrue(stale.stale)
          assert.deepStrictEqual(stale.value.title, Option.some("Old title"))
          // The background refresh lands shortly.
          yield* eventually(Effect.map(
            cache.retrieve("mtg_1", { policy: "CacheOnly" }),
            (c) => Option.getOrUndefined(c.value.title) === "New title"
          ))
          const refreshed = yield* cache.retrieve("mtg_1", { policy: "CacheOnly" })
          assert.deepStrictEqual(refreshed.value.title, Option.some("New title"))
          assert.isTrue(Duration.lessThan(refreshed.age, Duration.seconds(1)))
          // Offline, a stale answer is still served.
          fake.state.down = true
          yield* Effect.sleep("5 millis")
          const offline = yield* cache.retrieve("mtg_1", { policy: "StaleWhileRevalidate", maxAge: "1 milli" })
          assert.strictEqual(offline.source, "cache")
          assert.isTrue(offline.stale)
        }))
    }))

  it.scopedLive("a 404 marks the meeting gone; gone rows are not served", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake([meeting("mtg_1")])
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          yield* cache.retrieve("mtg_1")
          fake.state.meetings.delete("mtg_1")
          const error = yield* Effect.flip(cache.retrieve("mtg_1", { policy: "NetworkFirst" }))
          assert.strictEqual(error._tag, "MeetingNotFound")
          const miss = yield* Effect.flip(cache.retrieve("mtg_1", { policy: "CacheOnly" }))
          assert.strictEqual(miss._tag, "CacheMiss")
          const stats = yield* cache.stats
          assert.strictEqual(stats.gone, 1)
          // The tombstone keeps no content.
          const sql = yield* SqlClient.SqlClient
          const rows = yield* sql<{ body: string; description: string | null }>`SELECT body, description FROM meetings WHERE id = 'mtg_1'`
          assert.deepStrictEqual(rows.map((r) => [r.body, r.description]), [["{}", null]])
          // It comes back if the server shows it again.
          fake.state.meetings.set("mtg_1", meeting("mtg_1"))
          assert.strictEqual((yield* cache.retrieve("mtg_1", { policy: "CacheFirst" })).source, "network")
          assert.strictEqual((yield* cache.retrieve("mtg_1", { policy: "CacheOnly" })).source, "cache")
        }))
    }))
})

describe.each(databases)("MeetingsCache sync (fake network) ($name)", (db) => {
  it.scopedLive("full sync, progress, then reads offline; vanished meetings are marked gone only after a complete scan", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake(many(260))
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          const events: Array<number> = []
          const result = yield* cache.sync({ batchSize: 100, onProgress: (p) => Effect.sync(() => events.push(p.meetings)) })
          assert.strictEqual(result.meetings, 260)
          assert.deepStrictEqual(result.gone, [])
          assert.isTrue(events.length >= 3)
          assert.strictEqual(events[events.length - 1], 260)
          fake.state.down = true
          assert.strictEqual(yield* cache.count(), 260)
          const got = yield* cache.retrieve("m_00042", { policy: "NetworkFirst" })
          assert.strictEqual(got.source, "cache")
          const byOrganizer = yield* cache.query({ organizer: "org3@acme.test", limit: 1000 })
          assert.strictEqual(byOrganizer.length, 37)
          // Removal on the server + a failed (partial) sync: nothing is marked gone.
          fake.state.meetings.delete("m_00001")
          fake.state.meetings.delete("m_00002")
          const failed = yield* Effect.flip(cache.sync())
          assert.strictEqual(failed._tag, "MeetingsUnavailable")
          assert.strictEqual(yield* cache.count(), 260)
          fake.state.down = false
          const second = yield* cache.sync()
          assert.deepStrictEqual([...second.gone].sort(), ["m_00001", "m_00002"])
          assert.strictEqual(second.resumedAfterInterrupted, 1)
          assert.strictEqual(yield* cache.count(), 258)
          const gone = yield* Effect.flip(cache.retrieve("m_00001", { policy: "CacheOnly" }))
          assert.strictEqual(gone._tag, "CacheMiss")
        }))
    }))

  it.scopedLive("read-your-writes: a created meeting the lagging list does not show stays and is re-fetched by id", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake(many(30))
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          yield* cache.sync()
          const created = yield* cache.create(createParams("Fresh"))
          assert.strictEqual(created.source, "network")
          fake.state.hidden.add(created.value.id)
          const result = yield* cache.sync()
          assert.strictEqual(result.refetched, 1)
          assert.deepStrictEqual(result.gone, [])
          assert.isTrue(fake.state.requests.some((r) => r.op === "retrieve" && r.id === created.value.id))
          const still = yield* cache.retrieve(created.value.id, { policy: "CacheOnly" })
          assert.deepStrictEqual(still.value.title, Option.some("Fresh"))
          // Once the index shows it, the marker is cleared: no more re-fetches.
          fake.state.hidden.clear()
          const third = yield* cache.sync()
          assert.strictEqual(third.refetched, 0)
          // And when it vanishes, a complete scan marks it gone.
          fake.state.meetings.delete(created.value.id)
          const fourth = yield* cache.sync()
          assert.deepStrictEqual(fourth.gone, [created.value.id])
        }))
    }))
})

describe.each(databases)("MeetingsCache outbox (fake network) ($name)", (db) => {
  it.scopedLive("offline writes survive a restart and replay once, in order, resolving provisional ids", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake([meeting("mtg_1")])
      const queued = yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          yield* cache.retrieve("mtg_1")
          fake.state.down = true
          const created = yield* cache.create(createParams("Offline one"))
          assert.isTrue(created.pending)
          assert.isTrue(created.value.id.startsWith("local_"))
          const updated = yield* cache.update(created.value.id, { fields: { $privacySetting: "METADATA" } })
          assert.isTrue(updated.pending)
          const update2 = yield* cache.update("mtg_1", { fields: { $privacySetting: "METADATA" } })
          assert.isTrue(update2.pending)
          const local = yield* cache.retrieve(created.value.id, { policy: "NetworkFirst" })
          assert.isTrue(local.pending)
          assert.deepStrictEqual(local.value.privacySetting, Option.some("METADATA"))
          assert.strictEqual((yield* cache.query({ text: "offline" })).length, 1)
          assert.strictEqual((yield* cache.outbox).length, 3)
          return created.value.id
        }))
      assert.strictEqual(fake.state.requests.filter((r) => r.op === "create").length, 0)

      // A new layer on the same file: the outbox is still there.
      fake.state.down = false
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          const entries = yield* cache.outbox
          assert.deepStrictEqual(entries.map((e) => e.op), ["create", "update", "update"])
          const result = yield* cache.replay
          assert.strictEqual(result.replayed, 3)
          assert.strictEqual(result.remaining, 0)
          const real = yield* cache.resolveId(queued)
          assert.isTrue(Option.isSome(real))
          const realId = Option.getOrThrow(real)
          assert.deepStrictEqual(result.resolved, [{ localId: queued, id: realId }])
          const byLocal = yield* cache.retrieve(queued, { policy: "CacheOnly" })
          assert.strictEqual(byLocal.value.id, realId)
          assert.isFalse(byLocal.pending)
          const updates = fake.state.requests.filter((r) => r.op === "update")
          assert.deepStrictEqual(updates.map((r) => r.id), [realId, "mtg_1"])
          assert.deepStrictEqual(fake.state.meetings.get(realId)?.privacySetting, Option.some("METADATA"))
          const again = yield* cache.replay
          assert.strictEqual(again.replayed, 0)
          assert.strictEqual(fake.state.requests.filter((r) => r.op === "create").length, 1)
          const stats = yield* cache.stats
          assert.strictEqual(stats.outbox, 0)
          assert.strictEqual(stats.pending, 0)
        }))
    }))

  it.scopedLive("a create that reached the server before the connection dropped is executed once (same idempotency key)", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake()
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          fake.state.dropAfterCommit = true
          const created = yield* cache.create(createParams("Dropped"))
          assert.isTrue(created.pending)
          assert.strictEqual(fake.state.meetings.size, 1)
          const result = yield* cache.replay
          assert.strictEqual(result.replayed, 1)
          assert.strictEqual(fake.state.meetings.size, 1)
          const creates = fake.state.requests.filter((r) => r.op === "create")
          assert.strictEqual(creates.length, 2)
          assert.strictEqual(creates[0]!.idempotencyKey, creates[1]!.idempotencyKey)
          assert.isTrue(creates[1]!.replayed)
        }))
    }))

  it.scopedLive("autoReplay drains the outbox in the background once the network is back", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake()
      fake.state.down = true
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          yield* cache.create(createParams("Auto"))
          assert.strictEqual((yield* cache.outbox).length, 1)
          fake.state.down = false
          yield* eventually(Effect.map(cache.outbox, (entries) => entries.length === 0))
          assert.strictEqual(fake.state.meetings.size, 1)
        }), { principal: "auto", autoReplay: "20 millis" })
    }))

  it.scopedLive("permanent failures become dead letters with their error; dependants die too; nothing is dropped", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake()
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          const created = yield* cache.create(createParams("Doomed"), { offline: true })
          yield* cache.update(created.value.id, { fields: { $privacySetting: "FULL" } }, { offline: true })
          fake.state.writeFailure = new MeetingsError.Unprocessable({ message: "no", param: "fields.$startDate" })
          const result = yield* cache.replay
          assert.strictEqual(result.dead, 2)
          assert.strictEqual(result.remaining, 0)
          const dead = yield* cache.deadLetters
          assert.deepStrictEqual(dead.map((d) => [d.op, d.lastError?._tag]), [
            ["create", "Unprocessable"],
            ["update", "DependencyFailed"]
          ])
          const miss = yield* Effect.flip(cache.retrieve(created.value.id, { policy: "CacheOnly" }))
          assert.strictEqual(miss._tag, "CacheMiss")
          // Retry after the cause is fixed.
          fake.state.writeFailure = undefined
          yield* cache.retryDeadLetter(dead[0]!.seq)
          yield* cache.retryDeadLetter(dead[1]!.seq)
          const retried = yield* cache.replay
          assert.strictEqual(retried.replayed, 2)
          assert.strictEqual((yield* cache.deadLetters).length, 0)
        }))
    }))

  it.scopedLive("online writes go through and are cached at once; offline update of an uncached meeting is refused", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake([meeting("mtg_1")])
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          const created = yield* cache.create(createParams("Online"))
          assert.strictEqual(created.source, "network")
          fake.state.down = true
          const read = yield* cache.retrieve(created.value.id, { policy: "CacheOnly" })
          assert.deepStrictEqual(read.value.title, Option.some("Online"))
          const refused = yield* Effect.flip(cache.update("mtg_1", { fields: { $privacySetting: "FULL" } }))
          assert.strictEqual(refused._tag, "MeetingsUnavailable")
          assert.strictEqual((yield* cache.outbox).length, 0)
          const invalid = yield* Effect.flip(cache.create({ ...createParams("x"), fields: { ...createParams("x").fields, $title: " " } }))
          assert.strictEqual(invalid._tag, "InvalidParams")
        }))
    }))

  it.scopedLive("rebuild drops the mirror and keeps the outbox (pending creates stay visible)", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake(many(40))
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          yield* cache.sync()
          const created = yield* cache.create(createParams("Queued"), { offline: true })
          yield* cache.rebuild
          const stats = yield* cache.stats
          assert.strictEqual(stats.meetings, 1)
          assert.strictEqual(stats.outbox, 1)
          assert.isTrue(Option.isNone(stats.lastSync))
          const local = yield* cache.retrieve(created.value.id, { policy: "CacheOnly" })
          assert.isTrue(local.pending)
          yield* cache.sync()
          assert.strictEqual(yield* cache.count(), 41)
          yield* cache.replay
          assert.strictEqual(yield* cache.count(), 41)
        }))
    }))
})

describe.each(databases)("MeetingsCache principals and layers ($name)", (db) => {
  it.scopedLive("two principals on one file do not see each other's rows or outbox", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake(many(10))
      yield* withCache(file, fake, (cache) => Effect.asVoid(cache.sync()), { apiKey: "sk_lf_one" })
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          assert.strictEqual(cache.principal, Principal.fromApiKey("sk_lf_two"))
          assert.strictEqual(yield* cache.count(), 0)
          const miss = yield* Effect.flip(cache.retrieve("m_00001", { policy: "CacheOnly" }))
          assert.strictEqual(miss._tag, "CacheMiss")
          yield* cache.create(createParams("Mine"), { offline: true })
        }), { apiKey: "sk_lf_two" })
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          assert.strictEqual(yield* cache.count(), 10)
          assert.strictEqual((yield* cache.outbox).length, 0)
        }), { apiKey: "sk_lf_one" })
    }))

  it.scopedLive("two connections on one file write concurrently without SQLITE_BUSY reaching callers", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fakeA = makeFake(many(1500, "a"))
      const fakeB = makeFake(many(1500, "b"))
      const run = (fake: Fake, principal: string) =>
        withCache(file, fake, (cache) =>
          Effect.gen(function*() {
            yield* cache.sync({ batchSize: 50 })
            for (let i = 0; i < 20; i++) {
              yield* cache.create(createParams(`w${i}`), { offline: true })
            }
            return yield* cache.count()
          }), { principal })
      const [a, b] = yield* Effect.all([run(fakeA, "A"), run(fakeB, "B")], { concurrency: 2 })
      assert.strictEqual(a, 1520)
      assert.strictEqual(b, 1520)
    }))

  it.scopedLive("layerMeetings provides core's Meetings on top of the cache", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake(many(60))
      const live = CachedMeetings.layer({ policy: "NetworkFirst" }).pipe(
        Layer.provide(cacheLayer(file, fake))
      )
      yield* Effect.gen(function*() {
        const meetings = yield* Meetings.Meetings
        const page = yield* meetings.list({ limit: 10 })
        assert.strictEqual(page.data.length, 10)
        assert.strictEqual(page.totalCount, 60)
        const m = yield* meetings.retrieve("m_00003")
        assert.strictEqual(m.id, "m_00003")
        fake.state.down = true
        const offline = yield* meetings.retrieve("m_00003")
        assert.strictEqual(offline.id, "m_00003")
        const created = yield* meetings.create(createParams("Via layer"))
        assert.isTrue(created.id.startsWith("local_"))
        // Offline, the stream serves what the cache has: a page of 10, one retrieved, one queued.
        assert.strictEqual(Chunk.size(yield* Stream.runCollect(meetings.stream())), 12)
        fake.state.down = false
        // Online (NetworkFirst), it syncs first.
        assert.strictEqual(Chunk.size(yield* Stream.runCollect(meetings.stream())), 61)
      }).pipe(Effect.provide(live))
    }))
})

describe.each(databases)("MeetingsCache progress, metrics and config ($name)", (db) => {
  it.scopedLive("progress is published on a stream and to the callback; metrics count hits and misses", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake(many(120))
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          // Subscribe first, then sync: no event can be missed.
          const events = yield* Effect.scoped(Effect.gen(function*() {
            const subscription = yield* cache.subscribeProgress
            yield* cache.sync({ batchSize: 40 })
            return Chunk.toReadonlyArray(yield* Queue.takeAll(subscription))
          }))
          assert.strictEqual(events[events.length - 1]!.phase, "done")
          assert.strictEqual(events[events.length - 1]!.meetings, 120)
          assert.isTrue(events.some((e) => e.phase === "scanning" && e.ratePerSecond > 0))
          assert.isTrue(events.every((e) => e.scanId === events[0]!.scanId))

          const hits = Metric.tagged(CacheMetrics.hits, "policy", "CacheOnly")
          const misses = Metric.tagged(CacheMetrics.misses, "policy", "CacheOnly")
          const hitsBefore = (yield* Metric.value(hits)).count
          const missesBefore = (yield* Metric.value(misses)).count
          yield* cache.retrieve("m_00001", { policy: "CacheOnly" })
          yield* Effect.flip(cache.retrieve("nope", { policy: "CacheOnly" }))
          assert.strictEqual((yield* Metric.value(hits)).count - hitsBefore, 1)
          assert.strictEqual((yield* Metric.value(misses)).count - missesBefore, 1)
          yield* cache.create(createParams("Queued"), { offline: true })
          assert.strictEqual((yield* Metric.value(CacheMetrics.outboxDepth)).value, 1)
        }))
    }))

  it.scopedLive("read counts and the hit ratio persist across restarts of the service", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake([meeting("mtg_1")])
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          const before = yield* cache.stats
          assert.deepStrictEqual(before.reads, { hits: 0, misses: 0, stale: 0, hitRatio: Option.none() })
          yield* cache.retrieve("mtg_1") // miss, then fetched
          yield* cache.retrieve("mtg_1") // hit
          yield* cache.retrieve("mtg_1", { policy: "CacheOnly" }) // hit
        }))
      // A new service on the same file sees what the closed one counted.
      const after = yield* withCache(file, fake, (cache) => cache.stats)
      assert.strictEqual(after.reads.hits, 2)
      assert.strictEqual(after.reads.misses, 1)
      assert.deepStrictEqual(after.reads.hitRatio, Option.some(2 / 3))
      // Another principal's counts are its own.
      const other = yield* withCache(file, fake, (cache) => cache.stats, { principal: "someone-else" })
      assert.strictEqual(other.reads.hits + other.reads.misses, 0)
    }))

  it.scopedLive("layerConfig reads the principal, policy and path from Config", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake([meeting("mtg_1")])
      const live = MeetingsCache.layerConfig().pipe(
        Layer.provide(fakeLayer(fake)),
        Layer.provide(Database.layerConfig()),
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([
          ["LIGHTFIELD_API_KEY", "sk_lf_config"],
          [db.name === "postgres" ? "LIGHTFIELD_CACHE_URL" : "LIGHTFIELD_CACHE_PATH", file],
          ["LIGHTFIELD_CACHE_POLICY", "NetworkFirst"]
        ]))))
      )
      yield* Effect.gen(function*() {
        const cache = yield* MeetingsCache.MeetingsCache
        assert.strictEqual(cache.principal, Principal.fromApiKey("sk_lf_config"))
        const answer = yield* cache.retrieve("mtg_1")
        assert.strictEqual(answer.source, "network")
        assert.strictEqual((yield* cache.retrieve("mtg_1")).source, "network")
      }).pipe(Effect.provide(live))
      if (db.name === "sqlite") assert.isTrue(existsSync(file))
    }))
})

// Keep the Meeting import used for type-level checks.
export type _M = Meeting.Meeting
