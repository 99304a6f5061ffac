import { assert, layer } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import * as Sandbox from "../src/Sandbox.js"
import { createBody, errorOf, meetingOf, send, testLayer } from "./utils.js"

const keys = Sandbox.keysFor(3)

const countTitled = (title: string) =>
  Effect.gen(function*() {
    const sandbox = yield* Sandbox.Sandbox
    return (yield* sandbox.meetings).filter((m) => m.title._tag === "Some" && m.title.value === title).length
  })

layer(testLayer({ seed: 3, meetings: 10, rateLimit: false }), { excludeTestServices: true })("Idempotency", (it) => {
  it.effect("a replay returns the same status and body and stores once; the new body is ignored", () =>
    Effect.gen(function*() {
      const headers = { "Idempotency-Key": "replay-1" }
      const first = yield* send("POST", "/v1/meetings", { key: keys.member, headers, body: createBody({ $title: "replay once" }) })
      assert.strictEqual(first.status, 200)
      const second = yield* send("POST", "/v1/meetings", {
        key: keys.member,
        headers,
        body: createBody({ $title: "a different body" })
      })
      assert.strictEqual(second.status, 200)
      assert.strictEqual(second.text, first.text)
      assert.strictEqual(yield* countTitled("replay once"), 1)
      assert.strictEqual(yield* countTitled("a different body"), 0)
      const sandbox = yield* Sandbox.Sandbox
      const logged = (yield* sandbox.requests).filter((r) => r.idempotencyKey === "replay-1")
      assert.deepStrictEqual(logged.map((r) => r.replayed), [false, true])
    }))

  it.effect("same key while the first is in flight -> 409 idempotency_conflict", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.Sandbox
      yield* sandbox.inject({ fault: { _tag: "Latency", millis: 400 }, match: "POST /v1/meetings", times: 1 })
      const headers = { "Idempotency-Key": "inflight-1" }
      const slow = yield* Effect.fork(
        send("POST", "/v1/meetings", { key: keys.member, headers, body: createBody({ $title: "in flight" }) })
      )
      yield* Effect.sleep("150 millis")
      const clash = yield* send("POST", "/v1/meetings", { key: keys.member, headers, body: createBody({ $title: "in flight" }) })
      assert.strictEqual(clash.status, 409)
      const error = yield* errorOf(clash)
      assert.strictEqual(error.type, "idempotency_conflict")
      assert.strictEqual(error.message, "An operation with this idempotency key is already in progress. Please wait and retry.")
      const done = yield* Fiber.join(slow)
      assert.strictEqual(done.status, 200)
      const again = yield* send("POST", "/v1/meetings", { key: keys.member, headers, body: createBody({ $title: "in flight" }) })
      assert.strictEqual(again.text, done.text)
      assert.strictEqual(yield* countTitled("in flight"), 1)
    }))

  it.effect("errors are not cached: a failed first attempt re-executes", () =>
    Effect.gen(function*() {
      const headers = { "Idempotency-Key": "fails-first" }
      const bad = yield* send("POST", "/v1/meetings", { key: keys.member, headers, body: createBody({ $title: 1 }) })
      assert.strictEqual(bad.status, 400)
      const good = yield* send("POST", "/v1/meetings", { key: keys.member, headers, body: createBody({ $title: "second try" }) })
      assert.strictEqual(good.status, 200)
      assert.strictEqual(yield* countTitled("second try"), 1)
    }))

  it.effect("scoped per organisation and per operation type", () =>
    Effect.gen(function*() {
      const headers = { "Idempotency-Key": "shared-key" }
      const created = yield* meetingOf(
        yield* send("POST", "/v1/meetings", { key: keys.member, headers, body: createBody({ $title: "scope a" }) })
      )
      // Another org: its own namespace, so this executes.
      const other = yield* send("POST", "/v1/meetings", { key: keys.otherOrg, headers, body: createBody({ $title: "scope b" }) })
      assert.strictEqual(other.status, 200)
      assert.notStrictEqual((yield* meetingOf(other)).id, created.id)
      // Update with the same key: a different operation type, so it executes too.
      const updated = yield* send("POST", `/v1/meetings/${created.id}`, {
        key: keys.member,
        headers,
        body: { fields: { $privacySetting: "METADATA" } }
      })
      assert.strictEqual(updated.status, 200)
      const meeting = yield* meetingOf(updated)
      assert.strictEqual(meeting.id, created.id)
      assert.deepStrictEqual(meeting.privacySetting._tag, "Some")
    }))

  it.effect("keys expire after 24 h of sandbox time", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.Sandbox
      const headers = { "Idempotency-Key": "expires" }
      const body = createBody({ $title: "expiring" })
      const first = yield* meetingOf(yield* send("POST", "/v1/meetings", { key: keys.member, headers, body }))
      yield* sandbox.advanceClock("23 hours")
      const replay = yield* meetingOf(yield* send("POST", "/v1/meetings", { key: keys.member, headers, body }))
      assert.strictEqual(replay.id, first.id)
      yield* sandbox.advanceClock("2 hours")
      const fresh = yield* meetingOf(yield* send("POST", "/v1/meetings", { key: keys.member, headers, body }))
      assert.notStrictEqual(fresh.id, first.id)
      assert.strictEqual(yield* countTitled("expiring"), 2)
    }))

  it.effect("a key longer than 255 characters -> 400 idempotency_key_too_long", () =>
    Effect.gen(function*() {
      const res = yield* send("POST", "/v1/meetings", {
        key: keys.member,
        headers: { "Idempotency-Key": "k".repeat(256) },
        body: createBody()
      })
      assert.strictEqual(res.status, 400)
      const error = yield* errorOf(res)
      assert.deepStrictEqual(
        { code: error.code, param: error.param },
        { code: "idempotency_key_too_long", param: "Idempotency-Key" }
      )
      const ok = yield* send("POST", "/v1/meetings", {
        key: keys.member,
        headers: { "Idempotency-Key": "k".repeat(255) },
        body: createBody()
      })
      assert.strictEqual(ok.status, 200)
    }))
})
