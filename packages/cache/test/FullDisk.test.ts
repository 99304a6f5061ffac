/**
 * A full disk (issue 10): every write ends in a typed `CacheError` (never a defect) and leaves
 * nothing half-written. The file is size-limited with `PRAGMA max_page_count`.
 */
import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import { join } from "node:path"
import type { MeetingsCache } from "../src/index.js"
import { createParams, makeFake, many, meeting, tempDir, withCache } from "./fixtures.js"

/** Let the file grow by at most `pages` pages from now on (0: not at all). */
const limitGrowth = (pages: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ page_count: number }>`PRAGMA page_count`
    yield* sql.unsafe(`PRAGMA max_page_count = ${Number(rows[0]!.page_count) + pages}`)
  })

const unlimited = Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe("PRAGMA max_page_count = 4294967294"))

/** A body too large for the pages left. */
const bulky = (title: string) => {
  const params = createParams(title)
  return { ...params, fields: { ...params.fields, $description: "x".repeat(200_000) } }
}

/** The exit is a success or a typed failure, never a defect; returns the failure's tag, if any. */
const typedOutcome = <A, E extends { readonly _tag: string }>(exit: Exit.Exit<A, E>): string => {
  if (Exit.isSuccess(exit)) return "ok"
  assert.isFalse(Cause.isDie(exit.cause), `a defect: ${Cause.pretty(exit.cause)}`)
  const failure = Cause.failureOption(exit.cause)
  return failure._tag === "Some" ? failure.value._tag : "interrupted"
}

const rowCounts = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const outbox = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM outbox`
  const meetings = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM meetings`
  return { outbox: Number(outbox[0]!.n), meetings: Number(meetings[0]!.n) }
})

describe("a full disk", () => {
  it.scopedLive("[regression] create --offline on a full file is a typed CacheError and writes nothing", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const fake = makeFake([meeting("mtg_1")])
      yield* withCache(join(dir, "c.db"), fake, (cache) =>
        Effect.gen(function*() {
          yield* cache.get("mtg_1")
          const before = yield* rowCounts
          yield* limitGrowth(0)
          const exit = yield* Effect.exit(cache.create(bulky("Too big"), { offline: true }))
          assert.strictEqual(typedOutcome(exit), "CacheError")
          if (Exit.isFailure(exit)) {
            const error = Cause.failureOption(exit.cause)
            assert.isTrue(error._tag === "Some" && error.value._tag === "CacheError" && error.value.reason === "Full")
          }
          assert.deepStrictEqual(yield* rowCounts, before)
          // Space again: the same write goes through, and the cache still works.
          yield* unlimited
          assert.isTrue((yield* cache.create(bulky("Fits now"), { offline: true })).pending)
          assert.strictEqual((yield* cache.outbox).length, 1)
        }))
    }))

  it.scopedLive("get stores its network answer: on a full file the answer is served, the store failure is typed", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const big = meeting("mtg_big", { description: "y".repeat(200_000) })
      const fake = makeFake([big])
      yield* withCache(join(dir, "c.db"), fake, (cache) =>
        Effect.gen(function*() {
          yield* limitGrowth(0)
          const exit = yield* Effect.exit(cache.get("mtg_big"))
          assert.strictEqual(typedOutcome(exit), "ok")
          assert.strictEqual((yield* rowCounts).meetings, 0)
        }))
    }))

  it.scopedLive("every write on a full file ends typed (success or CacheError), never as a defect", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const fake = makeFake([meeting("mtg_1"), ...many(30)])
      yield* withCache(join(dir, "c.db"), fake, (cache) =>
        Effect.gen(function*() {
          yield* cache.get("mtg_1")
          yield* cache.create(createParams("Queued"), { offline: true })
          yield* limitGrowth(0)
          fake.state.meetings.set("mtg_1", meeting("mtg_1", { description: "z".repeat(200_000) }))
          const writes: ReadonlyArray<readonly [string, Effect.Effect<unknown, { readonly _tag: string }, never>]> = [
            ["create offline", cache.create(bulky("Offline"), { offline: true })],
            ["create online", cache.create(bulky("Online"))],
            ["update offline", cache.update("mtg_1", { fields: { $privacySetting: "METADATA" } }, { offline: true })],
            ["refresh", cache.refresh(["mtg_1"])],
            ["sync", cache.sync()],
            ["replay", cache.replay],
            ["rebuild", cache.rebuild],
            ["stats", cache.stats]
          ] satisfies ReadonlyArray<readonly [string, Effect.Effect<unknown, MeetingsCacheFailure>]>
          for (const [name, write] of writes) {
            const exit = yield* Effect.exit(write)
            const outcome = typedOutcome(exit)
            assert.isTrue(outcome === "ok" || outcome === "CacheError", `${name}: ${outcome}`)
          }
          yield* unlimited
          // The cache still works once there is space again.
          assert.strictEqual((yield* cache.sync()).meetings, fake.state.meetings.size)
        }))
    }))
})

/**
 * Make every COMMIT that wrote a meeting or an outbox entry fail, as a full disk does when the
 * WAL cannot grow: a deferred foreign key that only COMMIT checks.
 */
const failingCommits = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe("PRAGMA foreign_keys = ON")
  yield* sql`CREATE TABLE commit_parent (id INTEGER PRIMARY KEY)`
  yield* sql`CREATE TABLE commit_guard (pid INTEGER REFERENCES commit_parent (id) DEFERRABLE INITIALLY DEFERRED)`
  for (const table of ["meetings", "outbox"]) {
    for (const event of ["INSERT", "UPDATE"]) {
      yield* sql.unsafe(`CREATE TRIGGER fail_${table}_${event} AFTER ${event} ON ${table}
        BEGIN INSERT INTO commit_guard (pid) VALUES (-1); END`)
    }
  }
  return Effect.all([
    sql`DELETE FROM commit_guard`,
    ...["meetings", "outbox"].flatMap((t) => ["INSERT", "UPDATE"].map((e) => sql.unsafe(`DROP TRIGGER fail_${t}_${e}`)))
  ], { discard: true })
})

describe("a COMMIT that fails", () => {
  it.scopedLive("[regression] a failed COMMIT is a typed CacheError for every write, nothing is half-written, and the connection stays usable", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const fake = makeFake([meeting("mtg_1"), ...many(30)])
      yield* withCache(join(dir, "c.db"), fake, (cache) =>
        Effect.gen(function*() {
          yield* cache.get("mtg_1")
          yield* cache.create(createParams("Queued"), { offline: true })
          const before = yield* rowCounts
          const repair = yield* failingCommits
          const writes: ReadonlyArray<readonly [string, Effect.Effect<unknown, MeetingsCacheFailure>]> = [
            ["create offline", cache.create(createParams("Offline"), { offline: true })],
            ["update offline", cache.update("mtg_1", { fields: { $privacySetting: "METADATA" } }, { offline: true })],
            ["refresh", cache.refresh(["mtg_1"])],
            ["replay", cache.replay]
          ]
          for (const [name, write] of writes) {
            assert.strictEqual(typedOutcome(yield* Effect.exit(write)), "CacheError", name)
            assert.deepStrictEqual(yield* rowCounts, before, `${name} left nothing behind`)
          }
          // A read whose store fails still answers.
          assert.strictEqual(typedOutcome(yield* Effect.exit(cache.get("m_00001"))), "ok")
          assert.strictEqual(fake.state.requests.filter((r) => r.op === "create").length, 0, "nothing was sent")
          yield* repair
          assert.isTrue((yield* cache.create(createParams("Works again"), { offline: true })).pending)
          assert.strictEqual((yield* cache.outbox).length, 2)
          assert.strictEqual((yield* cache.replay).replayed, 2)
        }))
    }))
})

type MeetingsCacheFailure = Effect.Effect.Error<ReturnType<MeetingsCache.MeetingsCacheShape["get"]>>
