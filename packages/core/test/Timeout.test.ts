/**
 * The per-attempt timeout (internal): `Effect.timeoutFail`'s semantics on the live clock (one fork
 * and a timer) and on the TestClock (`Effect.timeoutFail` itself).
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Duration, Effect, Exit, Fiber, Option, Ref, TestClock } from "effect"
import * as Timeout from "../src/internal/timeout.js"

class TimedOut {
  readonly _tag = "TimedOut"
}

const within = (millis: number) => <A, E>(self: Effect.Effect<A, E>) =>
  Timeout.timeoutFail(self, Duration.millis(millis), () => new TimedOut())

describe("timeoutFail", () => {
  it.live("passes a success and a typed failure through", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* Effect.succeed(1).pipe(Effect.delay("5 millis"), within(1000)), 1)
      const error = yield* Effect.flip(Effect.fail("boom" as const).pipe(Effect.delay("5 millis"), within(1000)))
      assert.strictEqual(error, "boom")
    }))

  it.live("fails with the typed error after the duration, the attempt interrupted and finalized first", () =>
    Effect.gen(function*() {
      const finalized = yield* Ref.make(false)
      const started = Date.now()
      const error = yield* Effect.flip(
        Effect.never.pipe(Effect.onInterrupt(() => Effect.delay(Ref.set(finalized, true), "20 millis")), within(50))
      )
      assert.instanceOf(error, TimedOut)
      assert.isAtLeast(Date.now() - started, 45)
      // The attempt's finalizer had finished before the error was raised (as with Effect.timeoutFail).
      assert.isTrue(yield* Ref.get(finalized))
    }))

  it.live("interrupting the caller interrupts the attempt and waits for it, before the caller's own finalizers", () =>
    Effect.gen(function*() {
      const running = yield* Deferred.make<void>()
      const order: Array<string> = []
      const caller = yield* Effect.fork(
        Deferred.succeed(running, undefined).pipe(
          Effect.zipRight(Effect.never),
          Effect.onInterrupt(() => Effect.delay(Effect.sync(() => order.push("attempt")), "20 millis")),
          within(60_000),
          Effect.onInterrupt(() => Effect.sync(() => order.push("caller")))
        )
      )
      yield* Deferred.await(running)
      const exit = yield* Fiber.interrupt(caller)
      assert.isTrue(Exit.isInterrupted(exit))
      assert.deepStrictEqual(order, ["attempt", "caller"])
    }))

  it.effect("follows the TestClock", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.never.pipe(within(1000)))
      yield* TestClock.adjust("999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit) && Cause.failureOption(exit.cause).pipe(Option.exists((e) => e instanceof TimedOut)))
    }))
})
