/**
 * The sandbox's own clock: real time plus an offset that `advanceClock` moves forward. It is
 * installed on every request fiber (`Effect.withClock`), so a test's `TestClock` never freezes the
 * server, while idempotency expiry and the "dates in the past" rule can still be moved on demand.
 */
import { Clock, Duration, Effect } from "effect"

export interface SandboxClock {
  readonly clock: Clock.Clock
  /** Current sandbox time (real time + offset), epoch millis. */
  readonly now: () => number
  readonly advance: (by: Duration.DurationInput) => void
}

export const make = (): SandboxClock => {
  const live = Clock.make()
  let offsetMillis = 0
  const now = () => live.unsafeCurrentTimeMillis() + offsetMillis
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: now,
    currentTimeMillis: Effect.sync(now),
    unsafeCurrentTimeNanos: () => live.unsafeCurrentTimeNanos() + BigInt(offsetMillis) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => live.unsafeCurrentTimeNanos() + BigInt(offsetMillis) * 1_000_000n),
    // Sleeping is always real: the offset only shifts what "now" reads.
    sleep: (duration) => live.sleep(duration)
  }
  return {
    clock,
    now,
    advance: (by) => {
      offsetMillis += Math.max(0, Math.round(Duration.toMillis(by)))
    }
  }
}
