/**
 * A damaged stored row (issue 10): a typed error for that row; lists skip and report it.
 */
import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Metric, Stream } from "effect"
import { CacheMetrics } from "../src/index.js"
import { makeFake, many, withCache } from "./fixtures.js"
import { databases } from "./databases.js"

/** The damage of the issue: one row's title field replaced by JSON `null`. */
const damage = (id: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.onDialectOrElse({
      pg: () => sql`UPDATE meetings SET body = jsonb_set(body::jsonb, '{fields,$title}', 'null')::text WHERE id = ${id}`,
      orElse: () => sql`UPDATE meetings SET body = json_set(body, '$.fields.$title', json('null')) WHERE id = ${id}`
    }))

describe.each(databases)("a damaged stored row ($name)", (db) => {
  it.scopedLive("[regression] reading it by id is a Decode CacheError naming it, under every policy that reads the cache", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake(many(5))
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          yield* cache.sync()
          yield* damage("m_00002")
          fake.state.down = true
          for (const policy of ["CacheOnly", "CacheFirst", "StaleWhileRevalidate"] as const) {
            const error = yield* Effect.flip(cache.retrieve("m_00002", { policy }))
            assert.strictEqual(error._tag, "CacheError", policy)
            assert.strictEqual(error._tag === "CacheError" ? error.reason : "", "Decode", policy)
            assert.include(error.message, "m_00002")
          }
          // The other rows are fine.
          assert.strictEqual((yield* cache.retrieve("m_00001", { policy: "CacheOnly" })).value.id, "m_00001")
        }))
    }))

  it.scopedLive("[regression] query, list and the local stream skip it and report it; they do not fail whole", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      // More than one keyset page of the local stream (500), with the damaged row at the boundary.
      const fake = makeFake(many(700))
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          yield* cache.sync()
          const all = yield* cache.query({ limit: 1000, order: "asc" })
          const victims = [all[3]!.value.id, all[499]!.value.id]
          for (const id of victims) yield* damage(id)
          const before = (yield* Metric.value(CacheMetrics.damagedRows)).count

          const queried = yield* cache.query({ limit: 1000 })
          assert.strictEqual(queried.length, 698)
          assert.isFalse(queried.some((c) => victims.includes(c.value.id)))
          for (const c of queried) assert.isTrue(c.value.title._tag === "Some")

          const page = yield* cache.list({ limit: 25 }, { policy: "CacheOnly" })
          assert.isTrue(page.data.length >= 23)

          const streamed = Chunk.toReadonlyArray(yield* Stream.runCollect(cache.streamLocal))
          assert.strictEqual(streamed.length, 698)
          assert.strictEqual(new Set(streamed.map((m) => m.id)).size, 698)

          assert.isTrue((yield* Metric.value(CacheMetrics.damagedRows)).count - before >= 4, "each skip is counted")
        }))
    }))
})
