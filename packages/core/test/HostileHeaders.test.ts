/**
 * Issue 10 against the real sandbox on loopback (its `Respond` fault answers any status, body and headers).
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Exit, Option } from "effect"
import { captureLogs, clientFor, quickRetries, reset, sandboxLayer, timed } from "./helpers.js"

describe("issue 10 #4: hostile rate-limit headers", () => {
  layer(sandboxLayer({ rateLimit: false }), { excludeTestServices: true })("against the sandbox", (it) => {
    it.effect("[regression] #4 a hostile X-RateLimit-Limit (0.001) is ignored and logged, not a 1,000 s stall", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const logs = yield* captureLogs
        const [one, two] = yield* sandbox.meetings
        const meetings = yield* clientFor("admin", { ...quickRetries(), rate: 25 })
        yield* sandbox.inject({
          fault: { _tag: "Respond", status: 503, headers: { "x-ratelimit-limit": "0.001" } },
          match: "GET /v1/meetings/*",
          times: 1
        })
        const calls = Effect.all([meetings.retrieve(one!.id), meetings.retrieve(two!.id), meetings.retrieve(one!.id)])
        const result = yield* calls.pipe(Effect.timeout("5 seconds"), Effect.provide(logs.layer), Effect.either)
        assert.isTrue(result._tag === "Right", "the category did not stall")
        assert.isTrue(
          logs.lines.some((l) => l.level === "WARN" && l.message.includes("X-RateLimit-Limit")),
          JSON.stringify(logs.lines)
        )
      }))

    it.effect("[regression] #4 a far-future X-RateLimit-Reset is ignored and logged, not a pause of the category", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const logs = yield* captureLogs
        const [one] = yield* sandbox.meetings
        const meetings = yield* clientFor("admin", { ...quickRetries() })
        yield* sandbox.inject({
          fault: {
            _tag: "Respond",
            status: 503,
            headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "99999999999" }
          },
          match: "GET /v1/meetings/*",
          times: 1
        })
        const result = yield* meetings.retrieve(one!.id).pipe(
          Effect.timeout("5 seconds"),
          Effect.provide(logs.layer),
          Effect.either
        )
        assert.isTrue(result._tag === "Right", "the retry was not held for the cap")
        assert.isTrue(logs.lines.some((l) => l.level === "WARN" && l.message.includes("X-RateLimit-Reset")))
      }))

    it.effect("[regression] #4 a Retry-After that is not a delay, or above the cap, is logged; the retry waits at most the cap", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const logs = yield* captureLogs
        const [one] = yield* sandbox.meetings
        const meetings = yield* clientFor("admin", { maxRetries: 1, retryAfterCap: "200 millis" })
        for (const value of ["soon", "99999999"]) {
          yield* sandbox.inject({
            fault: { _tag: "Respond", status: 503, headers: { "retry-after": value } },
            match: "GET /v1/meetings/*",
            times: 1
          })
          const [result, elapsed] = yield* timed(meetings.retrieve(one!.id).pipe(Effect.provide(logs.layer), Effect.either))
          assert.isTrue(result._tag === "Right")
          assert.isBelow(elapsed, 2000)
        }
        const warnings = logs.lines.filter((l) => l.level === "WARN" && l.message.includes("Retry-After"))
        assert.strictEqual(warnings.length, 2, JSON.stringify(logs.lines))
      }))

    it.effect("[regression] #4 a lower limit learnt from one answer decays back when answers show the normal limit", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const [one] = yield* sandbox.meetings
        const meetings = yield* clientFor("admin", { ...quickRetries(), rate: 25 })
        // One answer says 2/s; every later answer (the sandbox's own) says 25/s again.
        yield* sandbox.inject({
          fault: { _tag: "Respond", status: 503, headers: { "x-ratelimit-limit": "2" } },
          match: "GET /v1/meetings/*",
          times: 1
        })
        yield* meetings.retrieve(one!.id)
        const [, elapsed] = yield* timed(Effect.all(Array.from({ length: 12 }, () => meetings.retrieve(one!.id))))
        // At 2/s twelve calls take more than 5 s; back at 25/s well under 2 s.
        assert.isBelow(elapsed, 2000)
      }))

    it.effect("[regression] #4 the caller's timeout covers the wait for the rate limiter", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const [one] = yield* sandbox.meetings
        const meetings = yield* clientFor("admin", { rate: 1, maxRetries: 0 })
        const [exits, elapsed] = yield* timed(
          Effect.all(
            Array.from({ length: 4 }, () => Effect.exit(meetings.retrieve(one!.id, { timeout: "300 millis" }))),
            { concurrency: "unbounded" }
          )
        )
        const timeouts = exits.filter((e) =>
          Exit.isFailure(e) && Option.exists(
            Exit.causeOption(e).pipe(Option.flatMap((c) => Option.fromNullable(c._tag === "Fail" ? c.error : undefined))),
            (error) => error._tag === "MeetingsUnavailable" && error.reason === "Timeout"
          )
        )
        // One slot per second: the first call runs, the other three wait past their 300 ms.
        assert.strictEqual(timeouts.length, 3)
        assert.isBelow(elapsed, 1500)
      }))

  })
})
