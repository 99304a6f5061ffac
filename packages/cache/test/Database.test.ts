import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Database, Principal } from "../src/index.js"
import { MeetingRows } from "../src/internal/meetingRows.js"
import { SqliteHandle } from "../src/internal/sqlite.js"
import * as Migrations from "../src/internal/migrations.js"
import { dbLayer, meeting, rowsLayer, tempDir } from "./fixtures.js"

const migrationCount = Object.keys(Migrations.migrations).length

const tables = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type IN ('table') ORDER BY name`
  return rows.map((r) => r.name)
})

const migrationIds = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ migration_id: number; name: string }>`SELECT migration_id, name FROM effect_sql_migrations ORDER BY migration_id`
  return rows.map((r) => `${r.migration_id}_${r.name}`)
})

describe("Database", () => {
  it.scoped("migrates an empty file and reopens it without re-running migrations", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = join(dir, "cache.db")
      const principal = Principal.make("p1")
      const first = yield* Effect.gen(function*() {
        const names = yield* tables
        const ids = yield* migrationIds
        const repo = yield* MeetingRows
        yield* repo.upsert(principal, [meeting("mtg_1")], { mode: "fetch", now: 1 })
        return { names, ids }
      }).pipe(Effect.provide(rowsLayer(dbLayer(file))))
      assert.includeMembers(first.names, ["meetings", "meeting_attendees", "sync_state", "outbox", "id_map", "meetings_fts"])
      // Every migration of the record, applied in order, as `id_name` with the leading zeros dropped.
      assert.deepStrictEqual(first.ids, Object.keys(Migrations.migrations).map((k) => k.replace(/^0+/, "")))
      assert.deepStrictEqual(first.ids.slice(0, 3), ["1_create_meetings", "2_create_outbox", "3_create_full_text"])

      const second = yield* Effect.gen(function*() {
        const ids = yield* migrationIds
        const repo = yield* MeetingRows
        const found = yield* repo.findById(principal, "mtg_1")
        return { ids, found }
      }).pipe(Effect.provide(rowsLayer(dbLayer(file))))
      assert.deepStrictEqual(second.ids, first.ids)
      assert.isTrue(second.found._tag === "Some")
    }))

  it.scoped("a file that is not a database is a typed CacheError naming the file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = join(dir, "notes.txt")
      writeFileSync(file, "this is definitely not a sqlite database, just some text that is long enough")
      const exit = yield* Effect.exit(Layer.build(dbLayer(file)))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        const error = exit.cause.error
        assert.strictEqual(error._tag, "CacheError")
        assert.strictEqual(error.reason, "Corrupt")
        assert.strictEqual(error.file, file)
        assert.include(error.message, file)
      } else {
        assert.fail(`expected a typed failure, got ${String(exit)}`)
      }
    }))

  it.scoped("a file with a SQLite header but garbage content is Corrupt, naming the file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = join(dir, "broken.db")
      const garbage = Buffer.alloc(8192, 7)
      Buffer.from("SQLite format 3\u0000", "latin1").copy(garbage, 0)
      writeFileSync(file, garbage)
      const error = yield* Effect.flip(Layer.build(dbLayer(file)))
      assert.strictEqual(error._tag, "CacheError")
      assert.strictEqual(error.reason, "Corrupt")
      assert.strictEqual(error.file, file)
    }))

  it.scoped("a directory is an Open error", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "folder")
      mkdirSync(path)
      const error = yield* Effect.flip(Layer.build(dbLayer(path)))
      assert.strictEqual(error.reason, "Open")
      assert.strictEqual(error.file, path)
    }))

  it.scopedLive("three layers opening (and migrating) one fresh file at the same time", () =>
    Effect.gen(function*() {
      for (let round = 0; round < 5; round++) {
        const dir = yield* tempDir
        const file = join(dir, "race.db")
        const open = Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const rows = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM meetings`
          return (yield* migrationIds).length + rows[0]!.n
        }).pipe(Effect.provide(dbLayer(file)))
        assert.deepStrictEqual(yield* Effect.all([open, open, open], { concurrency: 3 }), Array(3).fill(migrationCount))
      }
    }))

  it.scoped("layerMemory migrates an in-memory database", () =>
    Effect.gen(function*() {
      const names = yield* tables.pipe(Effect.provide(Database.layerMemory))
      assert.include(names, "meetings")
    }))
})

describe("Database file permissions", () => {
  const mode = (path: string) => statSync(path).mode & 0o777

  it.scoped("[regression] the cache folder is created 0700, the file and its -wal/-shm 0600", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const folder = join(dir, "private", "cache")
      const file = join(folder, "c.db")
      yield* Effect.gen(function*() {
        const repo = yield* MeetingRows
        yield* repo.upsert(Principal.make("p1"), [meeting("mtg_1")], { mode: "fetch", now: 1 })
        assert.strictEqual(mode(folder), 0o700)
        assert.strictEqual(mode(join(dir, "private")), 0o700)
        for (const path of [file, `${file}-wal`, `${file}-shm`]) {
          assert.isTrue(existsSync(path), path)
          assert.strictEqual(mode(path), 0o600, path)
        }
      }).pipe(Effect.provide(rowsLayer(dbLayer(file))))
    }))

  it.scoped("[regression] an existing world-readable cache file is made private when opened", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = join(dir, "old.db")
      yield* Layer.build(dbLayer(file)).pipe(Effect.scoped)
      chmodSync(file, 0o644)
      yield* Layer.build(dbLayer(file)).pipe(Effect.scoped)
      assert.strictEqual(mode(file), 0o600)
    }))

  it.scoped("a parent path that is a file is a typed Open error", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      writeFileSync(join(dir, "plain"), "x")
      const error = yield* Effect.flip(Layer.build(dbLayer(join(dir, "plain", "c.db"))))
      assert.strictEqual(error.reason, "Open")
    }))

  it.scoped("[regression] a URL given as the file name is CacheError{Config} and creates no file named like it", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const url = "postgres://lf:s3cret@127.0.0.1:5432/mirror"
      const before = process.cwd()
      process.chdir(dir)
      const error = yield* Effect.flip(Layer.build(dbLayer(url))).pipe(Effect.ensuring(Effect.sync(() => process.chdir(before))))
      assert.strictEqual(error.reason, "Config")
      assert.include(error.message, "url")
      assert.notInclude(`${error.message} ${error.file}`, "s3cret")
      assert.isFalse(existsSync(join(dir, "postgres:")))
    }))
})

describe("one SQLite connection", () => {
  for (const where of ["a file", ":memory:"] as const) {
    it.scopedLive(`the SqlClient and the handle are the same connection (${where}): a transaction's own writes are seen by both`, () =>
      Effect.gen(function*() {
        const filename = where === ":memory:" ? ":memory:" : join(yield* tempDir, "one.db")
        yield* Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const handle = yield* SqliteHandle
          const countNow = handle.use((db) => (db.prepare("SELECT COUNT(*) AS n FROM read_stats").get() as { n: number }).n)
          const inside = yield* sql.withTransaction(Effect.gen(function*() {
            yield* sql`INSERT INTO read_stats (principal, hits, misses, stale) VALUES ('p', 1, 0, 0)`
            // Uncommitted, yet visible to the handle: one connection, not two.
            return yield* countNow
          }))
          assert.strictEqual(inside, 1)
          // A direct use outside a transaction waits for an open one instead of joining it.
          const order: Array<string> = []
          yield* Effect.all([
            sql.withTransaction(Effect.gen(function*() {
              yield* sql`INSERT INTO read_stats (principal, hits, misses, stale) VALUES ('q', 1, 0, 0)`
              yield* Effect.sleep("20 millis")
              order.push("committed")
            })),
            Effect.zipRight(Effect.sleep("5 millis"), Effect.tap(countNow, (n) => Effect.sync(() => order.push(`read ${n}`))))
          ], { concurrency: 2 })
          assert.deepStrictEqual(order, ["committed", "read 2"])
        }).pipe(Effect.provide(dbLayer(filename)))
      }))
  }
})
