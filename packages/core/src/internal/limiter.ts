/**
 * Client-side token bucket for one rate-limit category, kept as a GCRA "theoretical arrival time"
 * in one cell per limiter: each caller reserves the next free slot atomically and sleeps until it. Unlike
 * `effect/RateLimiter` it needs no background fiber (so no Scope), runs on the fiber's `Clock`
 * (so it works under TestClock) and can be paused until the server's `X-RateLimit-Reset`.
 *
 * A pause or a lower rate learnt while callers sleep starts a new *generation*: the reservations
 * made before it are forgotten, and each sleeper, when it wakes, reserves again under the new
 * terms (so nobody leaves during a pause, and the waiters are spaced at the new rate after it).
 *
 * A learnt rate is not forever: it holds for `learntRateTtl` after the last answer that confirmed
 * it, and an answer with a higher limit raises it again (never above the configured rate). One
 * odd answer therefore slows a category for a while at most, while a server that really lowered
 * its limit keeps saying so on every answer.
 */
import { Clock, Context, DefaultServices, Duration, Effect, FiberRef, Metric } from "effect"
import * as MeetingsMetrics from "../MeetingsMetrics.js"

export interface Limiter {
  /** Wait for a slot. */
  readonly take: Effect.Effect<void>
  /** No request of this category starts before `epochMillis`. */
  readonly pauseUntil: (epochMillis: number) => Effect.Effect<void>
  /**
   * The server's `X-RateLimit-Limit` (spec §9: the source of truth at runtime), already checked to
   * be sane by the caller. Below the configured rate it becomes the rate (and lowers the burst) for
   * `learntRateTtl`; at or above it the configured rate applies again (the configured rate is a
   * ceiling). No effect when the limiter is off (`rate: false`).
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
  /** When a learnt (lower) rate lapses back to the configured one. */
  readonly learntUntil: number
  /** Bumped by every pause and rate change: older reservations are void. */
  readonly generation: number
}

/** How long a limit learnt from `X-RateLimit-Limit` holds without being confirmed again. */
export const defaultLearntRateTtl = Duration.seconds(60)

/**
 * The share of the rate the client paces at by default (`make`'s `headroom`). A GCRA lets a caller
 * that fell behind (a slow answer, a busy event loop) catch up with up to `burst − 1` requests at
 * once, as it lets an idle one burst: the server's bucket allows it, but a long run then goes
 * faster than the limit by that many requests (a sync of 800 pages at 25/s measured 1.008–1.014
 * of the limit with a burst of 12). Pacing 2 % under the limit keeps the long-run rate at
 * 0.98–1.0 of it while keeping the burst for short runs.
 */
export const defaultHeadroom = 0.98

/**
 * `rate` requests per second (paced at `rate × headroom`, default 1: exactly) with a burst of
 * `burst`. A burst well below the server's capacity (25) leaves room for network jitter bunching
 * requests up on arrival, so the server's bucket never runs dry.
 */
export const make = (
  category: string,
  options: {
    readonly rate: number | false
    readonly burst: number
    readonly learntRateTtl?: Duration.DurationInput
    /** The share of the rate actually paced, in (0, 1]; default 1. */
    readonly headroom?: number
  }
): Effect.Effect<Limiter> =>
  Effect.sync((): Limiter => {
    // One cell per limiter, read and replaced only inside effects (fibers never run at once), so
    // a slot free at once is taken without a `Ref` round trip.
    let state: State = { tat: 0, pausedUntil: 0, rate: options.rate, burst: options.burst, learntUntil: 0, generation: 0 }
    const waited = MeetingsMetrics.limiterWait.pipe(Metric.tagged("category", category))
    const ttl = Duration.toMillis(options.learntRateTtl ?? defaultLearntRateTtl)
    const configured = { rate: options.rate, burst: options.burst }
    const headroom = options.headroom ?? 1
    const intervalOf = (s: State) => (s.rate === false ? 0 : 1000 / (s.rate * headroom))
    const toleranceOf = (s: State) => (Math.max(1, s.burst) - 1) * intervalOf(s)

    /**
     * Back to the configured rate. Slots reserved at the slower rate are not waited for by new
     * callers (their holders keep them); new slots start now, or when a pause ends.
     */
    const restore = (s: State, now: number): State => ({
      ...s,
      ...configured,
      tat: Math.min(s.tat, Math.max(now, s.pausedUntil))
    })

    /** The state at `now`: a learnt rate that lapsed is back to the configured one. */
    const current = (s: State, now: number): State =>
      s.rate !== configured.rate && now >= s.learntUntil ? restore(s, now) : s

    /** Reserve the next slot at `now`: when it is and the generation it belongs to. */
    const reserve = (now: number): readonly [number, number] => {
      const s = current(state, now)
      const start = Math.max(now, s.pausedUntil)
      const allowedAt = Math.max(start, s.tat - toleranceOf(s))
      const tat = Math.max(s.tat, allowedAt) + intervalOf(s)
      // With `rate: false` and no pause nothing changes: the state is kept as it is.
      if (s !== state || tat !== s.tat) state = { ...s, tat }
      return [allowedAt, s.generation]
    }

    /** Sleep until the reserved slot, and reserve again if a pause or a new rate came meanwhile. */
    const settle = (now: number, allowedAt: number, generation: number): Effect.Effect<void> =>
      Effect.zipRight(
        allowedAt > now ? Effect.sleep(Duration.millis(allowedAt - now)) : Effect.void,
        Effect.suspend(() => (state.generation !== generation ? wait : Effect.void))
      )

    /** Reserve a slot and wait for it. */
    const wait: Effect.Effect<void> = Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const [allowedAt, generation] = reserve(now)
      return settle(now, allowedAt, generation)
    })

    // A slot free at once (always so with `rate: false` and no pause) is one step: the fiber's
    // clock read, the slot reserved and the (zero) wait recorded as plain code.
    const take = Effect.withFiberRuntime<void>((fiber) => {
      const started = Context.get(fiber.getFiberRef(DefaultServices.currentServices), Clock.Clock).unsafeCurrentTimeMillis()
      const [allowedAt, generation] = reserve(started)
      if (allowedAt <= started) {
        waited.unsafeUpdate(0, fiber.getFiberRef(FiberRef.currentMetricLabels))
        return Effect.void
      }
      return Effect.zipRight(
        settle(started, allowedAt, generation),
        Effect.flatMap(Clock.currentTimeMillis, (now) => Metric.update(waited, now - started))
      )
    })

    const pauseUntil = (epochMillis: number) =>
      Effect.sync(() => {
        const s = state
        if (epochMillis > s.pausedUntil) {
          state = { ...s, pausedUntil: epochMillis, tat: epochMillis, generation: s.generation + 1 }
        }
      })

    /** The state after the server said `perSecond` at `now` (the same object when nothing changes). */
    const learn = (before: State, perSecond: number, now: number): State => {
      const s = current(before, now)
      if (configured.rate === false || s.rate === false || !(perSecond > 0)) return s
      if (perSecond >= configured.rate) return s.rate === configured.rate ? s : restore(s, now)
      const learntUntil = now + ttl
      if (perSecond >= s.rate) {
        // The same or a higher limit than the learnt one: confirm it (or go up to it).
        return perSecond === s.rate
          ? { ...s, learntUntil }
          : { ...restore(s, now), rate: perSecond, burst: burstFor(perSecond), learntUntil }
      }
      // Forget the reservations made at the faster rate: the sleepers reserve again.
      return {
        ...s,
        rate: perSecond,
        burst: Math.min(s.burst, burstFor(perSecond)),
        learntUntil,
        tat: s.pausedUntil,
        generation: s.generation + 1
      }
    }

    // Off (`rate: false`), a server limit changes nothing: no effect at all.
    const observeLimit = (perSecond: number) =>
      configured.rate === false
        ? Effect.void
        : Effect.clockWith((clock) =>
          Effect.sync(() => {
            state = learn(state, perSecond, clock.unsafeCurrentTimeMillis())
          })
        )

    const burstFor = (perSecond: number) =>
      Math.min(configured.burst, Math.max(1, Math.floor(perSecond / 2)))

    const rate = Effect.map(Clock.currentTimeMillis, (now) => current(state, now).rate)
    return { take, pauseUntil, observeLimit, rate }
  })
