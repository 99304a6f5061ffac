/**
 * Hostile bodies (issue 10 #5, #2): a 200 whose body is 10,000 nested arrays or objects (as the
 * whole body, or inside a meeting's field), 2,000 nested arrays (whose error message must not copy
 * the body), a body of hundreds of megabytes (streamed by the sandbox, chunked or with a
 * Content-Length), and list pages shorter than they claim (`totalCount` says more exist).
 *
 * Against a retrieve, a list, a `NetworkFirst` cache read and a cache sync, on a cache that has
 * already synced every meeting: each call ends in a typed error (`UndecodableResponse`, or a typed
 * body-size error for the huge bodies) or a success, never a defect; error messages stay short; a
 * huge body is not held whole in memory; and no stored meeting is marked gone (the server deleted
 * nothing).
 */
import { describe, it } from "@effect/vitest"
import type { MeetingsCache } from "@lightfield-effect/cache"
import { Meeting } from "@lightfield-effect/core"
import type { Sandbox } from "@lightfield-effect/sandbox"
import { Effect, Exit, Logger, LogLevel, Schema } from "effect"
import { join } from "node:path"
import * as Env from "./lib/Env.js"
import * as Run from "./lib/Run.js"
import * as Scenario from "./lib/Scenario.js"

type Op = "retrieve" | "list" | "cache.retrieve NetworkFirst" | "cache.sync"
const routeOf: Record<Op, string> = {
  retrieve: "GET /v1/meetings/*",
  list: "GET /v1/meetings",
  "cache.retrieve NetworkFirst": "GET /v1/meetings/*",
  "cache.sync": "GET /v1/meetings"
}
const listOps = new Set<Op>(["list", "cache.sync"])

/** The longest error message accepted: an excerpt of the body, not the body. */
const maxMessage = 2_000

const nestedArrays = (depth: number) => "[".repeat(depth) + "]".repeat(depth)
const nestedObjects = (depth: number) => "{\"a\":".repeat(depth) + "1" + "}".repeat(depth)

interface Case {
  readonly name: string
  /** The fault for an op (undefined: the case does not apply to it). */
  readonly fault: (op: Op) => Sandbox.Fault | undefined
  /** Rule hits (undefined: until cleared). */
  readonly times?: number
  /** What a failure must be: `UndecodableResponse` for bodies that are not meetings, any typed error for huge ones. */
  readonly failure: "UndecodableResponse" | "typed"
  /** The call may also succeed (short pages: a client may ask again). */
  readonly maySucceed: boolean
  /** Sample memory while the call runs. */
  readonly bytes?: number
}

const MiB = 1024 * 1024

describe("hostile bodies", () => {
  it.scopedLive("[regression] issue 10 #5 and #2: deep nesting, huge bodies, short pages: typed errors, short messages, bounded memory, nothing marked gone", () =>
    Effect.gen(function*() {
      const { fail, finish, tally } = yield* Scenario.start("hostile-bodies", "hostile bodies (nesting, size, short pages)")
      const rng = Run.prng("hostile-bodies")
      const large = Run.scale() === "large"
      const dir = yield* Env.tempDir("hostile-bodies")
      const sb = yield* Env.sandbox({ meetings: 40, seed: rng.int(1, 1_000_000) })
      const baseUrl = yield* sb.baseUrl
      const apiKey = sb.keys.member
      const db = join(dir, "cache.db")
      const api = yield* Env.client(baseUrl, apiKey)
      const cache: MeetingsCache.MeetingsCacheShape = yield* Env.cache({ baseUrl, apiKey, db })
      yield* cache.sync()
      const principal = Env.principalOf(apiKey)
      const synced = (yield* Env.storedRows(db)).filter((r) => r.principal === principal && r.gone === 0).length
      const all = yield* sb.meetings
      const target = all[3]!
      // A real meeting with one field nested 10,000 deep: well-formed JSON, hostile content.
      const wire = Schema.encodeSync(Meeting.Meeting)(target)
      const marker = "\"__nested__\""
      const meetingWith = (nested: string) =>
        JSON.stringify({ ...wire, fields: { ...wire.fields, $description: { value: "__nested__", valueType: "TEXT" } } })
          .replace(marker, nested)
      const pageWith = (nested: string) => `{"data":[${meetingWith(nested)}],"object":"list","totalCount":${all.length}}`
      const respond = (body: string): Sandbox.Fault => ({ _tag: "Respond", status: 200, body, contentType: "application/json" })
      const huge = large ? 700 * MiB : 256 * MiB

      const cases: ReadonlyArray<Case> = [
        { name: "10,000 nested arrays", fault: () => respond(nestedArrays(10_000)), failure: "UndecodableResponse", maySucceed: false },
        { name: "10,000 nested objects", fault: () => respond(nestedObjects(10_000)), failure: "UndecodableResponse", maySucceed: false },
        {
          name: "a field nested 10,000 deep",
          fault: (op) => respond(listOps.has(op) ? pageWith(nestedArrays(10_000)) : meetingWith(nestedArrays(10_000))),
          failure: "UndecodableResponse",
          maySucceed: false
        },
        { name: "2,000 nested arrays", fault: () => respond(nestedArrays(2_000)), failure: "UndecodableResponse", maySucceed: false },
        {
          name: `a ${huge / MiB} MiB body, chunked`,
          fault: () => ({ _tag: "HugeBody", bytes: huge }),
          failure: "typed",
          maySucceed: false,
          bytes: huge
        },
        {
          name: `a ${huge / MiB} MiB body with Content-Length`,
          fault: () => ({ _tag: "HugeBody", bytes: huge, declareLength: true }),
          failure: "typed",
          maySucceed: false,
          bytes: huge
        },
        { name: "a short first page", fault: (op) => (op === "cache.sync" ? { _tag: "ShortPage", keep: 3 } : undefined), times: 1, failure: "typed", maySucceed: true },
        { name: "an empty page claiming more", fault: (op) => (op === "cache.sync" ? { _tag: "ShortPage", keep: 0 } : undefined), times: 1, failure: "typed", maySucceed: true },
        { name: "every page short", fault: (op) => (op === "cache.sync" ? { _tag: "ShortPage", keep: 4 } : undefined), failure: "typed", maySucceed: true }
      ]
      const ops: ReadonlyArray<Op> = ["retrieve", "list", "cache.retrieve NetworkFirst", "cache.sync"]

      for (const [n, c] of cases.entries()) {
        const applicable = ops.filter((op) => c.fault(op) !== undefined)
        // Huge bodies cost seconds each: in CI one operation of each kind (client, cache), rotating.
        const chosen = large || c.bytes === undefined ? applicable : [applicable[n % 2]!, applicable[2 + (n % 2)]!]
        for (const op of chosen) {
          const label = `${c.name} on ${op}`
          yield* sb.clearFaults
          yield* sb.inject({ fault: c.fault(op)!, match: routeOf[op], ...(c.times === undefined ? {} : { times: c.times }) })
          const call: Effect.Effect<unknown, { readonly _tag: string; readonly message: string }> = op === "retrieve"
            ? api.retrieve(target.id)
            : op === "list"
            ? api.list({ limit: 25 })
            : op === "cache.retrieve NetworkFirst"
            ? cache.retrieve(target.id, { policy: "NetworkFirst" })
            : cache.sync({ pageSize: 10 })
          let peak = 0
          const rssBefore = process.memoryUsage().rss
          const sampler = setInterval(() => {
            peak = Math.max(peak, process.memoryUsage().rss - rssBefore)
          }, 10)
          const exit = yield* Effect.exit(call).pipe(Effect.ensuring(Effect.sync(() => clearInterval(sampler))))
          yield* sb.clearFaults
          tally.trials++
          const end = Scenario.ended(tally, exit)
          if (end._tag === "Success") {
            if (!c.maySucceed) fail(`${label}: succeeded`)
            const gone = op === "cache.sync" ? (end.value as { readonly gone: ReadonlyArray<string> }).gone.length : 0
            if (gone > 0) fail(`${label}: the sync reported ${gone} meetings gone`)
            tally.outcome("success")
          } else if (end._tag === "Defect") {
            fail(`${label}: ${end.label}`)
            tally.outcome("defect")
          } else {
            const e = end.error
            tally.outcome(end.label)
            if (c.failure === "UndecodableResponse" && e._tag !== "UndecodableResponse") fail(`${label}: ${end.label}, not UndecodableResponse`)
            const length = e.message?.length ?? 0
            if (length > maxMessage) fail(`${label}: a ${length}-character error message`)
          }
          if (c.bytes !== undefined) {
            tally.notes.push(`${label}: peak RSS +${Math.round(peak / MiB)} MiB`)
            if (peak > c.bytes / 2) fail(`${label}: RSS grew ${Math.round(peak / MiB)} MiB for a ${c.bytes / MiB} MiB body`)
          }
          // Nothing the server still has may be marked gone.
          const rows = (yield* Env.storedRows(db)).filter((r) => r.principal === principal)
          const gone = rows.filter((r) => r.gone === 1).length
          if (gone > 0 || rows.length < synced) {
            tally.lost += gone
            fail(`${label}: ${gone} stored meetings marked gone (${rows.length} rows, ${synced} synced)`)
          }
        }
      }
      // Once the server behaves, the cache syncs to exactly the server's set.
      const final = yield* Effect.exit(cache.sync())
      if (Exit.isFailure(final)) fail(`the sync after the hostile bodies failed`)
      yield* finish("hostile bodies crash decoding, blow up memory or mark meetings gone (issue 10 #5, #2)")
    }).pipe(Logger.withMinimumLogLevel(LogLevel.Error)), 600_000)
})
