/**
 * The stream's gap filling, against an in-memory list endpoint that answers the pages of one
 * concurrent pair in the *reverse* order while meetings are inserted in between: the case where
 * plain offset paging skips items. The sandbox answers requests in arrival order, so it cannot
 * force this interleaving; everything else is tested against the sandbox.
 */
import { HttpClient, HttpClientRequest, HttpClientResponse, UrlParams } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Option, Redacted, Ref, Stream } from "effect"
import { Meetings, MeetingsClient } from "../src/index.js"
import * as fixtures from "./fixtures.js"

const meeting = (id: string) => ({ ...fixtures.redactedMeeting, id })

/** The `limit` and `offset` a list request asked for (the API's defaults when absent). */
const pageOf = (request: HttpClientRequest.HttpClientRequest) => {
  const param = (name: string, fallback: number) =>
    Option.match(UrlParams.getFirst(request.urlParams, name), { onNone: () => fallback, onSome: Number })
  return { limit: param("limit", 25), offset: param("offset", 0) }
}

/** Newest first; `insert` puts new ids at the front (as new meetings sort first). */
const makeServer = (initial: number) =>
  Effect.gen(function*() {
    const ids = yield* Ref.make(Array.from({ length: initial }, (_, i) => `mtg_${String(initial - i).padStart(5, "0")}`))
    const inserted = yield* Ref.make(0)
    const insert = (count: number) =>
      Effect.flatMap(Ref.getAndUpdate(inserted, (n) => n + count), (n) =>
        Ref.update(ids, (all) => [...Array.from({ length: count }, (_, i) => `mtg_new${n + count - i}`), ...all]))
    const requests = yield* Ref.make(0)
    const client = HttpClient.make((request) =>
      Effect.gen(function*() {
        const { limit, offset } = pageOf(request)
        const n = yield* Ref.updateAndGet(requests, (n) => n + 1)
        // Odd pages (after the first) are read late; their even successor is read at once and then 7
        // meetings are inserted, so the odd page's tail has moved into the page already read.
        const page = offset / limit
        const late = page % 2 === 1
        if (late) yield* Effect.sleep("30 millis")
        const all = yield* Ref.get(ids)
        const body = { data: all.slice(offset, offset + limit).map(meeting), object: "list", totalCount: all.length }
        if (!late && n > 1) yield* insert(7)
        return HttpClientResponse.fromWeb(request, new Response(JSON.stringify(body), { status: 200 }))
      })
    )
    return { client, insert, ids, requests }
  })

describe("Meetings.stream (offset drift)", () => {
  it.live("yields every initial id exactly once when pages of a pair are answered out of order", () =>
    Effect.gen(function*() {
      const server = yield* makeServer(300)
      const initial = yield* Ref.get(server.ids)
      const meetings = yield* MeetingsClient.make({ apiKey: Redacted.make("sk_lf_test"), rate: false }).pipe(
        Effect.provide(Layer.succeed(HttpClient.HttpClient, server.client))
      )
      const progress = yield* Ref.make<ReadonlyArray<Meetings.StreamProgress>>([])
      const seen = yield* meetings.stream({
        concurrency: 2,
        onProgress: (p) => Ref.update(progress, (ps) => [...ps, p])
      }).pipe(Stream.map((m) => m.id), Stream.runCollect, Effect.map(Chunk.toReadonlyArray))
      assert.strictEqual(new Set(seen).size, seen.length, "no id twice")
      const seenIds = new Set<string>(seen)
      const missing = initial.filter((id) => !seenIds.has(id))
      assert.deepStrictEqual(missing, [])
      const events = yield* Ref.get(progress)
      const last = events.at(-1)
      assert.strictEqual(last?.items, seen.length)
      assert.strictEqual(last?.pages, yield* Ref.get(server.requests))
      // Every gap was filled: the closing event says the scan is complete; page events never do.
      assert.strictEqual(last?.complete, true)
      assert.isTrue(events.slice(0, -1).every((p) => !p.complete))
      assert.strictEqual(events.length, (yield* Ref.get(server.requests)) + 1)
    }))

  it.live("gives up filling gaps when inserts outrun the scan, and the closing event says complete: false", () =>
    Effect.gen(function*() {
      // After every answer a whole page of meetings is inserted at the front: each page read shows
      // the part of the initial listing already covered, so the gaps never close.
      const ids = yield* Ref.make(Array.from({ length: 50 }, (_, i) => `mtg_${String(50 - i).padStart(5, "0")}`))
      const requests = yield* Ref.make(0)
      const client = HttpClient.make((request) =>
        Effect.gen(function*() {
          const { limit, offset } = pageOf(request)
          const n = yield* Ref.updateAndGet(requests, (n) => n + 1)
          const all = yield* Ref.get(ids)
          const body = { data: all.slice(offset, offset + limit).map(meeting), object: "list", totalCount: all.length }
          yield* Ref.update(ids, (all) => [...Array.from({ length: limit }, (_, i) => `mtg_flood${n}_${i}`), ...all])
          return HttpClientResponse.fromWeb(request, new Response(JSON.stringify(body), { status: 200 }))
        })
      )
      const meetings = yield* MeetingsClient.make({ apiKey: Redacted.make("sk_lf_test"), rate: false }).pipe(
        Effect.provide(Layer.succeed(HttpClient.HttpClient, client))
      )
      const progress = yield* Ref.make<ReadonlyArray<Meetings.StreamProgress>>([])
      const count = yield* Stream.runCount(meetings.stream({
        pageSize: 10,
        concurrency: 1,
        onProgress: (p) => Ref.update(progress, (ps) => [...ps, p])
      }))
      const events = yield* Ref.get(progress)
      const last = events.at(-1)
      assert.strictEqual(last?.complete, false)
      assert.strictEqual(last?.items, count)
      assert.isTrue(events.every((p) => !p.complete))
      // The first page, the 4 planned ones, then the bounded gap fetches (5 + 10 extra pages).
      assert.strictEqual(yield* Ref.get(requests), 1 + 4 + 15)
      assert.strictEqual(last?.pages, yield* Ref.get(requests))
    }))

  it.live("each run of the same stream starts from an empty set of seen ids", () =>
    Effect.gen(function*() {
      const server = yield* makeServer(60)
      const meetings = yield* MeetingsClient.make({ apiKey: Redacted.make("sk_lf_test"), rate: false }).pipe(
        Effect.provide(Layer.succeed(HttpClient.HttpClient, server.client))
      )
      // The seen ids live in each run: a second run yields the listing again instead of filtering it out.
      const stream = meetings.stream({ concurrency: 1 })
      const first = yield* Stream.runCount(stream)
      const second = yield* Stream.runCount(stream)
      assert.isAtLeast(first, 60)
      assert.isAtLeast(second, 60)
    }))
})
