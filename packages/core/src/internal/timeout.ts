/**
 * The per-attempt timeout. `Effect.timeoutFail` races the effect against a sleeping fiber: it forks
 * two fibers, merges the winner's fiber refs back and interrupts the loser, on every attempt
 * (~55 µs of CPU here, about a tenth of a whole list call). On the live clock this does the same
 * job with one fork and one timer: the attempt runs in a child fiber (so it can be interrupted on
 * its own), the caller waits for its exit or the timer, whichever comes first, and on the success
 * path nothing else is scheduled. The semantics are `Effect.timeoutFail`'s: a timed-out attempt is
 * interrupted (and awaited) before the typed error is raised, and interrupting the caller
 * interrupts the attempt and waits for it. Under any other `Clock` (a `TestClock`, a custom one)
 * it is `Effect.timeoutFail` itself, so timeouts follow that clock.
 */
import type { Exit } from "effect"
import { Clock, Context, DefaultServices, Duration, Effect, Fiber } from "effect"

/** The clock every fiber has unless one is provided. */
const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)

/** Longer delays do not fit a JS timer; the live clock treats them as never (so does this). */
const maxTimerMillis = 2 ** 31 - 1

/** `self`, failing with `onTimeout()` if it has not completed within `duration`. */
export const timeoutFail = <A, E, E1, R>(
  self: Effect.Effect<A, E, R>,
  duration: Duration.Duration,
  onTimeout: () => E1
): Effect.Effect<A, E | E1, R> =>
  Effect.clockWith((clock) => {
    if (clock !== liveClock) return Effect.timeoutFail(self, { duration, onTimeout })
    const millis = Duration.toMillis(duration)
    if (!(millis <= maxTimerMillis)) return self
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Effect.fork(restore(self)), (attempt) =>
        restore(firstOf(attempt, millis, onTimeout)).pipe(
          // Set up while uninterruptible: whenever the caller is interrupted, the attempt is too.
          Effect.onInterrupt(() => Fiber.interrupt(attempt))
        ))
    )
  })

/** The attempt's exit, or (once `millis` passed) the attempt interrupted and `onTimeout()`. */
const firstOf = <A, E, E1>(
  attempt: Fiber.RuntimeFiber<A, E>,
  millis: number,
  onTimeout: () => E1
): Effect.Effect<A, E | E1> =>
  Effect.async<A, E | E1>((resume) => {
    let settled = false
    const onExit = (exit: Exit.Exit<A, E>) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resume(exit)
    }
    // The live clock's `sleep` is this same timer; using it directly saves a sleeping fiber.
    const timer = setTimeout(() => {
      if (settled) return
      settled = true
      attempt.removeObserver(onExit)
      resume(Effect.zipRight(Fiber.interrupt(attempt), Effect.failSync(onTimeout)))
    }, millis)
    attempt.addObserver(onExit)
    return Effect.sync(() => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      attempt.removeObserver(onExit)
    })
  })
