import { Headers } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Option, Schedule } from "effect"
import { MeetingsClient, MeetingsError } from "../src/index.js"

/**
 * The delays the schedule chooses for a run of failed attempts. `Schedule.run` also emits the output
 * of the final `Done` step, so `errors` must outlast the schedule and the last output is dropped.
 */
const delaysFor = (
  schedule: Schedule.Schedule<unknown, MeetingsError.MeetingsError>,
  errors: ReadonlyArray<MeetingsError.MeetingsError>
) =>
  Schedule.run(Schedule.delays(schedule), 0, errors).pipe(
    Effect.map((c) => Chunk.toReadonlyArray(c).slice(0, -1).map(Duration.toMillis))
  )

const unavailable = new MeetingsError.MeetingsUnavailable({ reason: "Server", status: 503, message: "Service Unavailable" })

describe("MeetingsClient.retrySchedule", () => {
  it.effect("backs off from 0.5 s, doubling, capped at 8 s, minus up to 25 % jitter", () =>
    Effect.gen(function*() {
      const delays = yield* delaysFor(MeetingsClient.retrySchedule({ maxRetries: 6 }), Array(10).fill(unavailable))
      assert.strictEqual(delays.length, 6)
      const nominal = [500, 1000, 2000, 4000, 8000, 8000]
      delays.forEach((d, i) => {
        assert.isAtMost(d, nominal[i]!)
        assert.isAtLeast(d, nominal[i]! * 0.75)
      })
    }))

  it.effect("stops after maxRetries (default 2)", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* delaysFor(MeetingsClient.retrySchedule(), Array(5).fill(unavailable))).length, 2)
    }))

  it.effect("a server-requested delay replaces the backoff, cut to retryAfterCap", () =>
    Effect.gen(function*() {
      const asked = (seconds: number) =>
        new MeetingsError.RateLimited({ message: "slow down", retryAfter: Duration.seconds(seconds) })
      const delays = yield* delaysFor(
        MeetingsClient.retrySchedule({ maxRetries: 3, retryAfterCap: "60 seconds" }),
        [asked(3), asked(120), unavailable, unavailable]
      )
      assert.strictEqual(delays[0], 3000)
      assert.strictEqual(delays[1], 60_000)
      assert.isAtMost(delays[2]!, 2000)
    }))

  it.effect("final errors stop at once", () =>
    Effect.gen(function*() {
      const finals: ReadonlyArray<MeetingsError.MeetingsError> = [
        new MeetingsError.BadRequest({ status: 400, type: "bad_request", message: "no" }),
        new MeetingsError.Unauthorized({ message: "Invalid API key." }),
        new MeetingsError.Forbidden({ message: "no scope" }),
        new MeetingsError.MeetingNotFound({ message: "gone" }),
        new MeetingsError.Unprocessable({ message: "rule" }),
        new MeetingsError.IdempotencyConflict({ message: "in flight" }),
        new MeetingsError.UndecodableResponse({ status: 200, path: "data.0.id", message: "bad" }),
        new MeetingsError.InvalidParams({ param: "limit", message: "bad", status: 400 })
      ]
      for (const error of finals) {
        assert.deepStrictEqual(yield* delaysFor(MeetingsClient.retrySchedule(), [error]), [], error._tag)
        assert.isFalse(MeetingsClient.isRetryable(error), error._tag)
      }
    }))

  it("retries transport errors, timeouts, 408, 409 (idempotency conflicts only with a key), 429 and 5xx", () => {
    const retryable: ReadonlyArray<MeetingsError.MeetingsError> = [
      new MeetingsError.MeetingsUnavailable({ reason: "Transport", message: "reset" }),
      new MeetingsError.MeetingsUnavailable({ reason: "Timeout", message: "slow" }),
      new MeetingsError.MeetingsUnavailable({ reason: "Server", status: 502, message: "Bad Gateway" }),
      new MeetingsError.BadRequest({ status: 408, type: "request_timeout", message: "slow" }),
      new MeetingsError.Conflict({ message: "locked" }),
      new MeetingsError.IdempotencyConflict({ message: "in flight", idempotencyKey: "k" }),
      new MeetingsError.RateLimited({ message: "slow down" })
    ]
    for (const error of retryable) assert.isTrue(MeetingsClient.isRetryable(error), error._tag)
  })

  it("reads retry-after-ms, Retry-After seconds and an HTTP date", () => {
    const now = Date.parse("2026-04-07T21:00:00.000Z")
    const of = (h: Record<string, string>) =>
      Option.getOrUndefined(Option.map(MeetingsClient.retryAfterFromHeaders(Headers.fromInput(h), now), Duration.toMillis))
    assert.strictEqual(of({ "retry-after-ms": "250", "retry-after": "3" }), 250)
    assert.strictEqual(of({ "retry-after": "3" }), 3000)
    assert.strictEqual(of({ "retry-after": "Tue, 07 Apr 2026 21:00:05 GMT" }), 5000)
    assert.strictEqual(of({ "retry-after": "soon" }), undefined)
    assert.strictEqual(of({}), undefined)
  })
})
