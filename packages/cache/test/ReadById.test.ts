/**
 * Reads by id on a SQLite file: outside any transaction they run on the handle's second, read-only
 * (memory-mapped) connection, inside a fiber's own transaction on the writer. Either way a read
 * sees what the cache itself has committed, and a transaction sees its own writes.
 */
import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { Database, Principal } from "../src/index.js"
import { HotCacheCapacity } from "../src/internal/hotSet.js"
import { MeetingRows } from "../src/internal/meetingRows.js"
import { meeting, rowsLayer, tempDir } from "./fixtures.js"
import { join } from "node:path"

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

const onFile = (mmapSize: number | undefined) =>
  Effect.gen(function*() {
    const file = join(yield* tempDir, "c.db")
    const db = Database.layer(mmapSize === undefined ? { filename: file } : { filename: file, mmapSize })
    // Hot copies off: every read goes to SQLite.
    return rowsLayer(db).pipe(Layer.provide(Layer.succeed(HotCacheCapacity, 0)))
  })

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
})
