/**
 * Where the client meets a shared `RateBudget` (the seam in `caller.ts`): a slot is taken from the
 * in-process limiter first, then from the shared budget; a 429 with `Retry-After` pauses the
 * shared bucket too, and `X-RateLimit-Limit` lowers its rate. Without a shared budget (the
 * default) the in-process limiter's `take` is used as it is.
 */
import { Duration, Effect, Option } from "effect"
import type * as Endpoint from "../Endpoint.js"
import type { MeetingsUnavailable } from "../MeetingsError.js"
import * as RateBudget from "../RateBudget.js"
import type * as Limiter from "./limiter.js"
import type * as RateLimitObserver from "./rateLimitObserver.js"

/** What `caller.ts` uses: a slot per category, and the observer of each answer. */
export interface Slots {
  readonly take: (category: Endpoint.Category) => Effect.Effect<void, MeetingsUnavailable>
  readonly observe: Observer
}

/** What `RateLimitObserver.make` gives: the handler of each answer's rate-limit headers. */
type Observer = ReturnType<typeof RateLimitObserver.make>

/** The shared budget in the context, if any (read once, when the client is built). */
export const current: Effect.Effect<RateBudget.RateBudgetShape> = Effect.map(
  Effect.serviceOption(RateBudget.RateBudget),
  Option.getOrElse(() => RateBudget.local)
)

/**
 * The slots of a client: its limiters and observer alone without a shared budget, both with one.
 * A failed shared pause is logged and ignored: the local pause still holds, and the next `take`
 * reports an unreachable store.
 */
export const slots = (
  limiters: Readonly<Record<Endpoint.Category, Limiter.Limiter>>,
  observe: Observer,
  budget: RateBudget.RateBudgetShape,
  retryAfterCap: Duration.Duration
): Slots => {
  if (!budget.shared) return { take: (category) => limiters[category].take, observe }
  return {
    take: (category) => Effect.zipRight(limiters[category].take, budget.take(category)),
    observe: (category, answer, rateLimit, now, retryAfter) =>
      Effect.zipRight(
        observe(category, answer, rateLimit, now, retryAfter),
        Effect.zipRight(
          Option.match(rateLimit.limit, {
            onNone: () => Effect.void,
            onSome: (perSecond) => budget.observeLimit(category, perSecond)
          }),
          answer.status === 429 && Option.isSome(retryAfter)
            ? budget.pause(category, Duration.min(retryAfter.value, retryAfterCap)).pipe(
              Effect.catchAll((error) =>
                Effect.annotateLogs(Effect.logDebug("Lightfield shared rate budget not paused"), { message: error.message })
              )
            )
            : Effect.void
        )
      )
  }
}
