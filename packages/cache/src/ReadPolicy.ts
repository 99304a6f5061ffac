/**
 * Read policies and the `Cached<A>` envelope every cache read answers with, so a caller can tell
 * where an answer came from and how old it is.
 *
 * - `CacheFirst`: answer from the cache; go to the network only on a miss.
 * - `StaleWhileRevalidate`: answer from the cache; when the copy is older than `maxAge`, refresh it
 *   in the background (the answer says `stale: true`). A miss goes to the network.
 * - `NetworkFirst`: ask the network; when it is unreachable (transport errors, timeouts, 429, 5xx:
 *   core's `isUnreachable`) answer from the cache instead. Other errors (404, 403…) pass through.
 *   With a cached copy to fall back on, a refused connection is not retried (core's `failFast`),
 *   and `networkTimeout` bounds the wait (the network call then refreshes the row in the background).
 * - `CacheOnly`: never touch the network; a miss is a `CacheMiss`.
 *
 * @since 0.1.0
 */
import { DateTime, Duration } from "effect"

/**
 * Where a read may look, and in which order.
 *
 * @since 0.1.0
 */
export type ReadPolicy = "CacheFirst" | "StaleWhileRevalidate" | "NetworkFirst" | "CacheOnly"

/**
 * Every read policy.
 *
 * @since 0.1.0
 */
export const policies: ReadonlyArray<ReadPolicy> = ["CacheFirst", "StaleWhileRevalidate", "NetworkFirst", "CacheOnly"]

/**
 * Where an answer came from.
 *
 * @since 0.1.0
 */
export type Source = "network" | "cache"

/**
 * An answer with its provenance.
 *
 * @since 0.1.0
 */
export interface Cached<A> {
  readonly value: A
  /** `network`: fetched (or written) by this call; `cache`: read from SQLite. */
  readonly source: Source
  /** When the value was fetched from the network (or written locally). */
  readonly fetchedAt: DateTime.Utc
  /** How old the value is now. */
  readonly age: Duration.Duration
  /** Older than the policy's `maxAge`. */
  readonly stale: boolean
  /** Written locally and not confirmed by the server yet (an outbox entry is waiting). */
  readonly pending: boolean
}

/**
 * Options of one read.
 *
 * @since 0.1.0
 */
export interface ReadOptions {
  readonly policy?: ReadPolicy
  /** Age above which a cached copy is stale (default: the cache's `maxAge`, 5 minutes). */
  readonly maxAge?: Duration.DurationInput
  /** Per-attempt network timeout for this call. */
  readonly timeout?: Duration.DurationInput
  /**
   * `NetworkFirst` with a cached copy: how long to wait for the network before answering from the
   * cache (Workbox's `networkTimeoutSeconds`; positive, finite). The network call goes on in the
   * cache's background (closed with the cache) and stores its answer when it comes. Without a
   * cached copy the read waits for the network. Default: wait for the network's answer or error.
   */
  readonly networkTimeout?: Duration.DurationInput
}

/**
 * An answer fetched (or written) by this call.
 *
 * @since 0.1.0
 */
export const fromNetwork = <A>(value: A, now: number): Cached<A> => ({
  value,
  source: "network",
  fetchedAt: DateTime.unsafeMake(now),
  age: Duration.zero,
  stale: false,
  pending: false
})

/**
 * An answer read from SQLite: its age now, and stale when older than `maxAge`.
 *
 * @since 0.1.0
 */
export const fromCache = <A>(
  value: A,
  stored: { readonly fetchedAt: number; readonly pending: boolean },
  now: number,
  maxAge: Duration.Duration
): Cached<A> => {
  const age = Duration.millis(Math.max(0, now - stored.fetchedAt))
  return {
    value,
    source: "cache",
    fetchedAt: DateTime.unsafeMake(stored.fetchedAt),
    age,
    stale: Duration.greaterThan(age, maxAge),
    pending: stored.pending
  }
}

/**
 * A pending (locally written) answer: its own write is what the caller just did.
 *
 * @since 0.1.0
 */
export const fromLocalWrite = <A>(value: A, now: number): Cached<A> => ({
  value,
  source: "cache",
  fetchedAt: DateTime.unsafeMake(now),
  age: Duration.zero,
  stale: false,
  pending: true
})

/**
 * What `refresh(ids)` did.
 *
 * @since 0.1.0
 */
export interface RefreshResult {
  readonly refreshed: ReadonlyArray<string>
  /** Ids that answered 404 and are now marked gone. */
  readonly gone: ReadonlyArray<string>
}
