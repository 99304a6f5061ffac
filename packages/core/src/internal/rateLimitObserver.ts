/**
 * What the client does with each answer's rate-limit headers: pause a category until its bucket's
 * reset or the server's `Retry-After`, follow a lower `X-RateLimit-Limit`, and log what it ignored.
 */
import * as Headers from "@effect/platform/Headers"
import { Duration, Effect, Option } from "effect"
import type * as Endpoint from "../Endpoint.js"
import type { Answer } from "./answer.js"
import type * as Limiter from "./limiter.js"
import * as RateLimitHeaders from "./rateLimitHeaders.js"

/** The observer of one service: its limiters and the longest delay it honours. */
export const make = (
  limiters: Readonly<Record<Endpoint.Category, Limiter.Limiter>>,
  retryAfterCap: Duration.Duration
) => {
  /**
   * Acts on the `X-RateLimit-*` headers: once a bucket is empty (or a 429 came), no request of
   * that category starts before the bucket's reset (or the server's `Retry-After`, cut to the
   * cap). Reset is a server timestamp, so it is measured against the server's `Date`. Values
   * outside sane bounds were rejected by `RateLimitHeaders.read` and are logged here.
   */
  const observeRateLimit = (
    category: Endpoint.Category,
    answer: Answer,
    rateLimit: RateLimitHeaders.RateLimitHeaders,
    now: number,
    retryAfter: Option.Option<Duration.Duration>
  ): Effect.Effect<void> => {
    // Worked out as plain code: an ordinary answer (nothing hostile, a bucket not empty, no 429)
    // asks for no effect at all (with `rate: false`, `observeLimit` is none either).
    const steps: Array<Effect.Effect<void>> = []
    for (const r of rateLimit.rejected) {
      steps.push(
        Effect.logWarning(`Lightfield answer with a hostile header ignored: ${r.header}: ${r.value} (${r.why})`).pipe(
          Effect.annotateLogs({ header: r.header, status: answer.status })
        )
      )
    }
    const note = retryAfterNote(answer, retryAfter)
    if (note !== Effect.void) steps.push(note)
    // Spec §9: the header is the source of truth at runtime; a lower limit lowers our rate.
    if (Option.isSome(rateLimit.limit)) {
      const limit = limiters[category].observeLimit(rateLimit.limit.value)
      if (limit !== Effect.void) steps.push(limit)
    }
    const untilReset = Option.isSome(rateLimit.remaining) && rateLimit.remaining.value <= 0
      ? Option.getOrUndefined(rateLimit.untilReset)
      : undefined
    const untilRetry = answer.status === 429 && Option.isSome(retryAfter) ? Duration.toMillis(retryAfter.value) : undefined
    if (untilReset !== undefined || untilRetry !== undefined) {
      const wait = Math.max(0, untilReset ?? 0, untilRetry ?? 0)
      steps.push(limiters[category].pauseUntil(now + Math.min(Duration.toMillis(retryAfterCap), wait)))
    }
    if (steps.length === 0) return Effect.void
    return steps.length === 1 ? steps[0]! : Effect.forEach(steps, (step) => step, { discard: true })
  }

  /** A `Retry-After` that cannot be read, or asks for more than the cap, is logged (and cut to the cap). */
  const retryAfterNote = (answer: Answer, retryAfter: Option.Option<Duration.Duration>) => {
    const raw = Option.orElse(Headers.get(answer.headers, "retry-after-ms"), () => Headers.get(answer.headers, "retry-after"))
    if (Option.isNone(raw)) return Effect.void
    if (Option.isNone(retryAfter)) {
      return Effect.logWarning(
        `Lightfield answer with a hostile header ignored: Retry-After: ${RateLimitHeaders.excerpt(raw.value)} (not a delay)`
      )
    }
    return Duration.greaterThan(retryAfter.value, retryAfterCap)
      ? Effect.logWarning(
        `Lightfield Retry-After: ${RateLimitHeaders.excerpt(raw.value)} is above the cap; waiting ${
          Duration.format(retryAfterCap)
        }`
      )
      : Effect.void
  }

  return observeRateLimit
}
