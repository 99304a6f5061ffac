/**
 * Client-side token bucket for one rate-limit category, kept as a GCRA "theoretical arrival time"
 * in a Ref: each caller reserves the next free slot atomically and sleeps until it. Unlike
 * `effect/RateLimiter` it needs no background fiber (so no Scope), runs on the fiber's `Clock`
 * (so it works under TestClock) and can be paused until the server's `X-RateLimit-Reset`.
 */
import { Clock, Duration, Effect, Metric, Ref } from "effect"
import * as MeetingsMetrics from "../MeetingsMetrics.js"

export interface Limiter {
  /** Wait for a slot. */
  readonly take: Effect.Effect<void>
  /** No request of this category starts before `epochMillis`. */
  readonly pauseUntil: (epochMillis: number) => Effect.Effect<void>
}

interface State {
  /** Theoretical arrival time of the next request at the steady rate. */
  readonly tat: number
  readonly pausedUntil: number
}

/**
 * `rate` requests per second with a burst of `burst`. A burst well below the server's capacity
 * (25) leaves room for network jitter bunching requests up on arrival, so the server's bucket
 * never runs dry while the client keeps to the same long-run rate.
 */
export const make = (category: string, options: { readonly rate: number | false; readonly burst: number }) =>
  Effect.map(Ref.make<State>({ tat: 0, pausedUntil: 0 }), (state): Limiter => {
    const interval = options.rate === false ? 0 : 1000 / options.rate
    const tolerance = (Math.max(1, options.burst) - 1) * interval
    const waited = MeetingsMetrics.limiterWait.pipe(Metric.tagged("category", category))
    const take = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Ref.modify(state, (s): [number, State] => {
        const start = Math.max(now, s.pausedUntil)
        const allowedAt = Math.max(start, s.tat - tolerance)
        return [allowedAt - now, { ...s, tat: Math.max(s.tat, allowedAt) + interval }]
      })
    ).pipe(
      Effect.tap((wait) => Metric.update(waited, wait)),
      Effect.flatMap((wait) => (wait > 0 ? Effect.sleep(Duration.millis(wait)) : Effect.void))
    )
    const pauseUntil = (epochMillis: number) =>
      Ref.update(state, (s) => (epochMillis > s.pausedUntil ? { ...s, pausedUntil: epochMillis } : s))
    return { take, pauseUntil }
  })
