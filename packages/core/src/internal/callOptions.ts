/**
 * A call's own options (`timeout`, `budget`, `failFast`), checked before anything is sent, and the
 * one rule of what `failFast` does not retry: a connection that could not be made.
 */
import { Duration, Either, Option } from "effect"
import type { CallOptions } from "../Meetings.js"
import type { MeetingsError } from "../MeetingsError.js"
import { InvalidParams } from "../MeetingsError.js"

/**
 * `CallOptions` checked: the durations decoded (positive and finite), `failFast` a boolean.
 *
 * @since 0.1.0
 */
export interface CheckedCallOptions {
  /** Per-attempt timeout; none: the layer's. */
  readonly timeout: Option.Option<Duration.Duration>
  /** Bound on the whole call; none: no bound beyond the attempts' timeouts and the retry policy. */
  readonly budget: Option.Option<Duration.Duration>
  readonly failFast: boolean
}

const none: CheckedCallOptions = { timeout: Option.none(), budget: Option.none(), failFast: false }

/** A positive, finite duration; anything `Duration.decode` would read as zero or clamp is refused. */
const positiveFinite = (input: unknown): Option.Option<Duration.Duration> => {
  if (typeof input === "number" && !(input > 0 && Number.isFinite(input))) return Option.none()
  if (typeof input === "bigint" && input <= 0n) return Option.none()
  if (typeof input === "string" && input.trim().startsWith("-")) return Option.none()
  return Duration.decodeUnknown(input).pipe(
    Option.filter((d) => Duration.isFinite(d) && Duration.greaterThan(d, Duration.zero))
  )
}

const refuse = (param: string, message: string) => Either.left(new InvalidParams({ param, message, status: 400 }))

const shown = (input: unknown) => (typeof input === "string" ? JSON.stringify(input.slice(0, 100)) : String(input))

/**
 * A call's options checked, or the first bad one as `InvalidParams` (`param` names it): `timeout`
 * and `budget` must be positive finite durations, `failFast` a boolean. Every operation of the
 * HTTP clients runs it before anything is sent.
 *
 * @since 0.1.0
 */
export const check = (options: CallOptions | undefined): Either.Either<CheckedCallOptions, InvalidParams> => {
  if (options === undefined) return Either.right(none)
  const { budget, failFast, timeout } = options
  if (timeout === undefined && budget === undefined && failFast === undefined) return Either.right(none)
  const checkedTimeout = timeout === undefined ? Option.none() : positiveFinite(timeout)
  if (timeout !== undefined && Option.isNone(checkedTimeout)) {
    return refuse("timeout", `timeout must be a positive finite duration such as "30 seconds" (got ${shown(timeout)})`)
  }
  const checkedBudget = budget === undefined ? Option.none() : positiveFinite(budget)
  if (budget !== undefined && Option.isNone(checkedBudget)) {
    return refuse("budget", `budget must be a positive finite duration such as "2 seconds" (got ${shown(budget)})`)
  }
  if (failFast !== undefined && typeof failFast !== "boolean") {
    return refuse("failFast", `failFast must be true or false (got ${shown(failFast)})`)
  }
  return Either.right({ timeout: checkedTimeout, budget: checkedBudget, failFast: failFast === true })
}

/** Error codes of a connection that was never made (nothing was sent, so nothing can be half done). */
const connectCodes = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT"
])

/** Whether `cause` (a platform error, its `cause` chain, or an `AggregateError`'s errors) names a connect failure. */
const isConnectCause = (cause: unknown, depth: number): boolean => {
  if (depth > 6 || typeof cause !== "object" || cause === null) return false
  const { code, errors } = cause as { readonly code?: unknown; readonly errors?: unknown }
  if (typeof code === "string" && connectCodes.has(code)) return true
  if (Array.isArray(errors) && errors.some((e) => isConnectCause(e, depth + 1))) return true
  return isConnectCause((cause as { readonly cause?: unknown }).cause, depth + 1)
}

/**
 * Whether a failed attempt never reached the server: the connection was refused, the host or
 * network unreachable, the name unknown. `failFast` calls are not retried after one.
 */
export const isConnectFailure = (error: MeetingsError): boolean =>
  error._tag === "MeetingsUnavailable" && error.reason === "Transport" && isConnectCause(error.cause, 0)

// A pooled keep-alive connection that the server had already closed: undici's "other side closed",
// a reset or a broken pipe on a reused socket, node's "socket hang up".
const droppedCodes = new Set(["UND_ERR_SOCKET", "ECONNRESET", "EPIPE", "UND_ERR_CLOSED"])

const isDroppedCause = (cause: unknown, depth: number): boolean => {
  if (depth > 6 || typeof cause !== "object" || cause === null) return false
  const { code, message } = cause as { readonly code?: unknown; readonly message?: unknown }
  if (typeof code === "string" && droppedCodes.has(code)) return true
  if (typeof message === "string" && /^(other side closed|socket hang up)$/.test(message)) return true
  return isDroppedCause((cause as { readonly cause?: unknown }).cause, depth + 1)
}

/**
 * Whether an attempt failed because its connection dropped before any answer came (typically a
 * pooled connection the server had closed). The caller makes such an attempt again at once, on a
 * fresh connection, before the retry policy (and `failFast`) judge the outcome.
 */
export const isDroppedConnection = (error: MeetingsError): boolean =>
  error._tag === "MeetingsUnavailable" && error.reason === "Transport" && isDroppedCause(error.cause, 0)
