/**
 * The retry policy of the HTTP client: which failures are worth another attempt, and the default
 * `Schedule` over the failed attempt's error (re-exported by `MeetingsClient`).
 */
import { Duration, Effect, identity, Option, Ref, Schedule } from "effect"
import * as MeetingsConfig from "../MeetingsConfig.js"
import type { MeetingsError } from "../MeetingsError.js"
import { retryAfterOf } from "../MeetingsError.js"

/**
 * Whether a failed attempt is worth another one: transport errors, timeouts, 5xx, 429, 408 and
 * 409, except an `idempotency_conflict` for a request that carried no key (it cannot resolve).
 * 400, 401, 403, 404, 415, 422 and undecodable answers are final.
 *
 * @since 0.1.0
 */
export const isRetryable = (error: MeetingsError): boolean => {
  switch (error._tag) {
    case "MeetingsUnavailable":
    case "RateLimited":
    case "Conflict":
      return true
    case "IdempotencyConflict":
      return error.idempotencyKey !== undefined
    case "BadRequest":
      return error.status === 408
    default:
      return false
  }
}

/**
 * The default retry policy, as a `Schedule` over the failed attempt's error: at most `maxRetries`
 * (default 2) retries of `isRetryable` errors, exponential backoff from 0.5 s doubling up to 8 s
 * with up to 25 % jitter taken off; a server-requested delay (`retry-after-ms` / `Retry-After`,
 * cut to `retryAfterCap`, default 60 s) replaces the backoff for that attempt.
 *
 * @since 0.1.0
 */
export const retrySchedule = (options?: BackoffOptions): Schedule.Schedule<MeetingsError, MeetingsError> =>
  backoff(options, isRetryable, retryAfterOf)

/** The knobs of `backoff` (and of `retrySchedule`). */
export interface BackoffOptions {
  readonly maxRetries?: number
  readonly retryAfterCap?: Duration.DurationInput
  readonly base?: Duration.DurationInput
  readonly maxDelay?: Duration.DurationInput
}

/**
 * The backoff of API calls and storage uploads alike, over the failed attempt's error `E`: at most
 * `maxRetries` retries of the errors `retryable` accepts, exponential from `base` (0.5 s) doubling
 * up to `maxDelay` (8 s) with up to 25 % jitter taken off; the delay the error asked for (cut to
 * `retryAfterCap`) replaces the backoff for that attempt.
 */
export const backoff = <E>(
  options: BackoffOptions | undefined,
  retryable: (error: E) => boolean,
  askedDelay: (error: E) => Option.Option<Duration.Duration>
): Schedule.Schedule<E, E> => {
  const cap = Duration.decode(options?.retryAfterCap ?? MeetingsConfig.defaults.retryAfterCap)
  const maxDelay = Duration.decode(options?.maxDelay ?? "8 seconds")
  return Schedule.exponential(options?.base ?? "500 millis", 2).pipe(
    Schedule.modifyDelay((_, delay) => Duration.min(delay, maxDelay)),
    Schedule.jitteredWith({ min: 0.75, max: 1 }),
    Schedule.intersect(Schedule.recurs(options?.maxRetries ?? MeetingsConfig.defaults.maxRetries)),
    Schedule.whileInput(retryable),
    Schedule.passthrough,
    Schedule.modifyDelay((error: E, delay) =>
      Option.match(askedDelay(error), { onNone: () => delay, onSome: (asked) => Duration.min(asked, cap) })
    )
  )
}

/**
 * `Effect.retry(self, policy())`, with the policy's driver built only after a failure: a call that
 * succeeds at once (nearly all of them) allocates nothing for retries. As with `Effect.retry`, the
 * policy sees each failure in turn, and each retry runs with the driver's
 * `Schedule.CurrentIterationMetadata` (the first attempt sees its default, which is what the
 * driver starts from).
 */
export const retrying = <A, E, R, Out, R2>(
  self: Effect.Effect<A, E, R>,
  policy: () => Schedule.Schedule<Out, E, R2>,
  /** Wraps everything after the first failure (the policy's effects and the retries). */
  afterFirst: (retries: Effect.Effect<A, E, R | R2>) => Effect.Effect<A, E, R | R2> = identity
): Effect.Effect<A, E, R | R2> =>
  Effect.catchAll(self, (first) =>
    afterFirst(Effect.flatMap(Schedule.driver(policy()), (driver) => {
      const again = Effect.provideServiceEffect(self, Schedule.CurrentIterationMetadata, Ref.get(driver.iterationMeta))
      const after = (error: E): Effect.Effect<A, E, R | R2> =>
        Effect.matchEffect(driver.next(error), {
          onFailure: () => Effect.fail(error),
          onSuccess: () => Effect.catchAll(again, after)
        })
      return after(first)
    })))
