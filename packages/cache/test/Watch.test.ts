/**
 * Live queries (`MeetingsCache.watch`) over the sandbox: the current result at once, a new one per
 * change that alters it (sync, write-through, delete, replay, rebuild), none for another
 * principal's changes, and a change committed by another process on the same file within 1 s.
 */
import { assert, describe, it } from "@effect/vitest"
import { Sandbox } from "@lightfield-effect/sandbox"
import { Effect, Fiber, Option, Queue, Stream } from "effect"
import type { Duration } from "effect"
import { spawn } from "node:child_process"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { NodeHttpClient } from "@effect/platform-node"
import { MeetingsClient } from "@lightfield-effect/core"
import { Layer } from "effect"
import { MeetingsCache as Cache } from "../src/index.js"
import type { MeetingsCache } from "../src/index.js"
import { dbLayer, tempDir } from "./fixtures.js"
import { cacheLayer, pastMeeting, withCache } from "./sandbox.js"
import { databases } from "./databases.js"

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url))
const writer = fileURLToPath(new URL("./child/writer.ts", import.meta.url))

/** Run `watch` in the background; its emissions in a queue. */
const watching = (cache: MeetingsCache.MeetingsCacheShape, query?: Parameters<MeetingsCache.MeetingsCacheShape["watch"]>[0]) =>
  Effect.gen(function*() {
    const seen = yield* Queue.unbounded<{ readonly rows: number; readonly at: number }>()
    const fiber = yield* Effect.fork(
      Stream.runForEach(cache.watch(query), (r) => Queue.offer(seen, { rows: r.length, at: Date.now() }))
    )
    const nextAt = (within: Duration.DurationInput = "2 seconds") => Effect.timeout(Queue.take(seen), within)
    const next = (within?: Duration.DurationInput) => Effect.map(nextAt(within), (r) => r.rows)
    const quiet = (during: Duration.DurationInput) => Effect.map(Effect.timeoutOption(Queue.take(seen), during), Option.isNone)
    return { next, nextAt, quiet, fiber }
  })

describe.each(databases)("cache: live queries ($name)", (db) => {
  it.scopedLive("emits at once, then once per change that alters the result; nothing for other principals", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const sandbox = yield* Sandbox.make({ meetings: 5, rateLimit: false })
      yield* withCache(sandbox, "admin", file, (cache) =>
        Effect.gen(function*() {
          const w = yield* watching(cache)
          assert.strictEqual(yield* w.next(), 0)
          yield* cache.sync()
          assert.strictEqual(yield* w.next(), 5)
          // A second sync of the same server state changes nothing the query shows.
          yield* cache.sync()
          assert.isTrue(yield* w.quiet("400 millis"))
          const created = yield* cache.create(pastMeeting("Live"))
          assert.strictEqual(yield* w.next(), 6)
          yield* cache.delete(created.value.id)
          assert.strictEqual(yield* w.next(), 5)
          yield* sandbox.stop
          const queued = yield* cache.create(pastMeeting("Queued live"))
          assert.isTrue(queued.pending)
          assert.strictEqual(yield* w.next(), 6)
          yield* sandbox.start
          // The replay turns the provisional row into the server's: a new result of the same size.
          yield* cache.replay
          assert.strictEqual(yield* w.next(), 6)
          yield* cache.rebuild
          assert.strictEqual(yield* w.next(), 0)
          // Another principal syncing into the same file: not this watcher's rows.
          yield* Effect.flatMap(Cache.MeetingsCache, (other) => other.sync()).pipe(
            Effect.provide(cacheLayer(sandbox, "member", file))
          )
          assert.isTrue(yield* w.quiet("500 millis"))
          yield* Fiber.interrupt(w.fiber)
        }))
    }), { timeout: 30_000 })
})

// SQLite's own: another process's commit is noticed through `PRAGMA data_version` (on PostgreSQL,
// change notices between instances are LISTEN/NOTIFY's, a fleet test of their own).
describe.each(databases.filter((d) => d.name === "sqlite"))("cache: live queries across processes on one SQLite file", () => {
  it.scopedLive("a write by another process on the same file is seen within 1 s", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = join(dir, "c.db")
      const sandbox = yield* Sandbox.make({ meetings: 0, rateLimit: false })
      const principal = "watch-test"
      const baseUrl = yield* sandbox.baseUrl
      const layer = Cache.layer({ principal }).pipe(
        Layer.provide(
          MeetingsClient.layerWithApiKey(sandbox.keys.admin, { baseUrl, rate: false, maxRetries: 0 }).pipe(
            Layer.provide(NodeHttpClient.layerUndici)
          )
        ),
        Layer.provide(dbLayer(file))
      )
      yield* Effect.gen(function*() {
        const cache = yield* Cache.MeetingsCache
        const w = yield* watching(cache)
        assert.strictEqual(yield* w.next(), 0)
        const written = yield* Effect.async<number, Error>((resume) => {
          const child = spawn(process.execPath, ["--import", "tsx", writer, file, principal, "From another process"], {
            cwd: repoRoot,
            stdio: ["ignore", "pipe", "pipe"],
            env: { ...process.env, NODE_NO_WARNINGS: "1" }
          })
          let out = ""
          let err = ""
          child.stdout.on("data", (d) => (out += String(d)))
          child.stderr.on("data", (d) => (err += String(d)))
          child.on("exit", (code) => {
            const m = /written (\d+)/.exec(out)
            resume(m === null ? Effect.fail(new Error(`writer exited ${code}: ${err}`)) : Effect.succeed(Number(m[1])))
          })
          return Effect.sync(() => child.kill("SIGKILL"))
        })
        const seen = yield* w.nextAt("5 seconds")
        assert.strictEqual(seen.rows, 1)
        const latency = seen.at - written
        assert.isBelow(latency, 1000, `emitted ${latency} ms after the other process committed`)
        yield* Fiber.interrupt(w.fiber)
      }).pipe(Effect.provide(layer))
    }), { timeout: 60_000 })
})
