/**
 * Principals (issue 10): key-derived and chosen principals never share a namespace, and queued
 * writes left under another principal are reported and can be moved.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Layer } from "effect"
import { MeetingsCache, Principal } from "../src/index.js"
import { createParams, databaseLayer, fakeLayer, makeFake, meeting, withCache } from "./fixtures.js"
import { databases } from "./databases.js"

describe.each(databases)("principal namespaces ($name)", (db) => {
  it.scopedLive("[regression] an explicit principal can never equal an API key's fingerprint", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake([meeting("mtg_1", { description: "Admin-only notes" })])
      const admin = Principal.fromApiKey("sk_lf_admin")
      yield* withCache(file, fake, (cache) => Effect.asVoid(cache.retrieve("mtg_1")), { apiKey: "sk_lf_admin" })

      assert.isTrue(Either.isLeft(Principal.validate(admin)))
      const error = yield* Effect.flip(withCache(file, fake, (cache) => cache.count(), { principal: admin }))
      assert.strictEqual(error._tag, "CacheError")
      assert.strictEqual(error.reason, "Config")
      assert.include(error.message, "k_")

      const fromConfig = MeetingsCache.layerConfig().pipe(
        Layer.provide(fakeLayer(fake)),
        Layer.provide(databaseLayer(file)),
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["LIGHTFIELD_CACHE_PRINCIPAL", admin]]))))
      )
      const configError = yield* Effect.flip(Effect.provide(Effect.void, fromConfig))
      assert.include(String(configError), "LIGHTFIELD_CACHE_PRINCIPAL")
      // Other explicit principals still work.
      assert.isTrue(Either.isRight(Principal.validate("user-42@acme")))
    }))
})

describe.each(databases)("queued writes under another principal ($name)", (db) => {
  it.scopedLive("[regression] stats reports them, and adoptOutbox moves them (in order) to this principal", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake([meeting("mtg_1")])
      // The old key queued writes, then was rotated.
      const queued = yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          yield* cache.retrieve("mtg_1")
          const created = yield* cache.create(createParams("Left behind"), { offline: true })
          yield* cache.update(created.value.id, { fields: { $privacySetting: "METADATA" } }, { offline: true })
          yield* cache.update("mtg_1", { fields: { $privacySetting: "METADATA" } }, { offline: true })
          return created.value.id
        }), { apiKey: "sk_lf_old" })
      const old = Principal.fromApiKey("sk_lf_old")
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          yield* cache.create(createParams("Mine"), { offline: true })
          const stats = yield* cache.stats
          assert.deepStrictEqual(stats.otherPrincipals, [{ principal: old, queued: 3, deadLetters: 0 }])

          const moved = yield* cache.adoptOutbox(old)
          assert.strictEqual(moved.moved, 3)
          assert.deepStrictEqual((yield* cache.stats).otherPrincipals, [])
          assert.deepStrictEqual((yield* cache.outbox).map((e) => e.op), ["create", "create", "update", "update"])
          // The provisional meeting moved too: readable under this principal.
          assert.isTrue((yield* cache.retrieve(queued, { policy: "CacheOnly" })).pending)
          const replayed = yield* cache.replay
          assert.strictEqual(replayed.replayed, 4)
          assert.strictEqual(fake.state.meetings.size, 3)
        }), { apiKey: "sk_lf_new" })
      // Nothing is left under the old principal.
      const leftover = yield* withCache(file, fake, (cache) => cache.outbox, { apiKey: "sk_lf_old" })
      assert.strictEqual(leftover.length, 0)
    }))
})
