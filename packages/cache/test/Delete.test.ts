/**
 * Delete through the cache (spec §3.5) over the sandbox: write-through tombstones, an offline delete
 * queued and replayed once, a later sync never bringing the meeting back, and a delete cancelling a
 * create that was never sent.
 */
import { assert, describe, it } from "@effect/vitest"
import { Sandbox } from "@lightfield-effect/sandbox"
import { Meetings } from "@lightfield-effect/core"
import { Effect, Layer, Option } from "effect"
import { CachedMeetings, MeetingsCache } from "../src/index.js"
import { cachedIds, cacheLayer, pastMeeting, principalOf, storedRows, withCache } from "./sandbox.js"
import { databases } from "./databases.js"

const deleteRequests = (sandbox: Sandbox.SandboxShape, id: string) =>
  Effect.map(sandbox.requests, (rs) => rs.filter((r) => r.method === "DELETE" && r.path === `/v1/meetings/${id}`))

const notFound = (cache: MeetingsCache.MeetingsCacheShape, id: string) =>
  Effect.forEach(["CacheOnly", "CacheFirst", "NetworkFirst", "StaleWhileRevalidate"] as const, (policy) =>
    Effect.map(Effect.flip(cache.retrieve(id, { policy })), (e) => e._tag), { discard: false })

describe.each(databases)("cache over the sandbox: delete ($name)", (db) => {
  it.scopedLive("write-through: a purged tombstone, MeetingNotFound under every policy, never back after sync or rebuild", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 6, rateLimit: false })
      const principal = principalOf(sandbox, "admin")
      yield* withCache(sandbox, "admin", file, (cache) =>
        Effect.gen(function*() {
          yield* cache.sync()
          const id = (yield* cachedIds(cache))[0]!
          const result = yield* cache.delete(id)
          assert.strictEqual(result.outcome, "deleted")
          assert.isTrue(Option.isSome(result.meeting))
          assert.deepStrictEqual((yield* sandbox.deletedMeetings).map((d) => d.id), [id])
          assert.deepStrictEqual(yield* notFound(cache, id), ["MeetingNotFound", "MeetingNotFound", "MeetingNotFound", "MeetingNotFound"])
          const row = (yield* storedRows(principal)).find((r) => r.id === id)!
          assert.strictEqual(row.body, "{}")
          assert.isNull(row.description)
          assert.notInclude(yield* cachedIds(cache), id)
          assert.strictEqual((yield* Effect.flip(cache.delete(id)))._tag, "MeetingNotFound")
          yield* cache.sync()
          yield* cache.rebuild
          yield* cache.sync()
          assert.notInclude(yield* cachedIds(cache), id)
          assert.strictEqual((yield* cachedIds(cache)).length, 5)
        }))
    }))

  it.scopedLive("offline: queued, hidden from reads, not brought back by a sync, replayed once with its key after a lost answer", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 4, rateLimit: false })
      const id = yield* withCache(sandbox, "admin", file, (cache) =>
        Effect.gen(function*() {
          yield* cache.sync()
          const id = (yield* cachedIds(cache))[0]!
          yield* sandbox.stop
          const result = yield* cache.delete(id)
          assert.strictEqual(result.outcome, "queued")
          assert.deepStrictEqual((yield* cache.outbox).map((e) => [e.op, e.targetId]), [["delete", id]])
          assert.strictEqual((yield* Effect.flip(cache.retrieve(id)))._tag, "MeetingNotFound")
          return id
        }))
      yield* sandbox.start
      yield* sandbox.clearRequests
      yield* withCache(sandbox, "admin", file, (cache) =>
        Effect.gen(function*() {
          // The server still has it: a sync must not bring it back.
          yield* cache.sync()
          assert.notInclude(yield* cachedIds(cache), id)
          assert.strictEqual((yield* Effect.flip(cache.retrieve(id, { policy: "NetworkFirst" })))._tag, "MeetingNotFound")
          yield* sandbox.inject({ fault: { _tag: "DropAfterCommit" }, match: `DELETE /v1/meetings/${id}`, times: 1 })
          const first = yield* cache.replay
          assert.strictEqual(first.replayed, 0)
          assert.strictEqual(first.remaining, 1)
          const second = yield* cache.replay
          assert.strictEqual(second.replayed, 1)
          assert.strictEqual((yield* cache.replay).replayed, 0)
          const sent = yield* deleteRequests(sandbox, id)
          assert.strictEqual(sent.length, 2)
          assert.isDefined(sent[0]!.idempotencyKey)
          assert.strictEqual(sent[0]!.idempotencyKey, sent[1]!.idempotencyKey)
          assert.deepStrictEqual((yield* sandbox.deletedMeetings).map((d) => d.id), [id])
          yield* cache.sync()
          assert.notInclude(yield* cachedIds(cache), id)
          assert.strictEqual((yield* cache.outbox).length, 0)
        }))
    }))

  it.scopedLive("deleting a meeting whose create is still queued cancels both locally and sends nothing", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 2, rateLimit: false })
      yield* withCache(sandbox, "member", file, (cache) =>
        Effect.gen(function*() {
          const queued = yield* cache.create(pastMeeting("Never sent"), { offline: true })
          yield* cache.update(queued.value.id, { fields: { $privacySetting: "METADATA" } }, { offline: true })
          assert.strictEqual((yield* cache.outbox).length, 2)
          yield* sandbox.clearRequests
          const result = yield* cache.delete(queued.value.id)
          assert.strictEqual(result.outcome, "cancelled")
          assert.strictEqual((yield* cache.outbox).length, 0)
          assert.strictEqual((yield* cache.replay).replayed, 0)
          assert.strictEqual((yield* Effect.flip(cache.retrieve(queued.value.id)))._tag, "MeetingNotFound")
          const writes = (yield* sandbox.requests).filter((r) => r.method !== "GET")
          assert.deepStrictEqual(writes, [])
          const onServer = (yield* sandbox.meetings).filter((m) => Option.getOrUndefined(m.title) === "Never sent")
          assert.strictEqual(onServer.length, 0)
        }))
    }))

  it.scopedLive("CachedMeetings.delete: core's Meetings over the cache answers the server's copy, then MeetingNotFound", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 3, rateLimit: false })
      const id = (yield* sandbox.meetings)[0]!.id as string
      const layer = CachedMeetings.layer().pipe(Layer.provideMerge(cacheLayer(sandbox, "admin", file)))
      yield* Effect.gen(function*() {
        const meetings = yield* Meetings.Meetings
        const deleted = yield* meetings.delete(id)
        assert.strictEqual(Option.map(deleted, (m) => m.id as string).pipe(Option.getOrUndefined), id)
        assert.strictEqual((yield* Effect.flip(meetings.retrieve(id)))._tag, "MeetingNotFound")
        assert.strictEqual((yield* Effect.flip(meetings.delete(id)))._tag, "MeetingNotFound")
      }).pipe(Effect.provide(layer))
    }))
})
