/**
 * The sync engine behind `MeetingsCache.sync` (see `Sync.ts` for what it guarantees): the scan
 * through core's stream, batched upserts that renew the lease, and the reconcile of a complete scan.
 * Everything it needs comes from the context.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { MeetingCodec, Meetings, MeetingsError } from "@lightfield-effect/core"
import { Chunk, Clock, Data, Duration, Effect, Option, Queue, Ref, Schedule, Stream, Take } from "effect"
import { CacheError } from "../CacheError.js"
import * as CacheMetrics from "../CacheMetrics.js"
import type { Principal } from "../Principal.js"
import type { SyncOptions, SyncProgress, SyncResult } from "../Sync.js"
import { checkOptions, defaultBatchSize } from "../Sync.js"
import * as LeaseOwner from "./leaseOwner.js"
import { MeetingRows } from "./meetingRows.js"
import { transaction } from "./sql.js"
import { SyncStateStore } from "./syncState.js"

/** Internal: another connection's scan took the lease over; this scan stops writing. */
class Superseded extends Data.TaggedError("Superseded")<{}> {}

/** Polls for the lease of another connection's scan (50 ms doubling, at most 1 s apart). */
const leaseSchedule = (wait: Duration.DurationInput) =>
  Schedule.exponential("50 millis").pipe(
    Schedule.modifyDelay((d) => Duration.min(d, Duration.seconds(1))),
    Schedule.upTo(wait)
  )

/** How long a sync waits for another connection's scan by default. */
export const defaultLeaseWait: Duration.DurationInput = "2 minutes"

/** Offered into the batch queue `window` after batch number `batch` started. */
class WindowEnded {
  constructor(readonly batch: number) {}
}

/**
 * Runs `stream` into `store` in batches of at most `size` elements, each stored once it is full or
 * `window` after its first element arrived, whichever comes first (what `Stream.groupedWithin` does,
 * without its per-element machinery). The scan runs ahead into a bounded queue of pages (about one
 * batch), so at most two batches are in memory while one is stored. The window is one sleeping fiber
 * per batch offering a `WindowEnded` into the same queue (stale ones are ignored; the leftovers of a
 * batch stored full go with its window), so waiting for a page is a plain `Queue.take`, not a take
 * raced against a timeout on every page.
 */
const inBatches = <A, E2, R>(
  size: number,
  window: Duration.DurationInput,
  store: (batch: ReadonlyArray<A>) => Effect.Effect<void, E2, R>
) =>
<E>(stream: Stream.Stream<A, E>): Effect.Effect<void, E | E2, R> =>
  Effect.scoped(Effect.gen(function*() {
    const windowDuration = Duration.decode(window)
    const queue = yield* Effect.acquireRelease(
      Queue.bounded<Take.Take<A, E> | WindowEnded>(Math.max(2, Math.ceil(size / 25))),
      Queue.shutdown
    )
    yield* Effect.forkScoped(Stream.runIntoQueue(stream, queue))
    let pending: Array<A> = []
    // Numbers the batches: a `WindowEnded` of an earlier batch (already stored full) is ignored.
    let batch = 0
    let ended = false
    const flush = (n: number) => {
      const taken = pending.length <= n ? pending : pending.slice(0, n)
      pending = pending.length <= n ? [] : pending.slice(n)
      return store(taken)
    }
    const absorb = (take: Take.Take<A, E>) =>
      Take.match(take, {
        onEnd: () => {
          ended = true
          return Effect.void
        },
        // What arrived before the failure is stored first (the next sync need not fetch it again).
        onFailure: (cause) => Effect.zipRight(pending.length > 0 ? flush(pending.length) : Effect.void, Effect.failCause(cause)),
        onSuccess: (chunk) => {
          const starts = pending.length === 0 && Chunk.isNonEmpty(chunk)
          for (const a of chunk) pending.push(a)
          if (!starts) return Effect.void
          const started = ++batch
          return Effect.forkScoped(Effect.delay(Queue.offer(queue, new WindowEnded(started)), windowDuration))
        }
      })
    while (!ended) {
      if (pending.length >= size) {
        yield* flush(size)
        continue
      }
      const next = yield* Queue.take(queue)
      if (next instanceof WindowEnded) {
        if (next.batch === batch && pending.length > 0) yield* flush(pending.length)
        continue
      }
      yield* absorb(next)
    }
    while (pending.length > 0) yield* flush(size)
  }))

/** One sync of `principal`; every progress event also goes to `publish`. */
export const run = (
  principal: Principal,
  options: SyncOptions,
  publish: (progress: SyncProgress) => Effect.Effect<void>
): Effect.Effect<
  SyncResult,
  MeetingsError.MeetingsError | CacheError,
  Meetings.Meetings | MeetingRows | SyncStateStore | SqlClient.SqlClient
> =>
  Effect.gen(function*() {
    const problem = checkOptions(options)
    if (Option.isSome(problem)) {
      const [param, message] = problem.value
      return yield* new MeetingsError.InvalidParams({ param, message, status: 400 })
    }
    const network = yield* Meetings.Meetings
    const rows = yield* MeetingRows
    const state = yield* SyncStateStore
    const sql = yield* SqlClient.SqlClient
    const scanId = crypto.randomUUID()
    const leaseMillis = Duration.toMillis(Duration.decode(options.lease ?? "30 seconds"))
    const leaseWait = options.leaseWait ?? defaultLeaseWait
    let finished = false
    // Registered before the lease is taken (releasing a lease we never got changes nothing), so an
    // interruption at any point gives it back: a scan that does not finish releases its lease.
    yield* Effect.addFinalizer(() =>
      finished
        ? Effect.void
        : state.release(principal, scanId).pipe(
          Effect.catchTag("CacheError", (e) => Effect.logWarning("cannot release the sync lease", e.message))
        )
    )
    // Take the principal's sync lease. Another connection's scan may hold it: wait for it, unless
    // its holder is a dead process of this host (then its lease is released at once).
    const owner = LeaseOwner.current()
    const tryStart = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      state.start(principal, scanId, now, now + leaseMillis, owner))
    yield* tryStart.pipe(
      Effect.flatMap((acquired) =>
        acquired ? Effect.succeed(true) : Effect.flatMap(state.leaseHolder(principal), (holder) =>
          Option.isSome(holder) && LeaseOwner.isDead(holder.value.owner)
            ? Effect.logWarning("the sync lease is held by a process that no longer exists; taking over", {
              owner: holder.value.owner
            }).pipe(Effect.zipRight(state.release(principal, holder.value.scanId)), Effect.zipRight(tryStart))
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
    const interruptedBefore = Option.match(yield* state.get(principal), {
      onNone: () => 0,
      onSome: (s) => s.interrupted
    })
    const startedAt = yield* Clock.currentTimeMillis
    if (interruptedBefore > 0) {
      yield* Effect.logDebug("resuming after an interrupted sync", { interrupted: interruptedBefore })
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
        yield* publish(p)
        if (options.onProgress !== undefined) yield* options.onProgress(p)
      })

    // The scan's meetings in wire form, validated by core and stored as they are (no `Meeting` is
    // built); a `Meetings` without `streamWire` has its meetings encoded.
    const streamWire = network.streamWire ??
      ((o: Meetings.StreamOptions) => Stream.mapChunks(network.stream(o), Chunk.map(MeetingCodec.encodeMeeting)))
    const scanned = yield* streamWire({
      pageSize: options.pageSize ?? 25,
      concurrency: options.concurrency ?? 4,
      onProgress: (p) =>
        Effect.zipRight(
          Ref.set(latest, p),
          p.complete ? Effect.void : Ref.update(leastTotal, (least) => Math.min(least, p.totalCount))
        ),
      ...(options.timeout === undefined ? {} : { timeout: options.timeout })
    }).pipe(
      inBatches(options.batchSize ?? defaultBatchSize, options.batchWindow ?? "1 second", (items) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const page = yield* Ref.get(latest)
          // One transaction: the progress update first (it takes the write lock and checks that the
          // scan is still current), then the batch, so rows are only ever stamped by the current scan.
          const written = yield* transaction(
            sql,
            "Cannot store synced meetings",
            Effect.flatMap(
              state.recordProgress(principal, scanId, { pages: page.pages, items: page.items, leaseUntil: now + leaseMillis }),
              (current) =>
                current
                  ? Effect.map(rows.upsertWire(principal, items, { mode: "scan", now, scanId }), Option.some)
                  : Effect.succeedNone
            )
          )
          if (Option.isNone(written)) return yield* new Superseded()
          const n = written.value
          yield* Ref.update(stored, (s) => s + n)
          yield* CacheMetrics.syncedMeetings(Effect.succeed(n))
          yield* progress("scanning")
        })
      ),
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
    const written = yield* rows.writtenNotSeen(principal, scanId)
    const notFound: Array<string> = []
    yield* Effect.forEach(written, (id) =>
      network.retrieve(id, options.timeout === undefined ? {} : { timeout: options.timeout }).pipe(
        Effect.flatMap((meeting) => Clock.currentTimeMillis.pipe(
          Effect.flatMap((now) => rows.upsert(principal, [meeting], { mode: "fetch", now, scanId }))
        )),
        Effect.catchTag("MeetingNotFound", () => Effect.sync(() => notFound.push(id)))
      ), { concurrency: 4, discard: true })
    // Mark gone and finish in one transaction, only if this is still the principal's current scan.
    const finishedAt = yield* Clock.currentTimeMillis
    // The write comes first: it takes the write lock, so the check cannot go stale.
    const reconciled = yield* transaction(
      sql,
      "Cannot reconcile the scan",
      Effect.flatMap(state.finish(principal, scanId, finishedAt), (current) =>
        current
          ? Effect.gen(function*() {
            yield* rows.markGone(principal, notFound)
            return Option.some(yield* rows.markVanished(principal, scanId))
          })
          : Effect.succeedNone)
    )
    if (Option.isNone(reconciled)) return yield* incomplete("superseded by another connection's scan")
    finished = true
    const gone = [...notFound, ...reconciled.value]
    yield* CacheMetrics.goneMeetings(Effect.succeed(gone.length))
    yield* rows.optimize.pipe(
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
    yield* Effect.logDebug("sync complete", {
      pages: result.pages,
      meetings: result.meetings,
      refetched: result.refetched,
      gone: gone.length
    })
    return result
  }).pipe(Effect.scoped, Effect.withSpan("MeetingsCache.sync"), Effect.annotateLogs({ service: "cache", operation: "sync" }))
