/**
 * Issue 10 against the real sandbox on loopback (its `Respond` fault answers any status, body and headers).
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { MeetingCodec } from "../src/index.js"
import { clientFor, reset, sandboxLayer } from "./helpers.js"

const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth)

describe("issue 10 #5: hostile bodies", () => {
  layer(sandboxLayer({ rateLimit: false }), { excludeTestServices: true })("against the sandbox", (it) => {
    it.effect("[regression] #5 10,000 nested arrays: UndecodableResponse with a bounded message, never a RangeError", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const meetings = yield* clientFor("admin")
        for (const depth of [10_000, 2_000]) {
          yield* sandbox.inject({ fault: { _tag: "Respond", status: 200, body: nested(depth) }, match: "GET /v1/meetings/*", times: 1 })
          const exit = yield* Effect.exit(meetings.retrieve("mtg_deep"))
          assert.isTrue(Exit.isFailure(exit))
          const error = yield* Effect.flip(exit)
          assert.strictEqual(error._tag, "UndecodableResponse")
          assert.isBelow(error.message.length, 600, error.message.slice(0, 100))
          yield* sandbox.inject({ fault: { _tag: "Respond", status: 200, body: nested(depth) }, match: "GET /v1/meetings", times: 1 })
          const page = yield* Effect.flip(meetings.list())
          assert.strictEqual(page._tag, "UndecodableResponse")
          assert.isBelow(page.message.length, 600)
        }
        // Deep nesting inside a meeting (an unknown valueType's value) is no different.
        const [one] = yield* sandbox.meetings
        const deepField = JSON.stringify({
          ...MeetingCodec.encodeMeeting(one!),
          fields: { ...MeetingCodec.encodeMeeting(one!).fields, x: { value: "@@", valueType: "HTML" } }
        }).replace("\"@@\"", nested(10_000))
        yield* sandbox.inject({ fault: { _tag: "Respond", status: 200, body: deepField }, match: "GET /v1/meetings/*", times: 1 })
        // Refused when decoded (a decoded Meeting never holds what `JSON.stringify` cannot write back).
        const deep = yield* Effect.flip(meetings.retrieve(one!.id))
        assert.strictEqual(deep._tag, "UndecodableResponse")
        if (deep._tag === "UndecodableResponse") assert.strictEqual(deep.path, "fields.x.value")
        assert.isBelow(deep.message.length, 600)
      }))

    it.effect("an undecodable large body is quoted by a bounded excerpt", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const meetings = yield* clientFor("admin")
        const body = JSON.stringify({ data: Array.from({ length: 5000 }, (_, i) => ({ id: `x${i}`, pad: "p".repeat(50) })), object: "list", totalCount: 1 })
        yield* sandbox.inject({ fault: { _tag: "Respond", status: 200, body }, match: "GET /v1/meetings", times: 1 })
        const error = yield* Effect.flip(meetings.list())
        assert.strictEqual(error._tag, "UndecodableResponse")
        assert.isBelow(error.message.length, 600)
        if (error._tag === "UndecodableResponse") assert.strictEqual(error.path, "data.0.accessLevel")
      }))

    it.effect("[regression] #5 a body over the size cap is a typed error", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const meetings = yield* clientFor("admin", { maxResponseBytes: 100_000 })
        const body = JSON.stringify({ data: [], object: "list", totalCount: 0, pad: "p".repeat(300_000) })
        yield* sandbox.inject({ fault: { _tag: "Respond", status: 200, body }, match: "GET /v1/meetings", times: 1 })
        const error = yield* Effect.flip(meetings.list())
        assert.strictEqual(error._tag, "UndecodableResponse")
        assert.include(error.message, "100000 bytes")
        // Under the cap the same client reads answers as usual.
        assert.strictEqual((yield* meetings.list({ limit: 2 })).data.length, 2)
      }))


    it.effect("[regression] #5 a chunked body (no Content-Length) is counted as it streams: over the cap a typed error, under it read whole", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const meetings = yield* clientFor("admin", { maxResponseBytes: 1_000_000 })
        yield* sandbox.inject({ fault: { _tag: "HugeBody", bytes: 20_000_000 }, match: "GET /v1/meetings", times: 1 })
        const error = yield* Effect.flip(meetings.list({ limit: 3 }))
        assert.strictEqual(error._tag, "UndecodableResponse")
        assert.include(error.message, "1000000 bytes")
        // A chunked answer under the cap is read through the same counted path and decodes.
        yield* sandbox.inject({ fault: { _tag: "HugeBody", bytes: 300_000 }, match: "GET /v1/meetings", times: 1 })
        const page = yield* meetings.list({ limit: 3 })
        assert.strictEqual(page.data.length, 3)
        assert.isAtLeast(JSON.stringify(page.data[0]!.fields).length, 250_000)
        // A declared length over the cap is refused before the body is read.
        yield* sandbox.inject({
          fault: { _tag: "HugeBody", bytes: 5_000_000, declareLength: true },
          match: "GET /v1/meetings",
          times: 1
        })
        const declared = yield* Effect.flip(meetings.list({ limit: 3 }))
        assert.strictEqual(declared._tag, "UndecodableResponse")
        assert.include(declared.message, "5000000 bytes")
        // The connection pool is still usable after the refused bodies.
        assert.strictEqual((yield* meetings.list({ limit: 2 })).data.length, 2)
      }))
  })
})
