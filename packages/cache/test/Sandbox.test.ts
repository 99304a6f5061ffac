/**
 * Integration: the cache over core's real HTTP client against the sandbox (real sockets).
 */
import { assert, describe, it } from "@effect/vitest"
import { Sandbox } from "@lightfield-effect/sandbox"
import { Meetings } from "@lightfield-effect/core"
import { Chunk, Deferred, Effect, Fiber, Layer, Option, Stream } from "effect"
import { CachedMeetings, MeetingsCache } from "../src/index.js"
import { databaseLayer, eventually } from "./fixtures.js"
import { cachedIds, cacheLayer, pastMeeting, principalOf, storedRows, withCache } from "./sandbox.js"
import { databases } from "./databases.js"

const serverIds = (sandbox: Sandbox.SandboxShape) =>
  Effect.map(sandbox.meetings, (ms) => ms.map((m) => m.id as string).sort())

describe.each(databases)("cache over the sandbox: read policies ($name)", (db) => {
  it.scopedLive("each policy online and with the sandbox stopped", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 30, rateLimit: false })
      const [a, b] = (yield* serverIds(sandbox)).slice(0, 2) as [string, string]
      yield* withCache(sandbox, "admin", file, (cache) =>
        Effect.gen(function*() {
          // Online.
          const miss = yield* Effect.flip(cache.retrieve(a, { policy: "CacheOnly" }))
          assert.strictEqual(miss._tag, "CacheMiss")
          assert.strictEqual((yield* cache.retrieve(a, { policy: "CacheFirst" })).source, "network")
          assert.strictEqual((yield* cache.retrieve(a, { policy: "CacheFirst" })).source, "cache")
          assert.strictEqual((yield* cache.retrieve(a, { policy: "NetworkFirst" })).source, "network")
          assert.strictEqual((yield* cache.retrieve(a, { policy: "StaleWhileRevalidate" })).source, "cache")
          assert.strictEqual((yield* cache.retrieve(a, { policy: "CacheOnly" })).source, "cache")

          // Offline.
          yield* sandbox.stop
          for (const policy of ["CacheFirst", "StaleWhileRevalidate", "NetworkFirst", "CacheOnly"] as const) {
            const answer = yield* cache.retrieve(a, { policy, maxAge: "0 millis" })
            assert.strictEqual(answer.source, "cache", policy)
            assert.strictEqual(answer.value.id, a)
          }
          const offlineMiss = yield* Effect.flip(cache.retrieve(b, { policy: "NetworkFirst" }))
          assert.strictEqual(offlineMiss._tag, "MeetingsUnavailable")
          const offlineMiss2 = yield* Effect.flip(cache.retrieve(b, { policy: "CacheFirst" }))
          assert.strictEqual(offlineMiss2._tag, "MeetingsUnavailable")
          const cacheOnlyMiss = yield* Effect.flip(cache.retrieve(b, { policy: "CacheOnly" }))
          assert.strictEqual(cacheOnlyMiss._tag, "CacheMiss")

          // Back online: NetworkFirst goes to the network again.
          yield* sandbox.start
          assert.strictEqual((yield* cache.retrieve(b, { policy: "NetworkFirst" })).source, "network")
        }))
    }))
})

describe.each(databases)("cache over the sandbox: revalidation and the Meetings layer ($name)", (db) => {
  it.scopedLive("StaleWhileRevalidate refreshes in the background (seen in the sandbox's request log)", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 10, rateLimit: false })
      const [a] = yield* serverIds(sandbox)
      yield* withCache(sandbox, "admin", file, (cache) =>
        Effect.gen(function*() {
          yield* cache.retrieve(a!, { policy: "CacheFirst" })
          yield* sandbox.clearRequests
          yield* Effect.sleep("5 millis")
          const stale = yield* cache.retrieve(a!, { policy: "StaleWhileRevalidate", maxAge: "1 milli" })
          assert.isTrue(stale.stale)
          assert.strictEqual(stale.source, "cache")
          yield* eventually(Effect.map(
            sandbox.requests,
            (requests) => requests.some((r) => r.method === "GET" && r.path === `/v1/meetings/${a}`)
          ))
          // The refreshed copy is stored once the answer is in.
          yield* eventually(Effect.map(cache.retrieve(a!, { policy: "CacheOnly", maxAge: "1 minute" }), (c) => !c.stale))
        }))
    }))

  it.scopedLive("layerMeetings serves core's Meetings online and with the sandbox stopped", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 40, rateLimit: false })
      const ids = yield* serverIds(sandbox)
      const live = CachedMeetings.layer({ policy: "NetworkFirst" }).pipe(
        Layer.provide(cacheLayer(sandbox, "member", file))
      )
      yield* Effect.gen(function*() {
        const meetings = yield* Meetings.Meetings
        const all = yield* Stream.runCollect(meetings.stream())
        assert.strictEqual(Chunk.size(all), 40)
        yield* sandbox.stop
        const one = yield* meetings.retrieve(ids[3]!)
        assert.strictEqual(one.id, ids[3])
        const page = yield* meetings.list({ limit: 25, offset: 25 })
        assert.strictEqual(page.data.length, 15)
        const created = yield* meetings.create(pastMeeting("Offline via Meetings"))
        assert.isTrue(created.id.startsWith("local_"))
        const missing = yield* Effect.flip(meetings.retrieve("mtg_does_not_exist"))
        assert.strictEqual(missing._tag, "MeetingsUnavailable")
        yield* sandbox.start
        const gone = yield* Effect.flip(meetings.retrieve("mtg_does_not_exist"))
        assert.strictEqual(gone._tag, "MeetingNotFound")
      }).pipe(Effect.provide(live))
    }))

  it.scopedLive("a write through one connection is seen by another connection of the same principal", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 10, rateLimit: false })
      const [a] = yield* serverIds(sandbox)
      const readerLayer = cacheLayer(sandbox, "member", file)
      yield* Effect.gen(function*() {
        const reader = yield* MeetingsCache.MeetingsCache
        const before = yield* reader.retrieve(a!, { policy: "CacheFirst" })
        assert.strictEqual(before.source, "network")
        yield* withCache(sandbox, "member", file, (writer) =>
          Effect.asVoid(writer.update(a!, { fields: { $privacySetting: "METADATA" } })))
        // The reader's hot set notices the other connection's commit (PRAGMA data_version, ≤ 100 ms).
        yield* eventually(Effect.map(
          reader.retrieve(a!, { policy: "CacheOnly" }),
          (after) => Option.getOrUndefined(after.value.privacySetting) === "METADATA"
        ))
      }).pipe(Effect.provide(readerLayer))
    }))
})

describe.each(databases)("cache over the sandbox: sync ($name)", (db) => {
  it.scopedLive("a sync of 2,000 meetings, then every read served with the network down", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 2000, rateLimit: false })
      const ids = yield* serverIds(sandbox)
      yield* withCache(sandbox, "admin", file, (cache) =>
        Effect.gen(function*() {
          const result = yield* cache.sync({ concurrency: 4 })
          assert.strictEqual(result.meetings, 2000)
          assert.strictEqual(result.pages, 80)
          yield* sandbox.stop
          assert.deepStrictEqual(yield* cachedIds(cache), ids)
          for (const id of ids) {
            const answer = yield* cache.retrieve(id, { policy: "CacheFirst" })
            assert.strictEqual(answer.source, "cache")
          }
          for (const id of ids.slice(0, 100)) {
            const answer = yield* cache.retrieve(id, { policy: "NetworkFirst" })
            assert.strictEqual(answer.source, "cache")
          }
          const page = yield* cache.list({ limit: 25, offset: 100 }, { policy: "CacheFirst" })
          assert.strictEqual(page.data.length, 25)
          assert.strictEqual(page.totalCount, 2000)
          yield* sandbox.start
        }))
    }), { timeout: 60_000 })

  it.scopedLive("[regression] a sync that fails partway has stored the pages it received before the failure", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 300, rateLimit: false })
      // Slow pages, so the failure lands mid-scan; a batch that would wait a minute to fill.
      yield* sandbox.inject({ fault: { _tag: "Latency", millis: 30 }, match: "GET /v1/meetings" })
      yield* withCache(sandbox, "admin", file, (cache) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(cache.sync({ concurrency: 1, batchSize: 1000, batchWindow: "1 minute" }))
          const listed = Effect.map(sandbox.requests, (rs) => rs.filter((r) => r.path === "/v1/meetings").length)
          yield* eventually(Effect.map(listed, (n) => n >= 3))
          // From now on every page answers a body that is not JSON: a typed error, no retry.
          yield* sandbox.clearFaults
          yield* sandbox.inject({ fault: { _tag: "MalformedJson" }, match: "GET /v1/meetings" })
          const exit = yield* Fiber.await(fiber)
          assert.isTrue(exit._tag === "Failure")
          // The pages before the failure are in the cache (they were not dropped with the unfilled batch).
          const stored = yield* cache.count()
          assert.isTrue(stored >= 50 && stored < 300, `stored=${stored}`)
          assert.strictEqual((yield* cache.stats).gone, 0)
        }))
    }), { timeout: 60_000 })

  it.scopedLive("a batch that does not fill is stored batchWindow after its first page, while the scan goes on", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 100, rateLimit: false })
      // Four pages, one at a time, 400 ms each: the batch of 1,000 never fills before the end.
      yield* sandbox.inject({ fault: { _tag: "Latency", millis: 400 }, match: "GET /v1/meetings" })
      yield* withCache(sandbox, "admin", file, (cache) =>
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(cache.sync({ concurrency: 1, batchSize: 1000, batchWindow: "50 millis" }))
          // Stored by the window, not by the end of the scan: the other pages are still coming.
          const storedWhileScanning = (rows: number) =>
            Effect.gen(function*() {
              yield* eventually(Effect.map(cache.count(), (n) => n >= rows))
              assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)), "the sync had already ended")
              assert.isTrue((yield* cache.count()) < 100)
            })
          yield* storedWhileScanning(25)
          // The next batch has its own window.
          yield* storedWhileScanning(50)
          const result = yield* Fiber.join(fiber)
          assert.isTrue(result.complete)
          assert.strictEqual(result.meetings, 100)
          assert.deepStrictEqual(yield* cachedIds(cache), yield* serverIds(sandbox))
        }))
    }), { timeout: 60_000 })

  it.scopedLive("resume after an interrupted sync ends with exactly the server's set", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 800, rateLimit: { perSecond: 60, capacity: 5 } })
      yield* withCache(sandbox, "admin", file, (cache) =>
        Effect.gen(function*() {
          const halfway = yield* Deferred.make<void>()
          const fiber = yield* Effect.fork(cache.sync({
            concurrency: 2,
            batchSize: 50,
            batchWindow: "50 millis",
            onProgress: (p) => (p.meetings >= 150 ? Deferred.succeed(halfway, undefined) : Effect.void)
          }))
          yield* Deferred.await(halfway)
          yield* Fiber.interrupt(fiber)
          const state = yield* cache.syncState
          assert.isTrue(Option.isSome(state) && state.value.finishedAt === null)
          const partial = yield* cache.count()
          assert.isTrue(partial >= 150 && partial < 800, `partial=${partial}`)
          assert.strictEqual((yield* cache.stats).gone, 0)
        }))

      // The server moves on while we are down: some meetings vanish (seen and unseen ones), some appear.
      const before = yield* serverIds(sandbox)
      const removed = [before[0]!, before[400]!, before[799]!]
      for (const id of removed) yield* sandbox.remove(id)
      yield* sandbox.seedMore(7)
      yield* sandbox.setRateLimit(false)

      // A new process on the same file resumes.
      yield* withCache(sandbox, "admin", file, (cache) =>
        Effect.gen(function*() {
          const result = yield* cache.sync()
          assert.strictEqual(result.resumedAfterInterrupted, 1)
          assert.deepStrictEqual(yield* cachedIds(cache), yield* serverIds(sandbox))
          for (const id of removed) {
            const gone = yield* Effect.flip(cache.retrieve(id, { policy: "CacheOnly" }))
            assert.strictEqual(gone._tag, "CacheMiss")
          }
          const state = yield* cache.syncState
          assert.isTrue(Option.isSome(state) && state.value.finishedAt !== null)
        }))
    }), { timeout: 60_000 })

  it.scopedLive("vanished meetings are marked gone by a complete sync; refresh(ids) handles 404", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 60, rateLimit: false })
      yield* withCache(sandbox, "admin", file, (cache) =>
        Effect.gen(function*() {
          yield* cache.sync()
          const ids = yield* serverIds(sandbox)
          yield* sandbox.remove(ids[5]!)
          const result = yield* cache.sync()
          assert.deepStrictEqual(result.gone, [ids[5]])
          assert.strictEqual(yield* cache.count(), 59)
          yield* sandbox.remove(ids[6]!)
          const refreshed = yield* cache.refresh([ids[6]!, ids[7]!])
          assert.deepStrictEqual(refreshed.gone, [ids[6]])
          assert.deepStrictEqual(refreshed.refreshed, [ids[7]])
          assert.strictEqual(yield* cache.count(), 58)
        }))
    }))

  it.scopedLive("read-your-writes under index lag", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 40, rateLimit: false })
      yield* withCache(sandbox, "member", file, (cache) =>
        Effect.gen(function*() {
          yield* cache.sync()
          yield* sandbox.setIndexLag("1 hour")
          const created = yield* cache.create(pastMeeting("Lagging"))
          assert.strictEqual(created.source, "network")
          const result = yield* cache.sync()
          assert.strictEqual(result.refetched, 1)
          assert.deepStrictEqual(result.gone, [])
          const read = yield* cache.retrieve(created.value.id, { policy: "CacheOnly" })
          assert.deepStrictEqual(read.value.title, Option.some("Lagging"))
          // The index catches up (visibility is fixed at creation: move the sandbox clock past it).
          yield* sandbox.setIndexLag(0)
          yield* sandbox.advanceClock("2 hours")
          const after = yield* cache.sync()
          assert.strictEqual(after.refetched, 0)
          assert.isTrue((yield* cachedIds(cache)).includes(created.value.id))
        }))
    }))
})

describe.each(databases)("cache over the sandbox: privacy ($name)", (db) => {
  it.scopedLive("admin (FULL) and member (FULL/METADATA) on one file never leak, on stored rows and on reads", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 150, rateLimit: false })
      yield* withCache(sandbox, "admin", file, (cache) => Effect.asVoid(cache.sync()))
      const memberMetadata = yield* withCache(sandbox, "member", file, (cache) =>
        Effect.gen(function*() {
          yield* cache.sync()
          const rows = yield* storedRows(principalOf(sandbox, "member"))
          const metadata = rows.filter((r) => r.access_level === "METADATA")
          assert.isTrue(metadata.length > 0, "the member sees some meetings as METADATA")
          assert.isTrue(rows.some((r) => r.access_level === "FULL"), "and some as FULL")
          for (const row of metadata) {
            assert.isNull(row.description)
            const body = JSON.parse(row.body) as { fields: Record<string, { value: unknown }>; relationships: Record<string, unknown> }
            assert.isTrue(body.fields.$description === undefined || body.fields.$description.value === null)
            assert.isUndefined(body.relationships.$transcript)
            const read = yield* cache.retrieve(row.id, { policy: "CacheOnly" })
            assert.strictEqual(read.value.accessLevel, "METADATA")
            assert.isTrue(Option.isNone(read.value.description))
          }
          return metadata.map((r) => r.id)
        }))
      // The admin's rows for the same ids keep FULL content, and the member's never got it.
      const adminRows = yield* storedRows(principalOf(sandbox, "admin")).pipe(Effect.provide(databaseLayer(file)))
      const adminById = new Map(adminRows.map((r) => [r.id, r]))
      const memberRows = yield* storedRows(principalOf(sandbox, "member")).pipe(Effect.provide(databaseLayer(file)))
      let compared = 0
      for (const id of memberMetadata) {
        const admin = adminById.get(id)
        assert.isDefined(admin, id)
        assert.strictEqual(admin!.access_level, "FULL")
        const member = memberRows.find((r) => r.id === id)
        assert.isDefined(member, id)
        // Some seeded meetings have no description: only those with one can leak it.
        if (admin!.description === null) continue
        assert.notInclude(member!.body, admin!.description)
        compared++
      }
      assert.isTrue(compared > 0, "at least one METADATA meeting has FULL content in the admin's view")
      // member2 shares the file and sees none of the member's rows.
      yield* withCache(sandbox, "member2", file, (cache) =>
        Effect.gen(function*() {
          assert.strictEqual(yield* cache.count(), 0)
          const miss = yield* Effect.flip(cache.retrieve(memberMetadata[0]!, { policy: "CacheOnly" }))
          assert.strictEqual(miss._tag, "CacheMiss")
        }))
    }), { timeout: 60_000 })

  it.scopedLive("a downgrade to METADATA purges the cached FULL content on resync", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 150, rateLimit: false })
      yield* withCache(sandbox, "member", file, (cache) =>
        Effect.gen(function*() {
          yield* cache.sync()
          const full = (yield* cache.query({ accessLevel: "FULL", limit: 1000 })).filter((c) =>
            Option.getOrUndefined(c.value.privacySetting) === "FULL" && Option.isSome(c.value.description)
          )
          assert.isTrue(full.length > 0)
          for (const c of full) yield* sandbox.setPrivacy(c.value.id, "METADATA")
          yield* cache.sync()
          const rows = yield* storedRows(cache.principal)
          const downgraded = rows.filter((r) => full.some((c) => c.value.id === r.id) && r.access_level === "METADATA")
          assert.isTrue(downgraded.length > 0, "some meetings were FULL only through their privacy setting")
          for (const row of downgraded) {
            const before = full.find((c) => c.value.id === row.id)!
            assert.isNull(row.description)
            assert.notInclude(row.body, Option.getOrThrow(before.value.description))
            const read = yield* cache.retrieve(row.id, { policy: "CacheOnly" })
            assert.isTrue(Option.isNone(read.value.description))
            const text = Option.getOrThrow(before.value.description).split(/\s+/).find((w) => w.length > 6)
            assert.isDefined(text, "the description has a searchable word")
            // The word found the FULL row before the downgrade; it must not find the METADATA row now.
            const hits = yield* cache.query({ text: text!, accessLevel: "METADATA" })
            assert.isFalse(hits.some((h) => h.value.id === row.id))
          }
        }))
    }), { timeout: 60_000 })
})

describe.each(databases)("cache over the sandbox: outbox ($name)", (db) => {
  it.scopedLive("the outbox survives a restart and replays exactly once against the sandbox", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 10, rateLimit: false })
      yield* sandbox.stop
      const localId = yield* withCache(sandbox, "member", file, (cache) =>
        Effect.gen(function*() {
          const queued = yield* cache.create(pastMeeting("Written offline"))
          assert.isTrue(queued.pending)
          const again = yield* cache.retrieve(queued.value.id, { policy: "NetworkFirst" })
          assert.isTrue(again.pending)
          yield* cache.update(queued.value.id, { fields: { $privacySetting: "METADATA" } })
          return queued.value.id
        }))
      yield* sandbox.start
      yield* sandbox.clearRequests
      yield* withCache(sandbox, "member", file, (cache) =>
        Effect.gen(function*() {
          assert.strictEqual((yield* cache.outbox).length, 2)
          const result = yield* cache.replay
          assert.strictEqual(result.replayed, 2)
          const realId = Option.getOrThrow(yield* cache.resolveId(localId))
          assert.isFalse(realId.startsWith("local_"))
          const viaLocal = yield* cache.retrieve(localId, { policy: "CacheOnly" })
          assert.strictEqual(viaLocal.value.id, realId)
          assert.strictEqual((yield* cache.replay).replayed, 0)
          const requests = yield* sandbox.requests
          const creates = requests.filter((r) => r.method === "POST" && r.path === "/v1/meetings")
          assert.strictEqual(creates.length, 1)
          assert.isDefined(creates[0]!.idempotencyKey)
          const updates = requests.filter((r) => r.method === "POST" && r.path === `/v1/meetings/${realId}`)
          assert.strictEqual(updates.length, 1)
          const onServer = (yield* sandbox.meetings).filter((m) => Option.getOrUndefined(m.title) === "Written offline")
          assert.strictEqual(onServer.length, 1)
          assert.deepStrictEqual(onServer[0]!.privacySetting, Option.some("METADATA"))
        }))
    }))

  it.scopedLive("a create whose answer was lost (DropAfterCommit) is queued and replayed with the same key: one meeting", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 5, rateLimit: false })
      yield* withCache(sandbox, "member", file, (cache) =>
        Effect.gen(function*() {
          yield* sandbox.inject({ fault: { _tag: "DropAfterCommit" }, match: "POST /v1/meetings", times: 1 })
          const queued = yield* cache.create(pastMeeting("Dropped answer"))
          assert.isTrue(queued.pending)
          const result = yield* cache.replay
          assert.strictEqual(result.replayed, 1)
          const creates = (yield* sandbox.requests).filter((r) => r.method === "POST" && r.path === "/v1/meetings")
          assert.strictEqual(creates.length, 2)
          assert.strictEqual(creates[0]!.idempotencyKey, creates[1]!.idempotencyKey)
          const onServer = (yield* sandbox.meetings).filter((m) => Option.getOrUndefined(m.title) === "Dropped answer")
          assert.strictEqual(onServer.length, 1)
        }))
    }))

  it.scopedLive("permanent failures are kept as dead letters (403 for a read-only key)", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 5, rateLimit: false })
      yield* withCache(sandbox, "readOnly", file, (cache) =>
        Effect.gen(function*() {
          const queued = yield* cache.create(pastMeeting("Not allowed"), { offline: true })
          const result = yield* cache.replay
          assert.strictEqual(result.dead, 1)
          const dead = yield* cache.deadLetters
          assert.strictEqual(dead.length, 1)
          assert.strictEqual(dead[0]!.lastError?._tag, "Forbidden")
          assert.strictEqual(dead[0]!.localId, queued.value.id)
          assert.strictEqual((yield* cache.stats).deadLetters, 1)
        }))
    }))

  it.scopedLive("replays that hit 422 and 400 become dead letters with their error; later entries still replay", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 5, rateLimit: false, legacyFileIds: true })
      yield* withCache(sandbox, "member", file, (cache) =>
        Effect.gen(function*() {
          const pendingFile = yield* cache.create(
            { ...pastMeeting("Pending transcript"), relationships: { $transcript: "fil_pending_x" } },
            { offline: true }
          )
          const missingFile = yield* cache.create(
            { ...pastMeeting("Missing transcript"), relationships: { $transcript: "nope" } },
            { offline: true }
          )
          const fine = yield* cache.create(pastMeeting("Fine after the dead ones"), { offline: true })
          const result = yield* cache.replay
          assert.strictEqual(result.dead, 2)
          assert.strictEqual(result.replayed, 1)
          assert.strictEqual(result.remaining, 0)
          const dead = yield* cache.deadLetters
          assert.deepStrictEqual(dead.map((d) => d.localId), [pendingFile.value.id, missingFile.value.id])
          // Typed errors: the 422 is an Unprocessable, the 400 a BadRequest with its status.
          const badRequest = dead[1]!.lastError
          assert.strictEqual(badRequest?._tag === "BadRequest" ? badRequest.status : undefined, 400)
          assert.strictEqual(dead[0]!.lastError?._tag, "Unprocessable")
          assert.strictEqual(dead[1]!.lastError?._tag, "BadRequest")
          assert.include(dead[1]!.lastError?.message ?? "", "nope")
          // Nothing dropped: both are still there with their params, and the last one went through.
          assert.strictEqual((yield* cache.stats).deadLetters, 2)
          assert.isTrue(Option.isSome(yield* cache.resolveId(fine.value.id)))
          const titles = (yield* sandbox.meetings).map((m) => Option.getOrUndefined(m.title))
          assert.include(titles, "Fine after the dead ones")
          assert.notInclude(titles, "Pending transcript")
          assert.notInclude(titles, "Missing transcript")
        }))
    }))

  it.scopedLive("with the client's default retries, a create whose answer was dropped is retried with its key: one meeting, empty outbox", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 5, rateLimit: false })
      yield* withCache(sandbox, "member", file, (cache) =>
        Effect.gen(function*() {
          yield* sandbox.inject({ fault: { _tag: "DropAfterCommit" }, match: "POST /v1/meetings", times: 1 })
          const created = yield* cache.create(pastMeeting("Retried by the client"))
          assert.isFalse(created.pending)
          assert.strictEqual(created.source, "network")
          assert.strictEqual((yield* cache.outbox).length, 0)
          const creates = (yield* sandbox.requests).filter((r) => r.method === "POST" && r.path === "/v1/meetings")
          assert.strictEqual(creates.length, 2)
          assert.strictEqual(creates[0]!.idempotencyKey, creates[1]!.idempotencyKey)
          const onServer = (yield* sandbox.meetings).filter((m) => Option.getOrUndefined(m.title) === "Retried by the client")
          assert.strictEqual(onServer.length, 1)
          assert.strictEqual(onServer[0]!.id, created.value.id)
        }), {}, "defaultRetries")
    }), { timeout: 30_000 })
})
