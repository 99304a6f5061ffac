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
 * is still the principal's current scan, so a scan never marks gone what another scan saw.
 *
 * So a sync that completes leaves exactly the server's set (plus unconfirmed local writes) servable,
 * however many scans were interrupted before it.
 */
import type { Meeting, Meetings } from "@lightfield-effect/core"
import { MeetingParams, MeetingsError } from "@lightfield-effect/core"
import { Chunk, Clock, Data, Duration, Effect, Either, Option, Ref, Schedule, Stream } from "effect"
import { CacheError } from "./CacheError.js"
import * as CacheMetrics from "./CacheMetrics.js"
import * as LeaseOwner from "./internal/leaseOwner.js"
import * as Check from "./internal/options.js"
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
  /**
   * How long the sync lease lasts without renewal (default 30 seconds). It is renewed with every
   * stored batch; a scan that stalls longer may be taken over by another connection.
   */
  readonly lease?: Duration.DurationInput
  /** How long to wait for another connection's scan to release the lease (default 2 minutes). */
  readonly leaseWait?: Duration.DurationInput
}

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
}

export interface SyncDeps {
  readonly principal: Principal
  readonly repo: MeetingsRepo
  readonly network: Meetings.MeetingsShape
  readonly publish: (progress: SyncProgress) => Effect.Effect<void>
}

const defaultBatchSize = 500
/** Most meetings in one transaction. */
export const maxBatchSize = 10_000
/** Most pages requested at once. */
export const maxConcurrency = 64

/** What is wrong with the first invalid option, as `[option, message]`; `None` when all are valid. */
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

/** Internal: another connection's scan took the lease over; this scan stops writing. */
class Superseded extends Data.TaggedError("Superseded")<{}> {}

/** Polls for the lease of another connection's scan (50 ms doubling, at most 1 s apart). */
const leaseSchedule = (wait: Duration.DurationInput) =>
  Schedule.exponential("50 millis").pipe(
    Schedule.modifyDelay((d) => Duration.min(d, Duration.seconds(1))),
    Schedule.upTo(wait)
  )

export const run = (
  deps: SyncDeps,
  options: SyncOptions = {}
): Effect.Effect<SyncResult, MeetingsError.MeetingsError | CacheError> =>
  Effect.gen(function*() {
    const problem = checkOptions(options)
    if (Option.isSome(problem)) {
      const [param, message] = problem.value
      return yield* new MeetingsError.InvalidParams({ param, message, status: 400 })
    }
    const { network, principal, repo } = deps
    const scanId = crypto.randomUUID()
    const leaseMillis = Duration.toMillis(Duration.decode(options.lease ?? "30 seconds"))
    const leaseWait = options.leaseWait ?? "2 minutes"
    let finished = false
    // Registered before the lease is taken (releasing a lease we never got changes nothing), so an
    // interruption at any point gives it back: a scan that does not finish releases its lease.
    yield* Effect.addFinalizer(() =>
      finished
        ? Effect.void
        : repo.releaseScan(principal, scanId).pipe(
          Effect.catchTag("CacheError", (e) => Effect.logWarning("cannot release the sync lease", e.message))
        )
    )
    // Take the principal's sync lease. Another connection's scan may hold it: wait for it, unless
    // its holder is a dead process of this host (then its lease is released at once).
    const owner = LeaseOwner.current()
    const tryStart = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      repo.startScan(principal, scanId, now, now + leaseMillis, owner))
    yield* tryStart.pipe(
      Effect.flatMap((acquired) =>
        acquired ? Effect.succeed(true) : Effect.flatMap(repo.leaseHolder(principal), (holder) =>
          Option.isSome(holder) && LeaseOwner.isDead(holder.value.owner)
            ? Effect.logWarning("the sync lease is held by a process that no longer exists; taking over", {
              owner: holder.value.owner
            }).pipe(Effect.zipRight(repo.releaseScan(principal, holder.value.scanId)), Effect.zipRight(tryStart))
            : Effect.succeed(false))
      ),
      Effect.flatMap((acquired) => (acquired ? Effect.void : Effect.fail(new Superseded()))),
      Effect.retry({ schedule: leaseSchedule(leaseWait), while: (e) => e._tag === "Superseded" }),
      Effect.catchTag("Superseded", () =>
        new CacheError({
          reason: "Busy",
          message: `Another connection's sync of this principal still holds the lease after ${Duration.format(Duration.decode(leaseWait))}`
        }))
    )
    // Read after taking the lease: `startScan` counted an unfinished previous scan as interrupted
    // (one we waited for and that finished is not).
    const interruptedBefore = Option.match(yield* repo.syncState(principal), {
      onNone: () => 0,
      onSome: (s) => s.interrupted
    })
    const startedAt = yield* Clock.currentTimeMillis
    if (interruptedBefore > 0) {
      yield* Effect.logInfo("resuming after an interrupted sync", { interrupted: interruptedBefore })
    }

    const latest = yield* Ref.make<Meetings.StreamProgress>({ pages: 0, items: 0, totalCount: 0, complete: false })
    // The smallest `totalCount` any page reported: a scan that emitted fewer distinct meetings did
    // not cover the listing (a short page ended it early), whatever its closing event says.
    const leastTotal = yield* Ref.make(Number.POSITIVE_INFINITY)
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

    const scanned = yield* network.stream({
      pageSize: options.pageSize ?? 25,
      concurrency: options.concurrency ?? 4,
      onProgress: (p) =>
        Effect.zipRight(
          Ref.set(latest, p),
          p.complete ? Effect.void : Ref.update(leastTotal, (least) => Math.min(least, p.totalCount))
        ),
      ...(options.timeout === undefined ? {} : { timeout: options.timeout })
    }).pipe(
      Stream.groupedWithin(options.batchSize ?? defaultBatchSize, options.batchWindow ?? "1 second"),
      Stream.mapEffect((chunk) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const page = yield* Ref.get(latest)
          const items: ReadonlyArray<Meeting.Meeting> = Chunk.toReadonlyArray(chunk)
          const written = yield* repo.upsertScanned(principal, items, {
            now,
            scanId,
            pages: page.pages,
            items: page.items,
            leaseUntil: now + leaseMillis
          })
          if (Option.isNone(written)) return yield* new Superseded()
          const n = written.value
          yield* Ref.update(stored, (s) => s + n)
          yield* CacheMetrics.syncedMeetings(Effect.succeed(n))
          yield* progress("scanning")
        })
      ),
      Stream.runDrain,
      Effect.as(true),
      Effect.catchTag("Superseded", () =>
        Effect.as(Effect.logWarning("another connection's scan took over; this scan stops without reconciling"), false))
    )

    const incomplete = (why: string) =>
      Effect.gen(function*() {
        yield* progress("done")
        const page = yield* Ref.get(latest)
        const now = yield* Clock.currentTimeMillis
        const result: SyncResult = {
          scanId,
          complete: false,
          pages: page.pages,
          meetings: yield* Ref.get(stored),
          refetched: 0,
          gone: [],
          resumedAfterInterrupted: interruptedBefore,
          duration: Duration.millis(now - startedAt)
        }
        yield* Effect.logWarning(`sync incomplete (${why}); nothing marked gone, the next sync completes it`, {
          pages: result.pages,
          meetings: result.meetings
        })
        return result
      })

    if (!scanned) return yield* incomplete("superseded by another connection's scan")
    // Only a scan that covered the whole listing may reconcile: the stream's closing event says so
    // (core's `complete` requires covering `totalCount`), and the scan saw at least as many meetings
    // as every page said exist. Inserts during the scan raise later totals, never the least one;
    // deletions lower it.
    const closing = yield* Ref.get(latest)
    if (!closing.complete) return yield* incomplete("the listing was not fully covered")
    const least = yield* Ref.get(leastTotal)
    if (closing.items < least) {
      return yield* incomplete(`a short page: ${closing.items} meetings listed of ${least}`)
    }

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
    // Mark gone and finish in one transaction, only if this is still the principal's current scan.
    const finishedAt = yield* Clock.currentTimeMillis
    const reconciled = yield* repo.reconcileScan(principal, scanId, notFound, finishedAt)
    if (Option.isNone(reconciled)) return yield* incomplete("superseded by another connection's scan")
    finished = true
    const gone = [...notFound, ...reconciled.value]
    yield* CacheMetrics.goneMeetings(Effect.succeed(gone.length))
    yield* repo.optimize.pipe(
      Effect.catchTag("CacheError", (e) => Effect.logDebug("planner statistics not refreshed", e.message))
    )
    yield* progress("done")
    const page = yield* Ref.get(latest)
    const result: SyncResult = {
      scanId,
      complete: true,
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
  }).pipe(Effect.scoped, Effect.withSpan("Sync.run"), Effect.annotateLogs({ service: "cache", operation: "sync" }))
