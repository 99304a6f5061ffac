/**
 * Path-like ids (issue 10 #8): `.`, `..`, `a/b`, `%2F`, the empty string, `?`, `#`, whitespace,
 * control characters, over-long ids, plus property-based ones (fast-check, seeded from the run
 * seed) that each hold at least one such character. URL normalisation would turn `GET
 * /v1/meetings/..` into a request to another endpoint, so each must be refused with `InvalidParams`
 * before any request: by the client's retrieve and update, and by the cache's reads (`NetworkFirst`,
 * `CacheFirst`), updates (online and offline: nothing queued) and refresh. The sandbox's request log
 * is the witness; a control id that is well-formed but unknown does reach it.
 */
import { assert, describe, it } from "@effect/vitest"
import type { MeetingsCache } from "@lightfield-effect/cache"
import type { Meetings } from "@lightfield-effect/core"
import { Effect, Exit, FastCheck as fc, Logger, LogLevel } from "effect"
import { join } from "node:path"
import * as Env from "./lib/Env.js"
import * as Run from "./lib/Run.js"
import * as Scenario from "./lib/Scenario.js"

const fixed: ReadonlyArray<string> = [
  ".",
  "..",
  "a/b",
  "%2F",
  "%2e%2e",
  "",
  " ",
  "a%2Fb",
  "../v1/meetings",
  "./x",
  "mtg_1/..",
  "a?b",
  "?limit=1",
  "a#b",
  "#",
  "a b",
  "a\nb",
  "a\u0000b",
  "\t",
  "x".repeat(300),
  "../../__sandbox/faults",
  "mtg_%00"
]

/** An id holding at least one character (or form) the id grammar refuses. */
const pathLike = fc.oneof(
  fc.tuple(
    fc.string({ maxLength: 12 }),
    fc.constantFrom("/", "?", "#", "%", " ", "\\", "\n", "\u0000", "/.", "%2F", "\u00e9", "\"", "<", "[", "]", "{", "`", "^", "|"),
    fc.string({ maxLength: 12 })
  ).map(([a, bad, b]) => a + bad + b),
  fc.constantFrom(".", "..", ""),
  fc.string({ minLength: 256, maxLength: 400 })
)

type Op =
  | "retrieve"
  | "update"
  | "cache.retrieve NetworkFirst"
  | "cache.retrieve CacheFirst"
  | "cache.update online"
  | "cache.update offline"
  | "cache.refresh"

const run = (api: Meetings.MeetingsShape, cache: MeetingsCache.MeetingsCacheShape, op: Op, id: string) => {
  const update = { fields: { $privacySetting: "METADATA" as const } }
  switch (op) {
    case "retrieve":
      return Effect.asVoid(api.retrieve(id))
    case "update":
      return Effect.asVoid(api.update(id, update))
    case "cache.retrieve NetworkFirst":
      return Effect.asVoid(cache.retrieve(id, { policy: "NetworkFirst" }))
    case "cache.retrieve CacheFirst":
      return Effect.asVoid(cache.retrieve(id, { policy: "CacheFirst" }))
    case "cache.update online":
      return Effect.asVoid(cache.update(id, update))
    case "cache.update offline":
      return Effect.asVoid(cache.update(id, update, { offline: true }))
    case "cache.refresh":
      return Effect.asVoid(cache.refresh([id]))
  }
}

const ops: ReadonlyArray<Op> = [
  "retrieve",
  "update",
  "cache.retrieve NetworkFirst",
  "cache.retrieve CacheFirst",
  "cache.update online",
  "cache.update offline",
  "cache.refresh"
]

describe("path-like ids", () => {
  it.scopedLive("[regression] issue 10 #8: path-like ids refused with InvalidParams before any request, by the client and the cache", () =>
    Effect.gen(function*() {
      const { fail, finish, tally } = yield* Scenario.start("path-ids", "path-like ids (fixed + property-based)")
      const dir = yield* Env.tempDir("path-ids")
      const sb = yield* Env.sandbox({ meetings: 10, seed: Run.prng("path-ids-env").int(1, 1_000_000) })
      const baseUrl = yield* sb.baseUrl
      const apiKey = sb.keys.member
      const db = join(dir, "cache.db")
      const api = yield* Env.client(baseUrl, apiKey)
      const cache = yield* Env.cache({ baseUrl, apiKey, db })
      yield* cache.sync()
      const queuedBefore = (yield* Env.outboxRows(db)).length

      const check = (op: Op, id: string) =>
        Effect.gen(function*() {
          yield* sb.clearRequests
          const end = Scenario.ended(tally, yield* Effect.exit(run(api, cache, op, id)))
          const reached = (yield* sb.requests).map((r) => `${r.method} ${r.path}${r.query === "" ? "" : `?${r.query}`}`)
          tally.trials++
          const what = `${op} ${JSON.stringify(id.length > 40 ? `${id.slice(0, 40)}…` : id)}`
          if (reached.length > 0) {
            tally.outcome("reached the sandbox")
            fail(`${what}: sent ${reached.join(", ")}`)
          }
          if (end._tag !== "Failure") {
            fail(`${what}: ${end._tag === "Success" ? "accepted" : end.label}`)
            return tally.outcome(end._tag === "Success" ? "accepted" : "defect")
          }
          if (end.error._tag !== "InvalidParams") fail(`${what}: ${end.label}, not InvalidParams`)
          tally.outcome(`refused: ${end.error._tag}`)
        })

      for (const id of fixed) for (const op of ops) yield* check(op, id)
      const runs = Run.scale() === "large" ? 300 : 40
      for (const op of ops) {
        const ids = fc.sample(pathLike, { numRuns: runs, seed: Run.seed() + op.length })
        for (const id of ids) yield* check(op, id)
      }

      // Control: a well-formed unknown id does reach the sandbox (404), so the log is a witness.
      yield* sb.clearRequests
      const control = yield* Effect.exit(api.retrieve("mtg_doesnotexist"))
      tally.outcome("valid id sent (control)")
      assert.isTrue(Exit.isFailure(control))
      assert.deepStrictEqual((yield* sb.requests).map((r) => [r.path, r.status]), [["/v1/meetings/mtg_doesnotexist", 404]])
      const queuedAfter = (yield* Env.outboxRows(db)).length
      if (queuedAfter !== queuedBefore) fail(`${queuedAfter - queuedBefore} writes with path-like ids were queued`)

      yield* finish("a path-like id is not refused with InvalidParams before any request or lookup (issue 10 #8)")
    }).pipe(Logger.withMinimumLogLevel(LogLevel.Error)), 120_000)
})
