/**
 * Token buckets per (organisation, category), spec §9. Refill is continuous and measured on a
 * monotonic clock (`performance.now`), never on the sandbox's movable clock, so a client pacing
 * itself at exactly the advertised rate never sees a 429.
 */
import type { Endpoint } from "@lightfield-effect/core"
import { performance } from "node:perf_hooks"

type Category = Endpoint.Category

export type Limit = false | { readonly perSecond: number; readonly capacity?: number }

export const defaultLimit = { perSecond: 25, capacity: 25 } as const

export interface Decision {
  readonly allowed: boolean
  /** Header values. */
  readonly limit: number
  readonly remaining: number
  /** Unix seconds at which the bucket is full again. */
  readonly reset: number
  /** Whole seconds until one token is available (only meaningful when refused). */
  readonly retryAfter: number
}

interface Bucket {
  tokens: number
  at: number
}

// Float refills can land a hair under a whole token; this keeps exact pacing exact.
const epsilon = 1e-9

/**
 * Timers fire up to ~1 ms off the monotonic clock, so a client sleeping exactly 1/rate between
 * requests can arrive a hair early. Accept a request that is short by at most this much refill.
 */
const jitterMillis = 2

export interface RateLimiter {
  readonly set: (limit: Limit) => void
  readonly get: () => Limit
  /** Take one token. */
  readonly take: (orgId: string, category: Category) => Decision
  /** Bucket state without taking (for responses refused before rate limiting). */
  readonly peek: (orgId: string | undefined, category: Category) => Decision
}

export const make = (initial: Limit | undefined): RateLimiter => {
  let limit: Limit = initial === undefined ? defaultLimit : initial
  const buckets = new Map<string, Bucket>()

  const config = () =>
    limit === false
      ? undefined
      : { perSecond: limit.perSecond, capacity: Math.max(1, limit.capacity ?? Math.max(1, Math.ceil(limit.perSecond))) }

  const refill = (key: string, capacity: number, perSecond: number, now: number): Bucket => {
    const bucket = buckets.get(key)
    if (bucket === undefined) {
      const fresh = { tokens: capacity, at: now }
      buckets.set(key, fresh)
      return fresh
    }
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * perSecond)
    bucket.at = now
    return bucket
  }

  const decision = (
    allowed: boolean,
    tokens: number,
    capacity: number,
    perSecond: number,
    wallMillis: number
  ): Decision => ({
    allowed,
    limit: capacity,
    remaining: Math.max(0, Math.floor(tokens + epsilon)),
    reset: Math.ceil((wallMillis + (perSecond > 0 ? ((capacity - tokens) / perSecond) * 1000 : 0)) / 1000),
    retryAfter: perSecond > 0 ? Math.max(1, Math.ceil((1 - tokens) / perSecond)) : 1
  })

  const unlimited = (wallMillis: number): Decision => ({
    allowed: true,
    limit: defaultLimit.capacity,
    remaining: defaultLimit.capacity,
    reset: Math.ceil(wallMillis / 1000),
    retryAfter: 0
  })

  const take: RateLimiter["take"] = (orgId, category) => {
    const wall = Date.now()
    const c = config()
    if (c === undefined) return unlimited(wall)
    const bucket = refill(`${orgId}|${category}`, c.capacity, c.perSecond, performance.now())
    if (bucket.tokens + (jitterMillis / 1000) * c.perSecond + epsilon >= 1) {
      bucket.tokens = Math.max(0, bucket.tokens - 1)
      return decision(true, bucket.tokens, c.capacity, c.perSecond, wall)
    }
    return decision(false, bucket.tokens, c.capacity, c.perSecond, wall)
  }

  const peek: RateLimiter["peek"] = (orgId, category) => {
    const wall = Date.now()
    const c = config()
    if (c === undefined) return unlimited(wall)
    if (orgId === undefined) return decision(true, c.capacity, c.capacity, c.perSecond, wall)
    const bucket = refill(`${orgId}|${category}`, c.capacity, c.perSecond, performance.now())
    return decision(true, bucket.tokens, c.capacity, c.perSecond, wall)
  }

  return {
    set: (next) => {
      limit = next
      // New limits start from full buckets.
      buckets.clear()
    },
    get: () => limit,
    take,
    peek
  }
}

/** The three headers of spec §9, sent on every response. */
export const headers = (d: Decision): Record<string, string> => ({
  "x-ratelimit-limit": String(d.limit),
  "x-ratelimit-remaining": String(d.remaining),
  "x-ratelimit-reset": String(d.reset)
})
