/**
 * Clocks for scenarios about time passing (idempotency-key expiry): shared by tests and children,
 * so it imports nothing from vitest.
 */
import { Clock, Effect } from "effect"

/** The default clock moved `offsetMillis` into the future (sleeps are unchanged). */
export const offsetClock = (offsetMillis: number): Clock.Clock => {
  const base = Clock.make()
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => base.unsafeCurrentTimeMillis() + offsetMillis,
    currentTimeMillis: Effect.sync(() => base.unsafeCurrentTimeMillis() + offsetMillis),
    unsafeCurrentTimeNanos: () => base.unsafeCurrentTimeNanos() + BigInt(offsetMillis) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => base.unsafeCurrentTimeNanos() + BigInt(offsetMillis) * 1_000_000n),
    sleep: (duration) => base.sleep(duration)
  }
}
