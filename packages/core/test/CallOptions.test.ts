/**
 * Per-call options of the HTTP client: `timeout`, `budget` and `failFast` are checked before any
 * request (a bad value is `InvalidParams`), `failFast` does not retry a refused connection, and
 * `budget` bounds the whole call (attempts, limiter waits and retry delays).
 */
import { assert, describe, layer } from "@effect/vitest"
import { NodeHttpClient } from "@effect/platform-node"
import type { Duration } from "effect"
import { Effect, Redacted, Stream } from "effect"
import { MeetingsClient } from "../src/index.js"
import type { Meetings, MeetingsError } from "../src/index.js"
import { clientFor, pastMeeting, reset, sandboxLayer, timed } from "./helpers.js"

const badDurations: ReadonlyArray<readonly [string, Duration.DurationInput]> = [
  ["negative", -5],
  ["NaN", Number.NaN],
  ["Infinity", Number.POSITIVE_INFINITY],
  ["zero", 0],
  ["not a duration", "soon" as Duration.DurationInput],
  ["negative string", "-1 seconds" as Duration.DurationInput]
]

/** A closed port on loopback: connections are refused at once. */
const refusedUrl = "http://127.0.0.1:9"

describe("per-call options", () => {
  layer(sandboxLayer({ rateLimit: false }), { excludeTestServices: true })("against the sandbox", (it) => {
    it.effect("a bad timeout or budget is InvalidParams, on every operation, and nothing is sent", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const meetings = yield* clientFor("admin")
        const params = yield* pastMeeting("never sent")
        for (const option of ["timeout", "budget"] as const) {
          for (const [label, value] of badDurations) {
            const options: Meetings.WriteOptions = { [option]: value }
            const calls: ReadonlyArray<Effect.Effect<unknown, MeetingsError.MeetingsError>> = [
              meetings.retrieve("mtg_0000000000000000000000001", options),
              meetings.list({}, options),
              meetings.create(params, options),
              meetings.update("mtg_0000000000000000000000001", { fields: { $privacySetting: "FULL" } }, options),
              meetings.delete("mtg_0000000000000000000000001", options)
            ]
            for (const call of calls) {
              const error = yield* Effect.flip(call)
              assert.strictEqual(error._tag, "InvalidParams", `${option} ${label}`)
              if (error._tag === "InvalidParams") assert.strictEqual(error.param, option, `${option} ${label}`)
            }
            const streamError = yield* Effect.flip(Stream.runDrain(meetings.stream(options)))
            assert.strictEqual(streamError._tag, "InvalidParams", `stream ${option} ${label}`)
          }
        }
        const failFast = yield* Effect.flip(meetings.retrieve("mtg_0000000000000000000000001", { failFast: "yes" as unknown as boolean }))
        assert.strictEqual(failFast._tag, "InvalidParams")
        assert.deepStrictEqual(yield* sandbox.requests, [])
      }))

    it.effect("a budget shorter than a slow answer fails with Timeout within the budget", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        yield* sandbox.inject({ fault: { _tag: "Latency", millis: 3_000 }, match: "GET /v1/meetings", times: 1 })
        const meetings = yield* clientFor("admin")
        const [error, ms] = yield* timed(Effect.flip(meetings.list({}, { budget: "300 millis" })))
        assert.strictEqual(error._tag, "MeetingsUnavailable")
        if (error._tag === "MeetingsUnavailable") assert.strictEqual(error.reason, "Timeout")
        assert.isAtLeast(ms, 250)
        // Generous: a loaded machine; without the budget the call would wait the 3 s fault out.
        assert.isBelow(ms, 2_500)
      }))

    it.effect("a budget bounds the retries too: a 503 that keeps coming stops at the budget", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        yield* sandbox.inject({ fault: { _tag: "Status", status: 503 }, match: "GET /v1/meetings" })
        // Default backoff: 0.5 s then 1 s; a 400 ms budget ends during the first delay.
        const meetings = yield* clientFor("admin")
        const [error, ms] = yield* timed(Effect.flip(meetings.list({}, { budget: "400 millis" })))
        yield* sandbox.clearFaults
        assert.strictEqual(error._tag, "MeetingsUnavailable")
        if (error._tag === "MeetingsUnavailable") assert.strictEqual(error.reason, "Timeout")
        assert.isBelow(ms, 1_400)
      }))

    it.effect("a budget that is not used up changes nothing", () =>
      Effect.gen(function*() {
        yield* reset
        const meetings = yield* clientFor("admin")
        const page = yield* meetings.list({ limit: 1 }, { budget: "10 seconds", failFast: true })
        assert.strictEqual(page.data.length, 1)
      }))
  })

  describe("failFast", () => {
    // Retries that wait at least 2.25 s then 4.5 s: an answer within 2 s waited for none of them.
    const refused = (base: Duration.DurationInput) =>
      MeetingsClient.make({
        apiKey: Redacted.make("sk_lf_test"),
        baseUrl: refusedUrl,
        retrySchedule: MeetingsClient.retrySchedule({ maxRetries: 2, base })
      })

    layer(NodeHttpClient.layerUndici, { excludeTestServices: true })("a refused connection", (it) => {
      it.effect("fails at once with Transport, without the retries", () =>
        Effect.gen(function*() {
          const meetings = yield* refused("3 seconds")
          const [error, ms] = yield* timed(Effect.flip(meetings.list({}, { failFast: true })))
          assert.strictEqual(error._tag, "MeetingsUnavailable")
          if (error._tag === "MeetingsUnavailable") assert.strictEqual(error.reason, "Transport")
          assert.isBelow(ms, 2_000)
        }))

      it.effect("without failFast the default policy retries (the backoff is waited out)", () =>
        Effect.gen(function*() {
          const meetings = yield* refused("300 millis")
          const [error, ms] = yield* timed(Effect.flip(meetings.list({})))
          assert.strictEqual(error._tag, "MeetingsUnavailable")
          // 0.3 s and 0.6 s, less up to 25 % jitter.
          assert.isAtLeast(ms, 650)
        }))
    })
  })
})
