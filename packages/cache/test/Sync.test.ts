/**
 * What a sync may conclude from a scan (issue 10): only a scan that covered the listing's
 * `totalCount` may mark meetings gone.
 */
import { assert, describe, it } from "@effect/vitest"
import { Meeting } from "@lightfield-effect/core"
import { Sandbox } from "@lightfield-effect/sandbox"
import { Chunk, Effect, Schema, Stream } from "effect"
import { makeFake, many, meeting, withCache } from "./fixtures.js"
import { withCache as withSandboxCache } from "./sandbox.js"
import { databases } from "./databases.js"

describe.each(databases)("a short page never ends a scan as complete ($name)", (db) => {
  it.scopedLive("[regression] a page with fewer items than totalCount says exist: nothing is marked gone (fake network)", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake(many(60))
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          assert.isTrue((yield* cache.sync()).complete)
          fake.state.shortPage = 3
          const short = yield* cache.sync()
          assert.isFalse(short.complete)
          assert.deepStrictEqual(short.gone, [])
          assert.strictEqual(yield* cache.count(), 60)
          // The next full scan completes normally.
          const next = yield* cache.sync()
          assert.isTrue(next.complete)
          assert.strictEqual(yield* cache.count(), 60)
        }))
    }))

  it.scopedLive("[regression] a short first page from the server (sandbox Respond fault, real HTTP): nothing is marked gone", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 60, rateLimit: false })
      const three = (yield* sandbox.meetings).slice(0, 3)
      const body = JSON.stringify({
        data: three.map((m) => Schema.encodeSync(Meeting.Meeting)(m)),
        object: "list",
        totalCount: 60
      })
      yield* withSandboxCache(sandbox, "admin", file, (cache) =>
        Effect.gen(function*() {
          assert.isTrue((yield* cache.sync()).complete)
          yield* sandbox.inject({ fault: { _tag: "Respond", status: 200, body }, match: "GET /v1/meetings", times: 1 })
          const short = yield* cache.sync()
          assert.deepStrictEqual(short.gone, [])
          assert.strictEqual(yield* cache.count(), 60)
          // A client that fills the rest of the listing may call the scan complete: then it saw all 60.
          if (short.complete) assert.strictEqual(short.meetings, 60)
        }))
    }))
})

describe.each(databases)("cached pages keep the API's order ($name)", (db) => {
  it.scopedLive("[regression] meetings created at the same instant are ordered by id ascending, as the API does", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const createdAt = "2026-02-01T09:00:00.000Z"
      // Ten meetings per instant, three instants: ties everywhere, across page and stream boundaries.
      const tied = Array.from({ length: 30 }, (_, i) =>
        meeting(`t_${String(29 - i).padStart(2, "0")}`, {
          createdAt: new Date(Date.parse(createdAt) + Math.floor(i / 10) * 60_000).toISOString()
        }))
      const fake = makeFake(tied)
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          const remote = yield* cache.list({ limit: 25, offset: 0 }, { policy: "NetworkFirst" })
          const remote2 = yield* cache.list({ limit: 25, offset: 25 }, { policy: "NetworkFirst" })
          yield* cache.sync()
          const local = yield* cache.list({ limit: 25, offset: 0 }, { policy: "CacheOnly" })
          const local2 = yield* cache.list({ limit: 25, offset: 25 }, { policy: "CacheOnly" })
          const ids = (page: { readonly data: ReadonlyArray<{ readonly id: string }> }) => page.data.map((m) => m.id)
          assert.deepStrictEqual([...ids(local), ...ids(local2)], [...ids(remote), ...ids(remote2)])
          const streamed = Chunk.toReadonlyArray(yield* Stream.runCollect(cache.streamLocal)).map((m) => m.id)
          assert.deepStrictEqual(streamed, [...ids(remote), ...ids(remote2)])
          // Within one instant, ids ascend.
          assert.deepStrictEqual(ids(remote).slice(0, 10), [...ids(remote).slice(0, 10)].sort())
        }))
    }))
})
