/**
 * `MeetingsStack.layerConfig`: the whole stack from `Config`, over the real fetch client and the
 * sandbox on loopback.
 */
import { assert, describe, it } from "@effect/vitest"
import { Sandbox } from "@lightfield-effect/sandbox"
import { ConfigError, ConfigProvider, Effect, Layer } from "effect"
import { existsSync } from "node:fs"
import { MeetingsCache, MeetingsStack } from "../src/index.js"
import { databases } from "./databases.js"

const withConfig = (entries: ReadonlyArray<readonly [string, string]>) =>
  Layer.setConfigProvider(ConfigProvider.fromMap(new Map(entries)))

describe.each(databases)("MeetingsStack ($name)", (db) => {
  it.scopedLive("builds client, database and cache from Config: sync, then a local query", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 30, rateLimit: false })
      const config = withConfig([
        ["LIGHTFIELD_API_KEY", sandbox.keys.admin],
        ["LIGHTFIELD_BASE_URL", yield* sandbox.baseUrl],
        [db.name === "postgres" ? "LIGHTFIELD_CACHE_URL" : "LIGHTFIELD_CACHE_PATH", file]
      ])
      const [synced, rows] = yield* Effect.gen(function*() {
        const cache = yield* MeetingsCache.MeetingsCache
        const synced = yield* cache.sync()
        return [synced, yield* cache.query({ limit: 100 })] as const
      }).pipe(Effect.provide(MeetingsStack.layerConfig().pipe(Layer.provide(config))))
      assert.strictEqual(synced.meetings, 30)
      assert.strictEqual(rows.length, 30)
      if (db.name === "sqlite") assert.isTrue(existsSync(file))
    }))

  it.effect("a missing API key fails the layer with a ConfigError naming it", () =>
    Effect.gen(function*() {
      const error = yield* MeetingsCache.MeetingsCache.pipe(
        Effect.provide(MeetingsStack.layerConfig().pipe(Layer.provide(withConfig([["LIGHTFIELD_CACHE_PATH", ":memory:"]])))),
        Effect.flip
      )
      assert.isTrue(ConfigError.isConfigError(error))
      assert.include(String(error), "LIGHTFIELD_API_KEY")
    }))
})
