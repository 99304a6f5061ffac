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
 * So a sync that completes leaves exactly the server's set (plus unconfirmed local writes) servable,
 * however many scans were interrupted before it.
 */
import type { Meeting, Meetings, MeetingsError } from "@lightfield-effect/core"
import { Chunk, Clock, Duration, Effect, Option, Ref, Stream } from "effect"
import type { CacheError } from "./CacheError.js"
import * as CacheMetrics from "./CacheMetrics.js"
import type { MeetingsRepo } from "./MeetingsRepo.js"
import type { Principal } from "./Principal.js"

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
}

export interface SyncResult {
  readonly scanId: string
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
}

export interface SyncDeps {
  readonly principal: Principal
  readonly repo: MeetingsRepo
  readonly network: Meetings.MeetingsShape
  readonly publish: (progress: SyncProgress) => Effect.Effect<void>
}

const defaultBatchSize = 500

export const run = (
  deps: SyncDeps,
  options: SyncOptions = {}
): Effect.Effect<SyncResult, MeetingsError.MeetingsError | CacheError> =>
  Effect.gen(function*() {
    const { network, principal, repo } = deps
    const previous = yield* repo.syncState(principal)
    const interruptedBefore = Option.match(previous, {
      onNone: () => 0,
      onSome: (s) => s.interrupted + (s.finishedAt === null ? 1 : 0)
    })
    const scanId = crypto.randomUUID()
    const startedAt = yield* Clock.currentTimeMillis
    yield* repo.startScan(principal, scanId, startedAt)
    if (interruptedBefore > 0) {
      yield* Effect.logInfo("resuming after an interrupted sync", { interrupted: interruptedBefore })
    }

    const latest = yield* Ref.make({ pages: 0, items: 0, totalCount: 0 })
    const stored = yield* Ref.make(0)

    const progress = (phase: SyncProgress["phase"]) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const page = yield* Ref.get(latest)
        const meetings = yield* Ref.get(stored)
        const elapsedMillis = Math.max(1, now - startedAt)
        const rate = meetings / (elapsedMillis / 1000)
        const remaining = Math.max(0, page.totalCount - meetings)
        const p: SyncProgress = {
          scanId,
          phase,
          pages: page.pages,
          meetings,
          totalCount: page.totalCount,
          elapsed: Duration.millis(elapsedMillis),
          ratePerSecond: rate,
          eta: phase === "done"
            ? Option.some(Duration.zero)
            : rate > 0
            ? Option.some(Duration.millis(Math.round((remaining / rate) * 1000)))
            : Option.none()
        }
        yield* deps.publish(p)
        if (options.onProgress !== undefined) yield* options.onProgress(p)
      })

    yield* network.stream({
      pageSize: options.pageSize ?? 25,
      concurrency: options.concurrency ?? 4,
      onProgress: (p) => Ref.set(latest, p),
      ...(options.timeout === undefined ? {} : { timeout: options.timeout })
    }).pipe(
      Stream.groupedWithin(options.batchSize ?? defaultBatchSize, options.batchWindow ?? "1 second"),
      Stream.mapEffect((chunk) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const page = yield* Ref.get(latest)
          const items: ReadonlyArray<Meeting.Meeting> = Chunk.toReadonlyArray(chunk)
          const n = yield* repo.upsertScanned(principal, items, { now, scanId, pages: page.pages, items: page.items })
          yield* Ref.update(stored, (s) => s + n)
          yield* CacheMetrics.syncedMeetings(Effect.succeed(n))
          yield* progress("scanning")
        })
      ),
      Stream.runDrain
    )

    // The scan reached the end. Reconcile: read-your-writes first, then vanished meetings.
    yield* progress("reconciling")
    const written = yield* repo.writtenNotSeen(principal, scanId)
    const notFound: Array<string> = []
    yield* Effect.forEach(written, (id) =>
      network.retrieve(id, options.timeout === undefined ? {} : { timeout: options.timeout }).pipe(
        Effect.flatMap((meeting) => Clock.currentTimeMillis.pipe(
          Effect.flatMap((now) => repo.upsert(principal, [meeting], { mode: "fetch", now, scanId }))
        )),
        Effect.catchTag("MeetingNotFound", () => Effect.sync(() => notFound.push(id)))
      ), { concurrency: 4, discard: true })
    if (notFound.length > 0) yield* repo.markGone(principal, notFound)
    const vanished = yield* repo.markUnseenGone(principal, scanId)
    const gone = [...notFound, ...vanished]
    yield* CacheMetrics.goneMeetings(Effect.succeed(gone.length))
    const finishedAt = yield* Clock.currentTimeMillis
    yield* repo.finishScan(principal, scanId, finishedAt)
    yield* repo.optimize.pipe(
      Effect.catchTag("CacheError", (e) => Effect.logDebug("planner statistics not refreshed", e.message))
    )
    yield* progress("done")
    const page = yield* Ref.get(latest)
    const result: SyncResult = {
      scanId,
      pages: page.pages,
      meetings: yield* Ref.get(stored),
      refetched: written.length,
      gone,
      resumedAfterInterrupted: interruptedBefore,
      duration: Duration.millis(finishedAt - startedAt)
    }
    yield* Effect.logInfo("sync complete", {
      pages: result.pages,
      meetings: result.meetings,
      refetched: result.refetched,
      gone: gone.length
    })
    return result
  }).pipe(Effect.withSpan("Sync.run"), Effect.annotateLogs({ service: "cache", operation: "sync" }))
