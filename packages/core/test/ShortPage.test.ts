/**
 * Issue 10 against the real sandbox on loopback (its `Respond` fault answers any status, body and headers).
 */
import { assert, describe, layer } from "@effect/vitest"
import { Chunk, Effect, Ref, Stream } from "effect"
import type { Meetings } from "../src/index.js"
import { MeetingCodec } from "../src/index.js"
import { clientFor, reset, sandboxLayer } from "./helpers.js"

/** Stream every meeting with pages of 25: the ids in order and the last progress event. */
const scan = (meetings: Meetings.MeetingsShape) =>
  Effect.gen(function*() {
    const progress = yield* Ref.make<ReadonlyArray<Meetings.StreamProgress>>([])
    const ids = yield* meetings.stream({ pageSize: 25, onProgress: (p) => Ref.update(progress, (ps) => [...ps, p]) }).pipe(
      Stream.map((m) => m.id),
      Stream.runCollect,
      Effect.map(Chunk.toReadonlyArray)
    )
    return { ids, last: (yield* Ref.get(progress)).at(-1) }
  })

describe("issue 10 #2: a short page", () => {
  layer(sandboxLayer({ rateLimit: false, meetings: 60 }), { excludeTestServices: true })("against the sandbox", (it) => {
    it.effect("[regression] #2 a short page does not end the scan as complete", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const meetings = yield* clientFor("admin", { rate: false })
        const first = yield* meetings.list({ limit: 25, offset: 0 })
        assert.strictEqual(first.totalCount, 60)
        // The first page comes back with 10 of its 25 items, while totalCount still says 60.
        const short = JSON.stringify({ ...MeetingCodec.encodePage(first), data: first.data.slice(0, 10).map(MeetingCodec.encodeMeeting) })
        yield* sandbox.inject({ fault: { _tag: "Respond", status: 200, body: short }, match: "GET /v1/meetings", times: 1 })
        const { ids, last } = yield* scan(meetings)
        // The gap after the short page is requested again: every meeting is found, and only then complete.
        assert.strictEqual(new Set(ids).size, 60)
        assert.strictEqual(ids.length, 60)
        assert.isTrue(last?.complete)
      }))

    it.effect("[regression] #2 when the re-check finds nothing where totalCount says more exist, the scan is not complete", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const meetings = yield* clientFor("admin", { rate: false })
        const first = yield* meetings.list({ limit: 25, offset: 0 })
        const page = (data: ReadonlyArray<(typeof first.data)[number]>) =>
          JSON.stringify({ ...MeetingCodec.encodePage(first), data: data.map(MeetingCodec.encodeMeeting) })
        yield* sandbox.clearRequests
        // The first page answers 10 of 25; every later page answers none, still claiming 60.
        yield* sandbox.inject(
          { fault: { _tag: "Respond", status: 200, body: page(first.data.slice(0, 10)) }, match: "GET /v1/meetings", times: 1 },
          { fault: { _tag: "Respond", status: 200, body: page([]) }, match: "GET /v1/meetings" }
        )
        const { ids, last } = yield* scan(meetings)
        const count = ids.length
        assert.strictEqual(count, 10)
        assert.isFalse(last?.complete)
        // The first page, the two planned ones, and one re-check of the gap: no spinning.
        assert.strictEqual((yield* sandbox.requests).length, 4)
      }))


    it.effect("[regression] #2 with every page cut to 5 of 25 (ShortPage), the re-checks still find every meeting", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const meetings = yield* clientFor("admin", { rate: false })
        yield* sandbox.inject({ fault: { _tag: "ShortPage", keep: 5 }, match: "GET /v1/meetings" })
        const { ids, last } = yield* scan(meetings)
        assert.strictEqual(new Set(ids).size, 60)
        assert.strictEqual(ids.length, 60)
        assert.isTrue(last?.complete)
      }))

    it.effect("[regression] #2 with every page cut to 1 item, the bounded re-checks give up and the scan is not complete", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const meetings = yield* clientFor("admin", { rate: false })
        yield* sandbox.inject({ fault: { _tag: "ShortPage", keep: 1 }, match: "GET /v1/meetings" })
        const { ids, last } = yield* scan(meetings)
        const count = ids.length
        assert.isBelow(count, 60)
        assert.isFalse(last?.complete)
      }))
  })
})
