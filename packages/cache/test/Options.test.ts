/**
 * Every numeric or duration option is validated (issue 10): a bad value is a typed error before
 * anything is stored or sent, never a spin, a crash or a defect.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Database } from "../src/index.js"
import type { MeetingsCache, Sync } from "../src/index.js"
import { databases } from "./databases.js"
import { createParams, databaseLayer, makeFake, many, withCache } from "./fixtures.js"

/** Fails the test (instead of hanging it) when a bad option makes the call spin. */
const bounded = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.timeoutFail(self, { duration: "5 seconds", onTimeout: () => new Error("the call did not end") })

const badNumbers = [0, -1, 0.5, Number.NaN, Number.POSITIVE_INFINITY]

describe.each(databases)("sync options ($name)", (db) => {
  it.scopedLive("[regression] batchSize 0, -1, 0.5, NaN, Infinity are InvalidParams before the scan starts", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake(many(30))
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          for (const batchSize of badNumbers) {
            const error = yield* bounded(Effect.flip(cache.sync({ batchSize })))
            assert.strictEqual(error._tag, "InvalidParams", String(batchSize))
            assert.strictEqual(error._tag === "InvalidParams" ? error.param : "", "batchSize")
          }
          assert.strictEqual(fake.state.streams, 0, "no scan was started")
          assert.isTrue((yield* cache.syncState)._tag === "None", "the sync state is untouched")
          assert.strictEqual((yield* cache.sync({ batchSize: 7 })).meetings, 30)
        }))
    }))

  it.scopedLive("[regression] every other sync option is validated the same way", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake(many(5))
      const cases: ReadonlyArray<readonly [keyof Sync.SyncOptions, Sync.SyncOptions]> = [
        ["pageSize", { pageSize: 0 }],
        ["pageSize", { pageSize: 26 }],
        ["pageSize", { pageSize: 2.5 }],
        ["concurrency", { concurrency: 0 }],
        ["concurrency", { concurrency: 1.5 }],
        ["batchWindow", { batchWindow: "soon" as never }],
        ["batchWindow", { batchWindow: -1 }],
        ["timeout", { timeout: "a while" as never }],
        ["timeout", { timeout: 0 }],
        ["lease", { lease: 0 }],
        ["lease", { lease: "Infinity" as never }],
        ["leaseWait", { leaseWait: -5 }]
      ]
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          for (const [param, options] of cases) {
            const error = yield* bounded(Effect.flip(cache.sync(options)))
            assert.strictEqual(error._tag === "InvalidParams" ? error.param : error._tag, param, JSON.stringify(options))
          }
          assert.strictEqual(fake.state.streams, 0)
        }))
    }))

  it.scopedLive("[regression] the layer's sync defaults are validated when the layer is built", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const error = yield* Effect.flip(
        withCache(file, makeFake(), () => Effect.void, { principal: "p", sync: { batchSize: 0 } })
      )
      assert.strictEqual(error._tag, "CacheError")
      assert.strictEqual(error.reason, "Config")
      assert.include(error.message, "batchSize")
    }))
})

describe.each(databases)("read options ($name)", (db) => {
  it.scopedLive("[regression] an invalid maxAge or timeout is InvalidParams, under every policy", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake(many(3))
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          yield* cache.sync()
          const requests = fake.state.requests.length
          for (const policy of ["CacheFirst", "StaleWhileRevalidate", "NetworkFirst", "CacheOnly"] as const) {
            const maxAge = yield* Effect.flip(cache.retrieve("m_00001", { policy, maxAge: "five minutes" as never }))
            assert.strictEqual(maxAge._tag === "InvalidParams" ? maxAge.param : maxAge._tag, "maxAge", policy)
            const negative = yield* Effect.flip(cache.retrieve("m_00001", { policy, maxAge: -1 }))
            assert.strictEqual(negative._tag === "InvalidParams" ? negative.param : negative._tag, "maxAge", policy)
            const timeout = yield* Effect.flip(cache.retrieve("m_00001", { policy, timeout: "soon" as never }))
            assert.strictEqual(timeout._tag === "InvalidParams" ? timeout.param : timeout._tag, "timeout", policy)
            const page = yield* Effect.flip(cache.listCached({}, { policy, maxAge: "nope" as never }))
            assert.strictEqual(page._tag === "InvalidParams" ? page.param : page._tag, "maxAge", policy)
          }
          assert.strictEqual(fake.state.requests.length, requests)
        }))
    }))

  it.scopedLive("[regression] a write's timeout is validated before anything is stored or sent", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake()
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(cache.create(createParams("x"), { timeout: "later" as never }))
          assert.strictEqual(error._tag === "InvalidParams" ? error.param : error._tag, "timeout")
          assert.strictEqual(fake.state.requests.length, 0)
          assert.strictEqual((yield* cache.outbox).length, 0)
        }))
    }))
})

describe.each(databases)("query options ($name)", (db) => {
  it.scopedLive("[regression] limit and offset must be non-negative integers (InvalidQuery)", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      yield* withCache(file, makeFake(many(3)), (cache) =>
        Effect.gen(function*() {
          yield* cache.sync()
          for (const q of [{ limit: -1 }, { limit: 0.5 }, { limit: Number.NaN }, { offset: -1 }, { offset: 1.5 }]) {
            const error = yield* Effect.flip(cache.query(q))
            assert.strictEqual(error.reason, "InvalidQuery", JSON.stringify(q))
            assert.include(error.message, Object.keys(q)[0]!)
          }
          assert.strictEqual((yield* cache.query({ limit: 0 })).length, 0)
          assert.strictEqual((yield* cache.query({ limit: 2, offset: 2 })).length, 1)
        }))
    }))
})

describe.each(databases)("layer options ($name)", (db) => {
  const layerError = (options: Omit<MeetingsCache.MeetingsCacheOptions, "principal" | "apiKey">) =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      return yield* Effect.flip(
        withCache(file, makeFake(), () => Effect.void, { principal: "p", ...options })
      )
    })

  it.scopedLive("[regression] maxAge, maxReplayAttempts and autoReplay fail the layer with CacheError{Config}", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, Omit<MeetingsCache.MeetingsCacheOptions, "principal" | "apiKey">]> = [
        ["maxAge", { maxAge: "5 mins" as never }],
        ["maxAge", { maxAge: -1 }],
        ["maxReplayAttempts", { maxReplayAttempts: 0 }],
        ["maxReplayAttempts", { maxReplayAttempts: 2.5 }],
        ["autoReplay", { autoReplay: 0 }],
        ["autoReplay", { autoReplay: "every now and then" as never }]
      ]
      for (const [name, options] of cases) {
        const error = yield* layerError(options)
        assert.strictEqual(error._tag, "CacheError", name)
        assert.strictEqual(error.reason, "Config", name)
        assert.include(error.message, name)
      }
    }))

  it.scopedLive("[regression] Database options (SQLite: busyTimeout, prepareCacheSize, mmapSize; PostgreSQL: maxConnections) fail the layer with CacheError{Config}", () =>
    Effect.gen(function*() {
      const location = yield* db.fresh
      const cases: ReadonlyArray<Database.DatabaseOptions> = db.name === "postgres"
        ? [{ url: location, maxConnections: 0 }, { url: location, maxConnections: 1 }, { url: location, maxConnections: 1.5 }]
        : [{ filename: location, busyTimeout: -1 }, { filename: location, busyTimeout: 1.5 }, { filename: location, prepareCacheSize: 0 }, {
          filename: location,
          mmapSize: -1
        }, { filename: location, mmapSize: 0.5 }]
      for (const options of cases) {
        const error = yield* Effect.flip(Layer.build(Database.layer(options)))
        assert.strictEqual(error.reason, "Config", JSON.stringify(options))
        assert.include(error.message, Object.keys(options)[1]!)
      }
      // Valid options still open the database.
      yield* Layer.build(databaseLayer(location))
    }))
})

describe.each(databases)("ids ($name)", (db) => {
  it.scopedLive("[regression] path-like ids are InvalidParams before any lookup or request: offline updates and refresh too", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake(many(3))
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          for (const id of [".", "..", "a/b", "", "a?b", "%2e%2e"]) {
            const offline = yield* Effect.flip(cache.update(id, { fields: { $privacySetting: "METADATA" } }, { offline: true }))
            assert.strictEqual(offline._tag === "InvalidParams" ? offline.param : offline._tag, "id", JSON.stringify(id))
            const refreshed = yield* Effect.flip(cache.refresh([id]))
            assert.strictEqual(refreshed._tag === "InvalidParams" ? refreshed.param : refreshed._tag, "id", JSON.stringify(id))
            const read = yield* Effect.flip(cache.retrieve(id, { policy: "CacheOnly" }))
            assert.strictEqual(read._tag === "InvalidParams" ? read.param : read._tag, "id", JSON.stringify(id))
          }
          assert.strictEqual(fake.state.requests.length, 0)
          assert.strictEqual((yield* cache.outbox).length, 0)
        }))
    }))
})
