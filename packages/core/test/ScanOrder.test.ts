/**
 * The scan's planned pages (internal `scan`): fetched by `concurrency` workers, emitted in offset
 * order whatever order they complete in, never more than `concurrency` pages ahead of the consumer,
 * a failure surfacing at its page's turn, and the fetches still running interrupted when the stream
 * ends early. Timing-dependent orders are forced with a fake page source (the sandbox answers in
 * order), so the assertions do not depend on the machine's speed.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Either, Stream } from "effect"
import { scan } from "../src/internal/scan.js"
import { MeetingsUnavailable } from "../src/MeetingsError.js"

const total = 40
const pageSize = 5

interface Probe {
  started: Array<number>
  inFlight: number
  maxInFlight: number
  interrupted: number
}

/** A listing of `total` ids; later pages answer sooner (so completions come out of order). */
const source = (probe: Probe, failAt?: number) => (params: { readonly offset?: number | undefined }) => {
  const offset = params.offset ?? 0
  return Effect.suspend(() => {
    probe.started.push(offset)
    probe.inFlight++
    probe.maxInFlight = Math.max(probe.maxInFlight, probe.inFlight)
    const page = {
      data: Array.from({ length: Math.min(pageSize, total - offset) }, (_, i) => ({ id: `m${offset + i}` })),
      totalCount: total
    }
    const answer = offset === failAt
      ? Effect.fail(new MeetingsUnavailable({ reason: "Transport", message: "down" }))
      : Effect.succeed(page)
    return answer.pipe(
      Effect.delay(`${Math.max(1, 40 - offset)} millis`),
      Effect.onInterrupt(() => Effect.sync(() => probe.interrupted++)),
      Effect.ensuring(Effect.sync(() => probe.inFlight--))
    )
  })
}

const probe = (): Probe => ({ started: [], inFlight: 0, maxInFlight: 0, interrupted: 0 })

describe("scan: planned pages", () => {
  it.live("are emitted in offset order, at most `concurrency` in flight and ahead of the consumer", () =>
    Effect.gen(function*() {
      const p = probe()
      let emittedPages = 0
      let maxAhead = 0
      const ids = yield* scan(source(p), { pageSize, concurrency: 3 }).pipe(
        Stream.mapChunks((chunk) => {
          emittedPages++
          // Pages started beyond the first (fetched alone) minus pages the consumer has taken.
          maxAhead = Math.max(maxAhead, p.started.length - emittedPages)
          return chunk
        }),
        Stream.map((m) => m.id),
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray)
      )
      assert.deepStrictEqual(ids, Array.from({ length: total }, (_, i) => `m${i}`))
      assert.isAtMost(p.maxInFlight, 3)
      assert.isAtLeast(p.maxInFlight, 2)
      assert.isAtMost(maxAhead, 3)
      assert.strictEqual(p.started.length, total / pageSize)
    }))

  it.live("a failed page fails the stream at its turn, after the pages before it; no page far beyond it is started", () =>
    Effect.gen(function*() {
      const p = probe()
      const seen: Array<string> = []
      const result = yield* scan(source(p, 15), { pageSize, concurrency: 2 }).pipe(
        Stream.runForEach((m) => Effect.sync(() => seen.push(m.id))),
        Effect.either
      )
      assert.isTrue(Either.isLeft(result))
      assert.deepStrictEqual(seen, Array.from({ length: 15 }, (_, i) => `m${i}`))
      // The workers stop taking pages once a failure is in: at most `concurrency` pages past it.
      assert.isAtMost(Math.max(...p.started), 15 + 2 * pageSize)
    }))

  it.live("ending the stream early interrupts the fetches still running", () =>
    Effect.gen(function*() {
      const p = probe()
      const ids = yield* scan(source(p), { pageSize, concurrency: 4 }).pipe(
        Stream.take(7),
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray)
      )
      assert.strictEqual(ids.length, 7)
      assert.strictEqual(p.inFlight, 0)
      assert.isAtLeast(p.interrupted, 1)
    }))
})
