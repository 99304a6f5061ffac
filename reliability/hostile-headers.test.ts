/**
 * Hostile headers (issue 10 #4): one answer carrying an absurd `X-RateLimit-Limit` (0.001, 0,
 * negative, NaN, huge), a bucket that claims to be empty until the far future, or a `Retry-After`
 * that is huge, negative, NaN, fractional, a date in 2099 or junk. On a 503, a 429 or an ordinary
 * 200, against a retrieve, a list and a cache sync.
 *
 * Every call ends (success or a typed `MeetingsError`) within a bound set by the client's own
 * options (attempts × timeout + retries × Retry-After cap), and the calls after it are not slowed
 * down: a handful of follow-up reads succeed at once. A call that does not end within its bound is
 * counted a stall (and cut off, so the suite goes on).
 */
import { describe, it } from "@effect/vitest"
import { MeetingsClient } from "@lightfield-effect/core"
import type { Sandbox } from "@lightfield-effect/sandbox"
import { Duration, Effect, Logger, LogLevel } from "effect"
import { join } from "node:path"
import * as Env from "./lib/Env.js"
import * as Run from "./lib/Run.js"
import * as Scenario from "./lib/Scenario.js"

const timeout = Duration.seconds(1)
const retryAfterCap = Duration.millis(200)
const maxRetries = 2
const clientOptions: Env.ClientOptions = {
  timeout,
  retryAfterCap,
  maxRetries,
  // The default policy's shape (Retry-After honoured up to the cap), with a short backoff otherwise.
  retrySchedule: MeetingsClient.retrySchedule({ maxRetries, base: Duration.millis(20), maxDelay: Duration.millis(100), retryAfterCap })
}

/** What one call may take at most under these options, plus slack for a loaded machine. */
const bound = Duration.millis(
  (maxRetries + 1) * Duration.toMillis(timeout) + maxRetries * Duration.toMillis(retryAfterCap) + 2_500
)
/** The follow-up reads after a hostile answer: each as fast as a plain read (with slack). */
const followUpBound = Duration.seconds(2)
const followUps = 4

interface Case {
  readonly name: string
  readonly fault: Sandbox.Fault
  /** Answers it applies to before it is used up (undefined: until cleared). */
  readonly times?: number
}

const limits = ["0.001", "0", "-1", "NaN", "1e308", "abc", "", "0.000000001"]
const retryAfters = ["99999999999", "-5", "NaN", "Infinity", "1e400", "3.7", "Wed, 21 Oct 2099 07:28:00 GMT", "", "0x10", " 2 "]

const cases = (): ReadonlyArray<Case> => [
  ...limits.map((v): Case => ({
    name: `503 with X-RateLimit-Limit ${JSON.stringify(v)}`,
    fault: { _tag: "Respond", status: 503, headers: { "x-ratelimit-limit": v, "x-ratelimit-remaining": "0" } },
    times: 1
  })),
  ...limits.map((v): Case => ({ name: `200 with X-RateLimit-Limit ${JSON.stringify(v)}`, fault: { _tag: "Headers", headers: { "x-ratelimit-limit": v } }, times: 1 })),
  ...["99999999999", "-1", "NaN", "1e30"].map((v): Case => ({
    name: `200 with Remaining 0 and Reset ${JSON.stringify(v)}`,
    fault: { _tag: "Headers", headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": v } },
    times: 1
  })),
  ...retryAfters.map((v): Case => ({ name: `429 with Retry-After ${JSON.stringify(v)}`, fault: { _tag: "Respond", status: 429, headers: { "retry-after": v } }, times: 1 })),
  ...retryAfters.slice(0, Run.scale() === "large" ? retryAfters.length : 4).map((v): Case => ({
    name: `429 storm with Retry-After ${JSON.stringify(v)}`,
    fault: { _tag: "Respond", status: 429, headers: { "retry-after": v } }
  })),
  ...["99999999999", "NaN", "-5"].map((v): Case => ({ name: `503 with Retry-After ${JSON.stringify(v)}`, fault: { _tag: "Respond", status: 503, headers: { "retry-after": v } }, times: 1 }))
]

type Op = "retrieve" | "list" | "cache.sync"
const routeOf: Record<Op, string> = { retrieve: "GET /v1/meetings/*", list: "GET /v1/meetings", "cache.sync": "GET /v1/meetings" }

describe("hostile headers", () => {
  it.scopedLive("absurd rate-limit and Retry-After headers: every call ends in its bound, later calls are not slowed", () =>
    Effect.gen(function*() {
      const { fail, finish, tally } = yield* Scenario.start("hostile-headers", "hostile rate-limit / Retry-After headers")
      const rng = Run.prng("hostile-headers")
      const dir = yield* Env.tempDir("hostile-headers")
      const sb = yield* Env.sandbox({ meetings: 40, seed: rng.int(1, 1_000_000) })
      const baseUrl = yield* sb.baseUrl
      const apiKey = sb.keys.member
      const ids = (yield* sb.meetings).map((m) => m.id)

      /** Runs `call` cut off at `limit`: its label, and whether it ended in time. */
      const timed = <A, E extends { readonly _tag: string }>(call: Effect.Effect<A, E>, limit: Duration.Duration) =>
        Effect.gen(function*() {
          const started = Date.now()
          const end = Scenario.ended(tally, yield* Effect.exit(Effect.timeout(call, limit)))
          const millis = Date.now() - started
          if (end._tag === "Success") return { label: "success", millis, stalled: false }
          const stalled = end._tag === "Failure" && end.error._tag === "TimeoutException"
          return { label: stalled ? "stalled" : end.label, millis, stalled }
        })

      const ops: ReadonlyArray<Op> = ["retrieve", "list", "cache.sync"]
      for (const [n, c] of cases().entries()) {
        // Every case against every operation in the large size; one operation per case (rotating) in CI.
        for (const op of Run.scale() === "large" ? ops : [ops[n % ops.length]!]) {
          const label = `${c.name} on ${op}`
          yield* sb.clearFaults
          // A fresh client (and cache) per cell: what it learns from the hostile answer is all it knows.
          yield* Effect.scoped(Effect.gen(function*() {
            const api = yield* Env.client(baseUrl, apiKey, clientOptions)
            const cache = op === "cache.sync"
              ? yield* Env.cache({ baseUrl, apiKey, db: join(dir, `h-${tally.trials}.db`), client: clientOptions })
              : undefined
            yield* sb.inject({ fault: c.fault, match: routeOf[op], ...(c.times === undefined ? {} : { times: c.times }) })
            const id = rng.pick(ids)
            const call: Effect.Effect<void, { readonly _tag: string }> = op === "retrieve"
              ? Effect.asVoid(api.retrieve(id))
              : op === "list"
              ? Effect.asVoid(api.list({ limit: 25 }))
              : Effect.asVoid(cache!.sync({ pageSize: 10 }))
            const first = yield* timed(call, bound)
            yield* sb.clearFaults
            tally.trials++
            tally.outcome(first.label === "success" ? "hostile answer: success" : first.stalled ? "hostile answer: STALLED" : first.label.startsWith("DEFECT") ? "hostile answer: defect" : "hostile answer: typed error")
            if (first.stalled || first.label.startsWith("DEFECT")) fail(`${label}: ${first.label} after ${first.millis} ms`)
            // The same client, right after: plain reads of that category and another one.
            for (let i = 0; i < followUps; i++) {
              const read: Effect.Effect<void, { readonly _tag: string }> = i % 2 === 0 || op === "retrieve"
                ? Effect.asVoid(api.retrieve(rng.pick(ids)))
                : Effect.asVoid(api.list({ limit: 5 }))
              const next = yield* timed(read, followUpBound)
              tally.trials++
              if (next.label !== "success") {
                tally.outcome(next.stalled ? "follow-up STALLED" : "follow-up failed")
                fail(`${label}: follow-up ${i + 1} ${next.label} after ${next.millis} ms`)
                break
              }
              tally.outcome("follow-up served at once")
            }
            if (cache !== undefined) {
              const again = yield* timed(cache.sync({ pageSize: 10 }), bound)
              tally.trials++
              if (again.label !== "success") fail(`${label}: the next sync ${again.label}`)
            }
          }).pipe(Effect.catchAll((e) => Effect.sync(() => fail(`${label}: setup failed: ${e._tag}`)))))
        }
      }

      yield* finish("a hostile rate-limit or Retry-After header stalls or breaks the client (issue 10 #4)")
    }).pipe(Logger.withMinimumLogLevel(LogLevel.Error)), 600_000)
})
