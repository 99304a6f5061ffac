import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Sandbox from "../src/Sandbox.js"
import { errorOf, send, withSandbox } from "./utils.js"

const keys = Sandbox.keysFor(1)

describe("Rate limits", () => {
  it.scopedLive("429 with Retry-After past the bucket; X-RateLimit-* on every response", () =>
    withSandbox({ meetings: 5, rateLimit: { perSecond: 1, capacity: 3 } }, () =>
      Effect.gen(function*() {
        const remaining: Array<string | undefined> = []
        for (let i = 0; i < 3; i++) {
          const res = yield* send("GET", "/v1/meetings", { key: keys.member })
          assert.strictEqual(res.status, 200)
          assert.strictEqual(res.headers["x-ratelimit-limit"], "3")
          remaining.push(res.headers["x-ratelimit-remaining"])
        }
        assert.deepStrictEqual(remaining, ["2", "1", "0"])
        const refused = yield* send("GET", "/v1/meetings", { key: keys.member })
        assert.strictEqual(refused.status, 429)
        assert.strictEqual(refused.headers["retry-after"], "1")
        assert.strictEqual(refused.headers["x-ratelimit-remaining"], "0")
        const reset = Number(refused.headers["x-ratelimit-reset"])
        assert.isAtLeast(reset, Math.floor(Date.now() / 1000))
        assert.isAtMost(reset, Math.ceil(Date.now() / 1000) + 4)
        const error = yield* errorOf(refused)
        assert.deepStrictEqual(error, { type: "too_many_requests", message: "Rate limit exceeded. Please try again later." })
        // Other categories and other organisations have their own buckets.
        const sandbox = yield* Sandbox.Sandbox
        const [first] = yield* sandbox.meetings
        assert.strictEqual((yield* send("GET", `/v1/meetings/${first!.id}`, { key: keys.member })).status, 200)
        assert.strictEqual((yield* send("GET", "/v1/meetings", { key: keys.otherOrg })).status, 200)
        // Same org, other key: same bucket.
        assert.strictEqual((yield* send("GET", "/v1/meetings", { key: keys.admin })).status, 429)
        // Errors carry the headers too.
        const unauthorized = yield* send("GET", "/v1/meetings", { key: "sk_lf_bad" })
        assert.strictEqual(unauthorized.status, 401)
        assert.isDefined(unauthorized.headers["x-ratelimit-remaining"])
        assert.isDefined(unauthorized.headers["x-ratelimit-reset"])
        yield* Effect.sleep("1050 millis")
        assert.strictEqual((yield* send("GET", "/v1/meetings", { key: keys.member })).status, 200)
      })))

  it.scopedLive("default 25/s: a burst passes up to the capacity, then 429, a 25/s stream sees no 429", () =>
    withSandbox({ meetings: 5 }, () =>
      Effect.gen(function*() {
        const started = Date.now()
        // 100 at once: even a loaded machine that needs a second or two to send them outruns the refill.
        const burst = yield* Effect.forEach(
          Array.from({ length: 100 }),
          () => send("GET", "/v1/meetings?limit=1", { key: keys.member }),
          { concurrency: 100 }
        )
        const elapsedSeconds = (Date.now() - started) / 1000
        const passed = burst.filter((r) => r.status === 200).length
        const refused = burst.filter((r) => r.status === 429)
        assert.isAtLeast(passed, 25)
        assert.isAtMost(passed, 25 + Math.ceil(elapsedSeconds * 25) + 1)
        assert.strictEqual(passed + refused.length, 100)
        assert.isAbove(refused.length, 0)
        assert.strictEqual(refused[0]!.headers["retry-after"], "1")
        yield* Effect.sleep("40 millis")
        // From an empty bucket, one request every 40 ms (= 25/s) never hits the limit.
        const statuses: Array<number> = []
        for (let i = 0; i < 25; i++) {
          statuses.push((yield* send("GET", "/v1/meetings?limit=1", { key: keys.member })).status)
          yield* Effect.sleep("40 millis")
        }
        assert.deepStrictEqual(statuses.filter((s) => s !== 200), [])
      })))

  it.scopedLive("switchable off and reconfigurable at runtime (API and admin endpoint)", () =>
    withSandbox({ meetings: 5, rateLimit: false }, (sandbox) =>
      Effect.gen(function*() {
        for (let i = 0; i < 40; i++) {
          assert.strictEqual((yield* send("GET", "/v1/meetings?limit=1", { key: keys.member })).status, 200)
        }
        yield* sandbox.setRateLimit({ perSecond: 1, capacity: 1 })
        assert.strictEqual((yield* send("GET", "/v1/meetings?limit=1", { key: keys.member })).status, 200)
        assert.strictEqual((yield* send("GET", "/v1/meetings?limit=1", { key: keys.member })).status, 429)
        const off = yield* send("POST", "/__sandbox/rate-limit", { body: { enabled: false } })
        assert.strictEqual(off.status, 200)
        assert.strictEqual((yield* send("GET", "/v1/meetings?limit=1", { key: keys.member })).status, 200)
      })))
})
