/**
 * The client-side limiter (internal), on the TestClock: a pause learnt while callers sleep holds
 * them too, and a lower server limit lowers the rate.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, TestClock } from "effect"
import * as Limiter from "../src/internal/limiter.js"

/** Fork `count` takers in order; each records the (test clock) time it was let through. */
const takers = (limiter: Limiter.Limiter, count: number) =>
  Effect.gen(function*() {
    const done: Array<readonly [number, number]> = []
    const fibers = yield* Effect.forEach(
      Array.from({ length: count }, (_, i) => i),
      (i) =>
        Effect.fork(
          limiter.take.pipe(
            Effect.zipRight(Clock.currentTimeMillis),
            Effect.flatMap((at) => Effect.sync(() => done.push([i, at])))
          )
        )
    )
    // Let every taker reserve its slot.
    yield* Effect.yieldNow()
    return { done, fibers }
  })

describe("internal/limiter", () => {
  it.effect("a pause set while callers sleep holds them until it ends, then spaces them at the rate", () =>
    Effect.gen(function*() {
      const limiter = yield* Limiter.make("Read", { rate: 10, burst: 1 })
      const { done, fibers } = yield* takers(limiter, 3)
      // Slots at 0, 100 and 200 ms; the first leaves at once.
      yield* TestClock.adjust("50 millis")
      assert.deepStrictEqual(done, [[0, 0]])
      // A 429 / `X-RateLimit-Remaining: 0` pauses the category until 1 s.
      yield* limiter.pauseUntil(1000)
      yield* TestClock.adjust("900 millis")
      assert.deepStrictEqual(done, [[0, 0]], "nobody leaves during the pause")
      yield* TestClock.adjust("50 millis")
      assert.deepStrictEqual(done, [[0, 0], [1, 1000]])
      yield* TestClock.adjust("100 millis")
      assert.deepStrictEqual(done, [[0, 0], [1, 1000], [2, 1100]])
      yield* Fiber.joinAll(fibers)
    }))

  it.effect("a pause set before the callers came still applies (unchanged behaviour)", () =>
    Effect.gen(function*() {
      const limiter = yield* Limiter.make("Read", { rate: 10, burst: 1 })
      yield* limiter.pauseUntil(500)
      const { done, fibers } = yield* takers(limiter, 2)
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(done, [[0, 500], [1, 600]])
      yield* Fiber.joinAll(fibers)
    }))

  it.effect("an X-RateLimit-Limit below the configured rate lowers it (and the burst); a higher one is a ceiling", () =>
    Effect.gen(function*() {
      const limiter = yield* Limiter.make("Search", { rate: 25, burst: 12 })
      yield* limiter.observeLimit(50)
      assert.strictEqual(yield* limiter.rate, 25)
      yield* limiter.observeLimit(5)
      assert.strictEqual(yield* limiter.rate, 5)
      const { done, fibers } = yield* takers(limiter, 4)
      yield* TestClock.adjust("1 second")
      // 5/s with a burst of 2 (not 25/s with a burst of 12).
      assert.deepStrictEqual(done.map(([, at]) => at), [0, 0, 200, 400])
      yield* Fiber.joinAll(fibers)
    }))

  it.effect("a lower limit learnt while callers sleep re-spaces them", () =>
    Effect.gen(function*() {
      const limiter = yield* Limiter.make("Search", { rate: 20, burst: 1 })
      const { done, fibers } = yield* takers(limiter, 3)
      // Slots at 0, 50 and 100 ms; then the server says 4 per second.
      yield* limiter.observeLimit(4)
      yield* TestClock.adjust("1 second")
      // The sleepers wake at 50 and 100 and reserve again at 4/s (burst 1): 50 and 300.
      assert.deepStrictEqual(done.map(([, at]) => at), [0, 50, 300])
      yield* Fiber.joinAll(fibers)
    }))

  it.effect("rate: false stays off whatever the server says", () =>
    Effect.gen(function*() {
      const limiter = yield* Limiter.make("Write", { rate: false, burst: 1 })
      yield* limiter.observeLimit(1)
      assert.strictEqual(yield* limiter.rate, false)
      const { done, fibers } = yield* takers(limiter, 3)
      yield* TestClock.adjust("0 millis")
      assert.deepStrictEqual(done.map(([, at]) => at), [0, 0, 0])
      yield* Fiber.joinAll(fibers)
    }))

  it.effect("[regression] #4 a learnt limit lapses back to the configured rate unless answers keep confirming it", () =>
    Effect.gen(function*() {
      const limiter = yield* Limiter.make("Read", { rate: 25, burst: 12, learntRateTtl: "60 seconds" })
      yield* limiter.observeLimit(2)
      assert.strictEqual(yield* limiter.rate, 2)
      // Confirmed after 50 s: holds until 110 s.
      yield* TestClock.adjust("50 seconds")
      yield* limiter.observeLimit(2)
      yield* TestClock.adjust("59 seconds")
      assert.strictEqual(yield* limiter.rate, 2)
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(yield* limiter.rate, 25)
      // Callers are spaced at the configured rate again (burst 12), not at 2/s.
      const { done, fibers } = yield* takers(limiter, 4)
      yield* TestClock.adjust("0 millis")
      assert.deepStrictEqual(done.map(([, at]) => at), [111_000, 111_000, 111_000, 111_000])
      yield* Fiber.joinAll(fibers)
    }))

  it.effect("[regression] #4 an answer showing the configured limit again restores it at once", () =>
    Effect.gen(function*() {
      const limiter = yield* Limiter.make("Read", { rate: 25, burst: 12 })
      yield* limiter.observeLimit(1)
      // A slow slot is handed out at the learnt rate...
      const slow = yield* takers(limiter, 2)
      yield* limiter.observeLimit(25)
      assert.strictEqual(yield* limiter.rate, 25)
      // ...but new callers do not queue behind it.
      const { done, fibers } = yield* takers(limiter, 3)
      yield* TestClock.adjust("0 millis")
      assert.deepStrictEqual(done.map(([, at]) => at), [0, 0, 0])
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.joinAll([...fibers, ...slow.fibers])
    }))

  it.effect("with the default headroom, a long run with a burst (400 requests at 25/s, burst 6) stays between 0.97 and 1.0 of the rate", () =>
    Effect.gen(function*() {
      const rateOf = (at: ReadonlyArray<number>) => ((at.length - 1) * 1000) / (at[at.length - 1]! - at[0]!) / 25
      const run = (headroom: number) =>
        Effect.gen(function*() {
          const limiter = yield* Limiter.make("Search", { rate: 25, burst: 6, headroom })
          const { done, fibers } = yield* takers(limiter, 400)
          yield* TestClock.adjust("20 seconds")
          yield* Fiber.joinAll(fibers)
          return rateOf(done.map(([, at]) => at).sort((a, b) => a - b))
        })
      // Exact pacing: the burst takes the run over the rate (what the bench measured).
      assert.isAbove(yield* run(1), 1)
      const paced = yield* run(Limiter.defaultHeadroom)
      assert.isAtLeast(paced, 0.97)
      assert.isAtMost(paced, 1)
    }))
})
