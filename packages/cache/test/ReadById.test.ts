/**
 * Reads by id on a SQLite file: outside any transaction they run on the handle's second, read-only
 * (memory-mapped) connection, inside a fiber's own transaction on the writer. Either way a read
 * sees what the cache itself has committed, and a transaction sees its own writes.
 */
import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option } from "effect"
import { Database, Principal } from "../src/index.js"
import { HotCacheCapacity } from "../src/internal/hotSet.js"
import { MeetingRows } from "../src/internal/meetingRows.js"
import { meeting, rowsLayer, tempDir } from "./fixtures.js"
import { join } from "node:path"

const put = (id: string, title: string, now: number, mode: "fetch" | "write" = "write") =>
  Effect.flatMap(MeetingRows, (rows) => rows.upsert(alice, [meeting(id, { title })], { mode, now }))

const alice = Principal.fromApiKey("sk_lf_alice")

const titleOf = (id: string) =>
  Effect.flatMap(MeetingRows, (rows) => rows.findById(alice, id)).pipe(
    Effect.map(Option.map((s) => s.meeting.fields["$title"]?.value))
  )

/** The `findNow` answer's title (`undefined`: it could not answer at once). */
const titleNow = (id: string) =>
  Effect.gen(function*() {
    const rows = yield* MeetingRows
    const found = rows.findNow(alice, id, yield* Effect.context<never>(), Date.now())
    return found === undefined ? undefined : found === null ? null : found.meeting.fields["$title"]?.value
  })

/** The rows on a file; hot copies off (every read goes to SQLite) unless `hot`. */
const rowsOn = (filename: string, options: { readonly mmapSize?: number; readonly hot?: boolean } = {}) => {
  const db = Database.layer(options.mmapSize === undefined ? { filename } : { filename, mmapSize: options.mmapSize })
  return options.hot === true ? rowsLayer(db) : rowsLayer(db).pipe(Layer.provide(Layer.succeed(HotCacheCapacity, 0)))
}

const onFile = (mmapSize: number | undefined) =>
  Effect.map(tempDir, (dir) => rowsOn(join(dir, "c.db"), mmapSize === undefined ? {} : { mmapSize }))

describe("reads by id on a file", () => {
  for (const mmapSize of [undefined, 0]) {
    it.scopedLive(`see every commit at once, and a transaction's own writes inside it (mmapSize ${mmapSize ?? "default"})`, () =>
      Effect.gen(function*() {
        const layer = yield* onFile(mmapSize)
        yield* Effect.gen(function*() {
          const rows = yield* MeetingRows
          const sql = yield* SqlClient.SqlClient
          assert.isNull(yield* titleNow("r_1"))
          yield* rows.upsert(alice, [meeting("r_1", { title: "first" })], { mode: "fetch", now: 1 })
          assert.deepStrictEqual(yield* titleOf("r_1"), Option.some("first"))
          assert.strictEqual(yield* titleNow("r_1"), "first")
          yield* rows.upsert(alice, [meeting("r_1", { title: "second" })], { mode: "write", now: 2 })
          assert.strictEqual(yield* titleNow("r_1"), "second")
          yield* sql.withTransaction(Effect.gen(function*() {
            yield* rows.upsert(alice, [meeting("r_1", { title: "third" })], { mode: "write", now: 3 })
            yield* rows.upsert(alice, [meeting("r_2", { title: "new" })], { mode: "write", now: 3 })
            assert.strictEqual(yield* titleNow("r_1"), "third")
            assert.deepStrictEqual(yield* titleOf("r_2"), Option.some("new"))
          }))
          assert.strictEqual(yield* titleNow("r_1"), "third")
          assert.strictEqual(yield* titleNow("r_2"), "new")
          // A rolled-back write is never seen.
          yield* Effect.flip(sql.withTransaction(Effect.zipRight(
            rows.upsert(alice, [meeting("r_1", { title: "rolled back" })], { mode: "write", now: 4 }),
            Effect.fail("abort" as const)
          )))
          assert.strictEqual(yield* titleNow("r_1"), "third")
          assert.deepStrictEqual(yield* titleOf("r_1"), Option.some("third"))
        }).pipe(Effect.provide(layer))
      }))
  }

  it.scopedLive("while another fiber's transaction is open, a read by id waits for it (never answers at once)", () =>
    Effect.gen(function*() {
      const layer = yield* onFile(undefined)
      yield* Effect.gen(function*() {
        const rows = yield* MeetingRows
        const sql = yield* SqlClient.SqlClient
        yield* rows.upsert(alice, [meeting("r_1", { title: "committed" })], { mode: "fetch", now: 1 })
        const inside = yield* Effect.makeLatch()
        const release = yield* Effect.makeLatch()
        const writer = yield* Effect.fork(sql.withTransaction(Effect.gen(function*() {
          yield* rows.upsert(alice, [meeting("r_1", { title: "uncommitted" })], { mode: "write", now: 2 })
          yield* inside.open
          yield* release.await
        })))
        yield* inside.await
        assert.isUndefined(yield* titleNow("r_1"))
        const reader = yield* Effect.fork(titleOf("r_1"))
        yield* release.open
        yield* writer.await
        assert.deepStrictEqual(yield* reader.await.pipe(Effect.flatten), Option.some("uncommitted"))
      }).pipe(Effect.provide(layer))
    }))

  it.scopedLive("[regression] the reader reads the writer's file: a relative name, then a change of folder", () =>
    Effect.gen(function*() {
      const [mine, other] = [yield* tempDir, yield* tempDir]
      const home = process.cwd()
      yield* Effect.addFinalizer(() => Effect.sync(() => process.chdir(home)))
      process.chdir(other)
      yield* put("r_1", "the other file's", 1, "fetch").pipe(Effect.provide(rowsOn("c.db")))
      process.chdir(mine)
      yield* Effect.gen(function*() {
        yield* put("r_1", "this cache's", 1, "fetch")
        process.chdir(other) // the app (a CLI step, a worker) changes folder later
        yield* put("r_2", "written after", 2)
        assert.strictEqual(yield* titleNow("r_1"), "this cache's")
        assert.strictEqual(yield* titleNow("r_2"), "written after")
      }).pipe(Effect.provide(rowsOn("c.db")))
    }))

  it.scopedLive("[regression] after the layer closed, a read by id does not answer at once (nothing reopens the file)", () =>
    Effect.gen(function*() {
      const layer = yield* onFile(undefined)
      const rows = yield* Effect.scoped(Effect.zipRight(put("r_1", "stored", 1, "fetch"), MeetingRows).pipe(Effect.provide(layer)))
      assert.isUndefined(rows.findNow(alice, "r_1", yield* Effect.context<never>(), Date.now()))
      assert.isTrue(Option.isNone(Option.getRight(yield* Effect.either(rows.findById(alice, "r_1")))))
    }))
})

/** `body` on the rows of a new file, hot copies on. */
const onHotFile = <A, E>(body: Effect.Effect<A, E, MeetingRows | SqlClient.SqlClient>) =>
  Effect.flatMap(tempDir, (dir) => Effect.provide(body, rowsOn(join(dir, "c.db"), { hot: true })))

describe("hot copies and writes", () => {
  it.scopedLive("[regression] a read made while a write waits for another fiber's transaction is not served after the write commits", () =>
    onHotFile(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* put("r_1", "v1", 1, "fetch")
      yield* titleOf("r_1") // a first read: the next one is remembered
      const inside = yield* Effect.makeLatch()
      const release = yield* Effect.makeLatch()
      const other = yield* Effect.fork(sql.withTransaction(Effect.gen(function*() {
        yield* put("r_2", "other", 1, "fetch")
        yield* inside.open
        yield* release.await
      })))
      yield* inside.await
      const update = yield* Effect.fork(put("r_1", "v2", 2))
      yield* Effect.yieldNow()
      yield* release.open
      // Between the other transaction's COMMIT and the update's BEGIN, the row is still v1.
      let between: unknown = "the gap was not met"
      for (let i = 0; i < 50 && between === "the gap was not met"; i++) {
        yield* Effect.yieldNow()
        if (Option.isSome(yield* Fiber.poll(other)) && Option.isNone(yield* Fiber.poll(update))) {
          between = Option.getOrNull(yield* titleOf("r_1"))
        }
      }
      yield* Fiber.join(update)
      assert.strictEqual(between, "v1")
      assert.deepStrictEqual(yield* titleOf("r_1"), Option.some("v2"))
      assert.strictEqual(yield* titleNow("r_1"), "v2")
    })))

  it.scopedLive("[regression] rows read inside a transaction are not remembered: after a rollback the committed row is served", () =>
    onHotFile(Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* put("r_1", "committed", 1, "fetch")
      yield* Effect.flip(sql.withTransaction(Effect.gen(function*() {
        yield* put("r_1", "rolled back", 2)
        assert.deepStrictEqual(yield* titleOf("r_1"), Option.some("rolled back"))
        assert.strictEqual(yield* titleNow("r_1"), "rolled back") // read twice: it would be admitted
        return yield* Effect.fail("abort" as const)
      })))
      assert.deepStrictEqual(yield* titleOf("r_1"), Option.some("committed"))
      assert.strictEqual(yield* titleNow("r_1"), "committed")
    })))
})
