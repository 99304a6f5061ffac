/**
 * Reading the `X-RateLimit-*` headers (spec §9) with sane bounds. A server (or whatever sits in
 * front of it) can send anything; a value outside the bounds is ignored, and named in `rejected`
 * so the client can log it, instead of pacing a whole category by it.
 */
import * as Headers from "@effect/platform/Headers"
import { Option } from "effect"

/** Bucket capacities (requests per second) the client will pace itself by. */
export const LimitBounds = { min: 1, max: 10_000 } as const

/** A header the client ignored: its name and (a bounded excerpt of) its value. */
export interface Rejected {
  readonly header: string
  readonly value: string
  readonly why: string
}

export interface RateLimitHeaders {
  /** `X-RateLimit-Limit`, an integer within `LimitBounds`. */
  readonly limit: Option.Option<number>
  /** `X-RateLimit-Remaining`, an integer ≥ 0. */
  readonly remaining: Option.Option<number>
  /** Milliseconds from now until `X-RateLimit-Reset` (0 if it is past), at most `maxWaitMillis`. */
  readonly untilReset: Option.Option<number>
  readonly rejected: ReadonlyArray<Rejected>
}

/** A header as a finite number, if it is one. */
export const headerNumber = (headers: Headers.Headers, name: string): Option.Option<number> =>
  Headers.get(headers, name).pipe(
    Option.map((s) => s.trim()),
    Option.filter((s) => s !== ""),
    Option.map(Number),
    Option.filter((n) => Number.isFinite(n))
  )

/** What a log line may quote of a header value. */
export const excerpt = (value: string): string => JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)

/**
 * The three headers of one answer. `serverNow` is the server's clock (its `Date` header) for the
 * reset timestamp; a reset further than `maxWaitMillis` ahead is rejected, not cut.
 */
export const read = (headers: Headers.Headers, serverNow: number, maxWaitMillis: number): RateLimitHeaders => {
  const rejected: Array<Rejected> = []
  const check = (name: string, ok: (n: number) => boolean, why: string): Option.Option<number> => {
    const raw = Headers.get(headers, name.toLowerCase())
    if (Option.isNone(raw)) return Option.none()
    const n = headerNumber(headers, name.toLowerCase())
    if (Option.isSome(n) && ok(n.value)) return n
    rejected.push({ header: name, value: excerpt(raw.value), why })
    return Option.none()
  }
  const limit = check(
    "X-RateLimit-Limit",
    (n) => Number.isInteger(n) && n >= LimitBounds.min && n <= LimitBounds.max,
    `not an integer from ${LimitBounds.min} to ${LimitBounds.max}`
  )
  const remaining = check("X-RateLimit-Remaining", (n) => Number.isInteger(n) && n >= 0, "not an integer ≥ 0")
  const reset = check(
    "X-RateLimit-Reset",
    (seconds) => seconds >= 0 && seconds * 1000 - serverNow <= maxWaitMillis,
    `not a time within ${Math.round(maxWaitMillis / 1000)} s`
  )
  return {
    limit,
    remaining,
    untilReset: Option.map(reset, (seconds) => Math.max(0, seconds * 1000 - serverNow)),
    rejected
  }
}
