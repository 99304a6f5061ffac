/**
 * Client-side token bucket for one rate-limit category, kept as a GCRA "theoretical arrival time"
 * in a Ref: each caller reserves the next free slot atomically and sleeps until it. Unlike
 * `effect/RateLimiter` it needs no background fiber (so no Scope), runs on the fiber's `Clock`
 * (so it works under TestClock) and can be paused until the server's `X-RateLimit-Reset`.
 *
 * A pause or a lower rate learnt while callers sleep starts a new *generation*: the reservations
 * made before it are forgotten, and each sleeper, when it wakes, reserves again under the new
 * terms (so nobody leaves during a pause, and the waiters are spaced at the new rate after it).
 */
import { Clock, Duration, Effect, Metric, Ref } from "effect"
import * as MeetingsMetrics from "../MeetingsMetrics.js"

export interface Limiter {
  /** Wait for a slot. */
  readonly take: Effect.Effect<void>
  /** No request of this category starts before `epochMillis`. */
  readonly pauseUntil: (epochMillis: number) => Effect.Effect<void>
  /**
   * The server's `X-RateLimit-Limit` (spec §9: the source of truth at runtime). A value below the
   * current rate lowers it (and the burst with it); a higher one is ignored (the configured rate
   * is a ceiling). No effect when the limiter is off (`rate: false`).
   */
  readonly observeLimit: (perSecond: number) => Effect.Effect<void>
  /** The current rate (requests per second), `false` when off. */
  readonly rate: Effect.Effect<number | false>
}

interface State {
  /** Theoretical arrival time of the next request at the steady rate. */
  readonly tat: number
  readonly pausedUntil: number
  readonly rate: number | false
  readonly burst: number
  /** Bumped by every pause and rate change: older reservations are void. */
  readonly generation: number
}

const intervalOf = (s: State) => (s.rate === false ? 0 : 1000 / s.rate)
const toleranceOf = (s: State) => (Math.max(1, s.burst) - 1) * intervalOf(s)

/**
 * `rate` requests per second with a burst of `burst`. A burst well below the server's capacity
 * (25) leaves room for network jitter bunching requests up on arrival, so the server's bucket
 * never runs dry while the client keeps to the same long-run rate.
 */
export const make = (category: string, options: { readonly rate: number | false; readonly burst: number }) =>
  Effect.map(
    Ref.make<State>({ tat: 0, pausedUntil: 0, rate: options.rate, burst: options.burst, generation: 0 }),
    (state): Limiter => {
      const waited = MeetingsMetrics.limiterWait.pipe(Metric.tagged("category", category))

      /** Reserve the next slot: its time and the generation it belongs to. */
      const reserve = (now: number) =>
        Ref.modify(state, (s): [readonly [number, number], State] => {
          const start = Math.max(now, s.pausedUntil)
          const allowedAt = Math.max(start, s.tat - toleranceOf(s))
          return [[allowedAt, s.generation], { ...s, tat: Math.max(s.tat, allowedAt) + intervalOf(s) }]
        })

      /** Reserve, sleep, and reserve again if a pause or a new rate came meanwhile. */
      const wait: Effect.Effect<void> = Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const [allowedAt, generation] = yield* reserve(now)
        if (allowedAt > now) yield* Effect.sleep(Duration.millis(allowedAt - now))
        const current = yield* Ref.get(state)
        if (current.generation !== generation) return yield* wait
      })

      const take = Effect.gen(function*() {
        const started = yield* Clock.currentTimeMillis
        yield* wait
        yield* Metric.update(waited, (yield* Clock.currentTimeMillis) - started)
      })

      const pauseUntil = (epochMillis: number) =>
        Ref.update(state, (s) =>
          epochMillis > s.pausedUntil
            ? { ...s, pausedUntil: epochMillis, tat: epochMillis, generation: s.generation + 1 }
            : s)

      const observeLimit = (perSecond: number) =>
        Ref.update(state, (s) => {
          if (s.rate === false || !(perSecond > 0) || perSecond >= s.rate) return s
          const burst = Math.min(s.burst, Math.max(1, Math.floor(perSecond / 2)))
          // Forget the reservations made at the faster rate: the sleepers reserve again.
          return { ...s, rate: perSecond, burst, tat: s.pausedUntil, generation: s.generation + 1 }
        })

      return { take, pauseUntil, observeLimit, rate: Effect.map(Ref.get(state), (s) => s.rate) }
    }
  )
