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
  /** Pages the consumer has taken (set by the test's stream). */
  emitted: number
  /** The most pages started but not yet taken, seen as each page starts. */
  maxAhead: number
  inFlight: number
  maxInFlight: number
  interrupted: number
}

/**
 * A listing of `total` ids; later pages answer sooner (so completions come out of order), the page
 * at `failAt` fails, pages from `silentFrom` on never answer.
 */
const source = (probe: Probe, failAt?: number, silentFrom = Number.POSITIVE_INFINITY) => (params: { readonly offset?: number | undefined }) => {
  const offset = params.offset ?? 0
  return Effect.suspend(() => {
    probe.started.push(offset)
    probe.maxAhead = Math.max(probe.maxAhead, probe.started.length - probe.emitted)
    probe.inFlight++
    probe.maxInFlight = Math.max(probe.maxInFlight, probe.inFlight)
    const page = {
      data: Array.from({ length: Math.min(pageSize, total - offset) }, (_, i) => ({ id: `m${offset + i}` })),
      totalCount: total
    }
    const answer = offset === failAt
      ? Effect.fail(new MeetingsUnavailable({ reason: "Transport", message: "down" }))
      : Effect.succeed(page)
    return (offset >= silentFrom ? Effect.never : answer).pipe(
      Effect.delay(`${Math.max(1, 40 - offset)} millis`),
      Effect.onInterrupt(() => Effect.sync(() => probe.interrupted++)),
      Effect.ensuring(Effect.sync(() => probe.inFlight--))
    )
  })
}

const probe = (): Probe => ({ started: [], emitted: 0, maxAhead: 0, inFlight: 0, maxInFlight: 0, interrupted: 0 })

describe("scan: planned pages", () => {
  it.live("are emitted in offset order, at most `concurrency` in flight and ahead of the consumer", () =>
    Effect.gen(function*() {
      const p = probe()
      const ids = yield* scan(source(p), { pageSize, concurrency: 3 }).pipe(
        // Each page is one chunk of the stream.
        Stream.mapChunks((chunk) => {
          p.emitted++
          return chunk
        }),
        Stream.map((m) => m.id),
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray)
      )
      assert.deepStrictEqual(ids, Array.from({ length: total }, (_, i) => `m${i}`))
      assert.strictEqual(p.maxInFlight, 3)
      // Later pages answer first, so the workers run ahead until the bound stops them.
      assert.strictEqual(p.maxAhead, 3)
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
      // Never more than `concurrency` pages past the failed one (the bound; whether a worker was
      // about to take one more when the failure came in depends on timing).
      assert.isAtMost(Math.max(...p.started), 15 + 2 * pageSize)
    }))

  it.live("[regression] no hand-over is lost when a fiber yields between its check and its wait", () =>
    Effect.gen(function*() {
      // Pages that answer after a yield, and yield budgets small enough that the run loop yields
      // between a check (is the result there? is a slot free?) and the wait it registers.
      const pages = 150
      const yielding = (params: { readonly offset?: number | undefined }) =>
        Effect.as(Effect.yieldNow(), { data: [{ id: `m${params.offset ?? 0}` }], totalCount: pages })
      for (const concurrency of [1, 2, 3]) {
        for (let ops = 10; ops <= 40; ops++) {
          const count = yield* scan(yielding, { pageSize: 1, concurrency }).pipe(
            Stream.runCount,
            Effect.withMaxOpsBeforeYield(ops),
            Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => `stuck: concurrency ${concurrency}, max ops ${ops}` })
          )
          assert.strictEqual(count, pages)
        }
      }
    }), 120_000)

  it.live("ending the stream early interrupts the fetches still running", () =>
    Effect.gen(function*() {
      const p = probe()
      // The pages after the first two never answer: the stream ends only if they are interrupted.
      const ids = yield* scan(source(p, undefined, 10), { pageSize, concurrency: 4 }).pipe(
        Stream.take(7),
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray)
      )
      assert.strictEqual(ids.length, 7)
      assert.strictEqual(p.inFlight, 0)
      assert.isAtLeast(p.interrupted, 1)
    }))
})
