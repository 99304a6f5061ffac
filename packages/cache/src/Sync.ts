/**
 * Full sync: stream every page through the client (`Meetings.stream`: bounded concurrency, under
 * its rate limiter), upsert in batched transactions (`Stream.groupedWithin`), report progress,
 * then reconcile.
 *
 * Crash safety and resumption. The sync state (`scan id`, started, finished, pages, items) is
 * persisted per principal; rows carry the id of the scan that last saw them. Offsets are not
 * persistable (the list index moves underneath), so a sync after an interrupted one starts a new
 * scan from the first page: what the interrupted scan stored stays servable meanwhile, and only a
 * scan that reached the end may mark anything gone. At the end of a COMPLETE scan:
 *
 * 1. read-your-writes: meetings written through this cache that the (lagging) list index did not
 *    show are re-fetched by id (`404` → gone);
 * 2. every other row the scan did not see (and nobody fetched by id while it ran) is marked gone;
 * 3. the scan is recorded as finished.
 *
 * Steps 1-3 run only when the client's stream closed with `complete: true` (its last progress
 * event: the end rule held and no offset was left uncovered). A scan that gave up early stores
 * what it saw but marks nothing gone and stays unfinished, so the next sync completes it.
 *
 * Scans of one principal are serialised across connections and processes by a lease in
 * `sync_state` (renewed with every stored batch, released when the scan ends). A scan whose lease
 * was taken over stops writing, and the reconcile (2 and 3) runs in one transaction only if the scan
 * is still the principal's current scan, so a scan never marks gone what another scan saw. On
 * PostgreSQL every instance first takes a session advisory lock per principal (released by the
 * server when a holder's connection ends, so a crashed holder is taken over at once); an instance
 * that waited while another one's scan completed returns that scan's outcome (`joined`).
 *
 * So a sync that completes leaves exactly the server's set (plus unconfirmed local writes) servable,
 * however many scans were interrupted before it.
 *
 * This module holds the sync's options and answers; `MeetingsCache.sync` runs it.
 *
 * @since 0.1.0
 */
import { MeetingParams } from "@lightfield-effect/core"
import type { Duration, Effect } from "effect"
import { Either, Option } from "effect"
import * as Check from "./internal/options.js"

/**
 * A progress event of a sync.
 *
 * @since 0.1.0
 */
export interface SyncProgress {
  readonly scanId: string
  readonly phase: "scanning" | "reconciling" | "done"
  /** Pages received from the API so far. */
  readonly pages: number
  /** Meetings stored so far by this scan. */
  readonly meetings: number
  /** The server's `totalCount` (latest page). */
  readonly totalCount: number
  readonly elapsed: Duration.Duration
  /** Meetings stored per second so far. */
  readonly ratePerSecond: number
  /** Estimated time to finish the scan, when it can be estimated. */
  readonly eta: Option.Option<Duration.Duration>
}

/**
 * How a sync runs.
 *
 * @since 0.1.0
 */
export interface SyncOptions {
  /** Page size, 1..25 (default 25). */
  readonly pageSize?: number
  /** Pages requested at once (default 4). */
  readonly concurrency?: number
  /** Meetings per transaction (default 500). */
  readonly batchSize?: number
  /** Longest wait before a partial batch is written (default 1 second). */
  readonly batchWindow?: Duration.DurationInput
  /** Per-attempt request timeout. */
  readonly timeout?: Duration.DurationInput
  /** Called after every stored batch and at the end. */
  readonly onProgress?: (progress: SyncProgress) => Effect.Effect<void>
  /**
   * How long the sync lease lasts without renewal (default 30 seconds). It is renewed with every
   * stored batch; a scan that stalls longer may be taken over by another connection.
   */
  readonly lease?: Duration.DurationInput
  /** How long to wait for another connection's scan to release the lease (default 2 minutes). */
  readonly leaseWait?: Duration.DurationInput
}

/**
 * What a sync did.
 *
 * @since 0.1.0
 */
export interface SyncResult {
  readonly scanId: string
  /**
   * The scan covered the whole listing and was reconciled (vanished meetings marked gone). `false`
   * when the client's stream gave up early or another connection's scan took over: nothing was
   * marked gone and the sync state stays unfinished, so the next sync completes it.
   */
  readonly complete: boolean
  readonly pages: number
  /** Meetings the scan stored. */
  readonly meetings: number
  /** Locally written meetings the list did not show yet, re-fetched by id. */
  readonly refetched: number
  /** Meetings marked gone by this sync. */
  readonly gone: ReadonlyArray<string>
  /** How many earlier scans had been interrupted (this sync completed them). */
  readonly resumedAfterInterrupted: number
  readonly duration: Duration.Duration
  /**
   * PostgreSQL only: this call waited for another instance's scan of the principal, which
   * completed meanwhile, and returns that scan's outcome instead of scanning again (the mirror is
   * shared). Absent when this call ran the scan itself.
   */
  readonly joined?: boolean
}

/**
 * The persisted state of a principal's sync.
 *
 * @since 0.1.0
 */
export interface SyncState {
  readonly scanId: string
  readonly startedAt: number
  readonly finishedAt: number | null
  readonly lastCompleteAt: number | null
  readonly pages: number
  readonly items: number
  /** How many scans were interrupted before finishing (since the last complete one). */
  readonly interrupted: number
}

/**
 * Meetings per transaction when `batchSize` is not given.
 *
 * @since 0.1.0
 */
export const defaultBatchSize = 500
/**
 * Most meetings in one transaction.
 *
 * @since 0.1.0
 */
export const maxBatchSize = 10_000
/**
 * Most pages requested at once.
 *
 * @since 0.1.0
 */
export const maxConcurrency = 64

/**
 * What is wrong with the first invalid option, as `[option, message]`; `None` when all are valid.
 *
 * @since 0.1.0
 */
export const checkOptions = (options: SyncOptions): Option.Option<readonly [keyof SyncOptions, string]> => {
  const checks: ReadonlyArray<readonly [keyof SyncOptions, Either.Either<unknown, string>]> = [
    ["pageSize", Check.optional(options.pageSize, (n) => Check.integer("pageSize", n, { min: 1, max: MeetingParams.MaxLimit }))],
    ["concurrency", Check.optional(options.concurrency, (n) => Check.integer("concurrency", n, { min: 1, max: maxConcurrency }))],
    ["batchSize", Check.optional(options.batchSize, (n) => Check.integer("batchSize", n, { min: 1, max: maxBatchSize }))],
    ["batchWindow", Check.optional(options.batchWindow, (d) => Check.duration("batchWindow", d, { positive: true, finite: true }))],
    ["timeout", Check.optional(options.timeout, (d) => Check.duration("timeout", d, { positive: true, finite: true }))],
    ["lease", Check.optional(options.lease, (d) => Check.duration("lease", d, { positive: true, finite: true }))],
    ["leaseWait", Check.optional(options.leaseWait, (d) => Check.duration("leaseWait", d, { positive: false, finite: true }))]
  ]
  for (const [name, check] of checks) if (Either.isLeft(check)) return Option.some([name, check.left] as const)
  return Option.none()
}
