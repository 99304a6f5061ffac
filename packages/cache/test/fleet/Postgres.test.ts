/**
 * The cache's database on PostgreSQL: `Database.layer({ url })` connects, migrates once (also when
 * several instances start at once on an empty database), and every failure to open is a typed
 * `CacheError` naming the URL without its password.
 */
import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { Database, Principal } from "../../src/index.js"
import { MeetingRows } from "../../src/internal/meetingRows.js"
import * as Migrations from "../../src/internal/migrations.js"
import { meeting, rowsLayer } from "../fixtures.js"
import { freshName, freshPgUrl, urlOf } from "./pgDatabase.js"

const migrationIds = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ migration_id: number; name: string }>`SELECT migration_id, name FROM effect_sql_migrations ORDER BY migration_id`
  return rows.map((r) => `${r.migration_id}_${r.name}`)
})

describe("Database on PostgreSQL", () => {
  it.scopedLive("migrates an empty database, and a second open runs no migration", () =>
    Effect.gen(function*() {
      const url = yield* freshPgUrl()
      const principal = Principal.make("p1")
      const first = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const tables = yield* sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables
          WHERE table_schema = 'public' ORDER BY table_name`
        const repo = yield* MeetingRows
        yield* repo.upsert(principal, [meeting("mtg_1")], { mode: "fetch", now: 1 })
        return { tables: tables.map((t) => t.name), ids: yield* migrationIds }
      }).pipe(Effect.provide(rowsLayer(Database.layer({ url, maxConnections: 2 }))))
      assert.includeMembers(first.tables, ["meetings", "meeting_attendees", "sync_state", "outbox", "id_map", "read_stats"])
      assert.deepStrictEqual(first.ids, Object.keys(Migrations.migrations).map((k) => k.replace(/^0+/, "")))
      const second = yield* Effect.gen(function*() {
        const repo = yield* MeetingRows
        return { ids: yield* migrationIds, found: yield* repo.findById(principal, "mtg_1") }
      }).pipe(Effect.provide(rowsLayer(Database.layer({ url, maxConnections: 2 }))))
      assert.deepStrictEqual(second.ids, first.ids)
      assert.strictEqual(second.found._tag, "Some")
    }))

  it.scopedLive("[regression] six instances starting at once on an empty database all open it; the migrations ran once", () =>
    Effect.gen(function*() {
      const url = yield* freshPgUrl()
      const opened = yield* Effect.all(
        Array.from({ length: 6 }, () =>
          Effect.scoped(Effect.flatMap(Layer.build(Database.layer({ url, maxConnections: 1 })), () => Effect.succeed("ok")))),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(opened, Array(6).fill("ok"))
      const ids = yield* migrationIds.pipe(Effect.provide(Database.layer({ url, maxConnections: 1 })))
      assert.strictEqual(ids.length, Object.keys(Migrations.migrations).length)
    }))

  it.scopedLive("an unreachable server, a missing database, a bad URL: a typed CacheError naming the URL without the password", () =>
    Effect.gen(function*() {
      const unreachable = yield* Effect.flip(Layer.build(Database.layer({ url: "postgres://lf:s3cret@127.0.0.1:1/nothing" })))
      assert.strictEqual(unreachable._tag, "CacheError")
      assert.strictEqual(unreachable.reason, "Open")
      assert.include(unreachable.message, "postgres://lf:***@127.0.0.1:1/nothing")
      assert.include(unreachable.message, "not reachable")
      assert.notInclude(unreachable.message, "s3cret")
      assert.notInclude(unreachable.file ?? "", "s3cret")

      const missing = yield* Effect.flip(Layer.build(Database.layer({ url: urlOf(freshName("lf_t_absent")) })))
      assert.strictEqual(missing.reason, "Open")
      assert.include(missing.message, "does not exist")

      for (const url of ["postgres://", "not a url", "postgres://127.0.0.1:5432"]) {
        const bad = yield* Effect.flip(Layer.build(Database.layer({ url: `${url}`.replace("not a url", "postgres:// bad url") })))
        assert.strictEqual(bad.reason, "Config", url)
      }
      const pool = yield* Effect.flip(Layer.build(Database.layer({ url: urlOf("postgres"), maxConnections: 0 })))
      assert.strictEqual(pool.reason, "Config")
    }))

  it.scopedLive("LIGHTFIELD_CACHE_URL picks PostgreSQL in Database.layerConfig", () =>
    Effect.gen(function*() {
      const url = yield* freshPgUrl()
      const dialect = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql.onDialectOrElse({ pg: () => Effect.succeed("pg"), orElse: () => Effect.succeed("other") })).pipe(
          Effect.provide(Database.layerConfig()),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["LIGHTFIELD_CACHE_URL", url], ["LIGHTFIELD_CACHE_POOL_SIZE", "2"]])))
        )
      assert.strictEqual(dialect, "pg")
    }))

  it.scopedLive("full-text search is PostgreSQL's own: a generated tsvector column behind a GIN index, used by the query", () =>
    Effect.gen(function*() {
      const url = yield* freshPgUrl()
      const plan = yield* Effect.gen(function*() {
        const repo = yield* MeetingRows
        const sql = yield* SqlClient.SqlClient
        yield* repo.upsert(Principal.make("p"), [meeting("mtg_1", { title: "Café Zürich" })], { mode: "scan", now: 1 })
        const search = yield* sql<{ search: string }>`SELECT search::text AS search FROM meetings WHERE id = 'mtg_1'`
        assert.include(search[0]!.search, "'cafe'")
        assert.include(search[0]!.search, "'zurich'")
        return yield* sql.withTransaction(Effect.zipRight(
          sql`SET LOCAL enable_seqscan = off`,
          sql<{ "QUERY PLAN": string }>`EXPLAIN SELECT id FROM meetings m WHERE m.search @@ to_tsquery('lf_search', ${"'cafe':*"})`
        ))
      }).pipe(Effect.provide(rowsLayer(Database.layer({ url, maxConnections: 2 }))))
      assert.include(plan.map((r) => r["QUERY PLAN"]).join("\n"), "meetings_search")
    }))
})
