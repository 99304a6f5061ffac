/**
 * What the parts of one `MeetingsCache` share: its principal and checked options, the services it
 * took from the context, the locks and background fibers of the layer, and the few steps every part
 * uses (store a network answer, find a row by a possibly provisional id, run a sync).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Meetings, MeetingsError, Redaction } from "@lightfield-effect/core"
import type { Meeting } from "@lightfield-effect/core"
import { Clock, Duration, Effect, Either, FiberSet, Option, PubSub } from "effect"
import type { Scope } from "effect"
import type { CacheError } from "../CacheError.js"
import * as CacheMetrics from "../CacheMetrics.js"
import type { Principal } from "../Principal.js"
import type { ReadOptions, ReadPolicy } from "../ReadPolicy.js"
import type { SyncOptions, SyncProgress, SyncResult } from "../Sync.js"
import type { StoredMeeting } from "./meetingRow.js"
import { MeetingRows } from "./meetingRows.js"
import * as Check from "./options.js"
import { OutboxStore } from "./outboxStore.js"
import * as PgLease from "./pgLease.js"
import { isLocalId } from "./provisional.js"
import { ReadCountsStore } from "./readCounts.js"
import { transaction } from "./sql.js"
import * as SyncRun from "./syncRun.js"
import { SyncStateStore } from "./syncState.js"

/** The layer options a session runs with, already checked. */
export interface SessionConfig {
  readonly principal: Principal
  readonly policy: ReadPolicy
  readonly maxAge: Duration.Duration
  readonly offlineWrites: boolean
  readonly maxReplayAttempts: number
  readonly sync: Omit<SyncOptions, "onProgress">
}

/** The services a session takes from the context. */
export type Services = Meetings.Meetings | MeetingRows | OutboxStore | SyncStateStore | ReadCountsStore | SqlClient.SqlClient

/** `InvalidParams` for a bad per-call option. */
export const invalidParam = (param: string) => (message: string) =>
  new MeetingsError.InvalidParams({ param, message, status: 400 })

/** A per-call `timeout`, checked before anything is sent. */
export const checkTimeout = (timeout: Duration.DurationInput | undefined): Effect.Effect<void, MeetingsError.InvalidParams> =>
  timeout === undefined
    ? Effect.void
    : Either.match(Check.duration("timeout", timeout, { positive: true, finite: true }), {
      onLeft: (message) => Effect.fail(invalidParam("timeout")(message)),
      onRight: () => Effect.void
    })

/** A read's `networkTimeout`, checked like `timeout`. */
export const checkNetworkTimeout = (
  networkTimeout: Duration.DurationInput | undefined
): Either.Either<Duration.Duration | undefined, MeetingsError.InvalidParams> =>
  Either.mapLeft(
    Check.optional(networkTimeout, (t) => Check.duration("networkTimeout", t, { positive: true, finite: true })),
    invalidParam("networkTimeout")
  )

export const timeoutOf = (timeout: Duration.DurationInput | undefined): Meetings.CallOptions =>
  timeout === undefined ? {} : { timeout }

/** A failure of the network `Meetings` worth queueing a write for: the API (not a local cache) is unreachable. */
export const isOffline = (e: MeetingsError.MeetingsError): boolean =>
  MeetingsError.isUnreachable(e) && !(e._tag === "MeetingsUnavailable" && e.reason === "LocalCache")

export const make = (config: SessionConfig) =>
  Effect.gen(function*() {
    const network = yield* Meetings.Meetings
    const rows = yield* MeetingRows
    const outbox = yield* OutboxStore
    const syncState = yield* SyncStateStore
    const readCounts = yield* ReadCountsStore
    const sql = yield* SqlClient.SqlClient
    const { principal } = config
    const defaultMaxAge = Either.right(config.maxAge)
    const background = yield* FiberSet.make()
    const progressHub = yield* PubSub.sliding<SyncProgress>(256)
    const syncLock = yield* Effect.makeSemaphore(1)
    const writeLock = yield* Effect.makeSemaphore(1)

    /** A call's `maxAge` (or the default), checked like the layer's. */
    const maxAgeOf = (readOptions: ReadOptions): Either.Either<Duration.Duration, MeetingsError.InvalidParams> =>
      readOptions.maxAge === undefined
        ? defaultMaxAge
        : Either.mapLeft(
          Check.duration("maxAge", readOptions.maxAge, { positive: false, finite: false }),
          invalidParam("maxAge")
        )

    const updateOutboxGauges = Effect.all([outbox.depth(principal), outbox.deadCount(principal)]).pipe(
      Effect.flatMap(([depth, dead]) =>
        Effect.zipRight(CacheMetrics.outboxDepth(Effect.succeed(depth)), CacheMetrics.deadLetters(Effect.succeed(dead)))
      ),
      Effect.catchTag("CacheError", (e) => Effect.logWarning("cannot read outbox depth", e.message))
    )

    /**
     * Store server copies. A fetch while a scan runs counts as seen by that scan (it exists), so the
     * scan's end does not mark it gone: both in one transaction.
     */
    const upsertServed = (meetings: ReadonlyArray<Meeting.Meeting>, mode: "fetch" | "write") =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        if (mode === "write") return yield* rows.upsert(principal, meetings, { mode, now })
        return yield* transaction(
          sql,
          "Cannot store meetings",
          Effect.flatMap(syncState.runningScan(principal), (scanId) =>
            rows.upsert(principal, meetings, { mode, now, scanId: scanId ?? undefined }))
        )
      })

    /** Store a network answer; a local storage failure (a typed `CacheError`) must not turn a good answer into an error. */
    const store = (meetings: ReadonlyArray<Meeting.Meeting>, mode: "fetch" | "write") =>
      upsertServed(meetings, mode).pipe(
        Effect.catchTag("CacheError", (e) =>
          Effect.logWarning("cache write failed; answering from the network", { reason: e.reason, message: e.message }))
      )

    /** Find the stored row for an id, following a provisional id to its real id after replay. */
    const lookup = (id: string): Effect.Effect<{ readonly key: string; readonly stored: Option.Option<StoredMeeting> }, CacheError> =>
      Effect.gen(function*() {
        const direct = yield* rows.findById(principal, id)
        if (Option.isSome(direct) || !isLocalId(id)) return { key: id, stored: direct }
        const real = yield* outbox.resolve(principal, id)
        if (Option.isNone(real)) return { key: id, stored: direct }
        return { key: real.value, stored: yield* rows.findById(principal, real.value) }
      })

    /** Retrieve from the network and store the (redacted) answer; a 404 marks the row gone. */
    const fetchRemote = (id: string, callOptions: Meetings.CallOptions = {}) =>
      network.retrieve(id, callOptions).pipe(
        Effect.tapError((e) =>
          e._tag === "MeetingNotFound"
            ? rows.markGone(principal, [id]).pipe(
              Effect.catchTag("CacheError", (ce) => Effect.logWarning("cannot mark meeting gone", ce.message))
            )
            : Effect.void
        ),
        Effect.map((m) => Redaction.redact(m)),
        Effect.tap((meeting) => store([meeting], "fetch")),
        Effect.withSpan("MeetingsCache.fetch", { attributes: { id } })
      )

    const runSync = (options: SyncOptions): Effect.Effect<SyncResult, MeetingsError.MeetingsError | CacheError> => {
      const merged = { ...config.sync, ...options }
      const scan = SyncRun.run(principal, merged, (p) => Effect.asVoid(PubSub.publish(progressHub, p))).pipe(
        Effect.provideService(Meetings.Meetings, network),
        Effect.provideService(MeetingRows, rows),
        Effect.provideService(SyncStateStore, syncState),
        Effect.provideService(SqlClient.SqlClient, sql)
      )
      // On PostgreSQL, the lease across instances (`pgLease.ts`); elsewhere the scan as it is.
      return PgLease.exclusive(sql, syncState, principal, merged.leaseWait ?? SyncRun.defaultLeaseWait, scan)
    }
    /** One sync at a time per service. */
    const sync = (options: SyncOptions = {}) => syncLock.withPermits(1)(runSync(options))

    /** The last complete sync is older than `maxAge` (or there is none). */
    const mirrorStale = (maxAge: Duration.Duration) =>
      Effect.gen(function*() {
        const lastComplete = Option.flatMapNullable(yield* syncState.get(principal), (s) => s.lastCompleteAt)
        const now = yield* Clock.currentTimeMillis
        return Option.isNone(lastComplete) || now - lastComplete.value > Duration.toMillis(maxAge)
      })

    // Single-flight: at most one background sync in flight; callers meanwhile do not queue another.
    let backgroundSyncing = false
    const backgroundSync = (maxAge: Duration.Duration) =>
      Effect.suspend(() => {
        if (backgroundSyncing) return Effect.void
        backgroundSyncing = true
        return FiberSet.run(
          background,
          syncLock.withPermits(1)(
            // Another sync may have completed while we waited for the lock.
            Effect.flatMap(mirrorStale(maxAge), (stale) =>
              stale ? Effect.asVoid(runSync({})) : Effect.logDebug("mirror refreshed meanwhile; background sync skipped"))
          ).pipe(
            Effect.catchAll((e) => Effect.logDebug("background sync failed", { error: e._tag })),
            Effect.ensuring(Effect.sync(() => {
              backgroundSyncing = false
            })),
            Effect.withSpan("MeetingsCache.backgroundSync")
          )
        ).pipe(Effect.asVoid)
      })

    return {
      config,
      principal,
      network,
      rows,
      outbox,
      syncState,
      readCounts,
      sql,
      background,
      progressHub,
      writeLock,
      maxAgeOf,
      updateOutboxGauges,
      store,
      upsertServed,
      lookup,
      fetchRemote,
      sync,
      backgroundSync
    } as const
  })

/** One cache's shared parts (see `make`). */
export type Session = Effect.Effect.Success<ReturnType<typeof make>>

/** `make` needs these, plus a scope for its background fibers. */
export type SessionRequirements = Services | Scope.Scope
