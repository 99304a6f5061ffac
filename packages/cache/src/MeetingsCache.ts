/**
 * The offline-first cache of Lightfield meetings: a `MeetingsCache` service with rich methods
 * (`get` with a read policy, `query`, `sync`, `refresh`, write-through `create`/`update` with an
 * outbox, `replay`, `rebuild`, `stats`), and `layerMeetings`, which provides core's `Meetings` tag on
 * top of it so the cache drops in wherever the HTTP client was used.
 *
 * Requirements: the network `Meetings` (core's `MeetingsClient.layer`) and a `SqlClient`
 * (`Database.layer`).
 */
import { SqlClient } from "@effect/sql"
import { Meeting, MeetingParams, Meetings, MeetingsClient, MeetingsError, ParamsProblem } from "@lightfield-effect/core"
import {
  Chunk,
  Clock,
  Config,
  ConfigError,
  Context,
  DateTime,
  Duration,
  Effect,
  Either,
  FiberSet,
  Layer,
  Metric,
  Option,
  PubSub,
  Redacted,
  Schedule,
  Schema,
  Stream
} from "effect"
import type { ParseResult, Queue, Scope } from "effect"
import { CacheError, CacheMiss } from "./CacheError.js"
import * as CacheMetrics from "./CacheMetrics.js"
import type { MirrorStats, ReadCounts, SyncState } from "./MeetingsRepo.js"
import * as Check from "./internal/options.js"
import * as Sql from "./internal/sql.js"
import { MeetingsRepo, redact } from "./MeetingsRepo.js"
import type { MeetingQuery, StoredMeeting } from "./MeetingsRepo.js"
import type { OutboxEntry, OutboxError } from "./Outbox.js"
import { applyUpdate, describeError, isLocalId, localIdPrefix, Outbox, provisionalMeeting } from "./Outbox.js"
import * as Principal from "./Principal.js"
import type { Cached, ReadOptions, ReadPolicy } from "./ReadPolicy.js"
import { fromCache, fromLocalWrite, fromNetwork } from "./ReadPolicy.js"
import * as Sync from "./Sync.js"

type MeetingT = Meeting.Meeting

// ---------------------------------------------------------------------------------------------
// Options and shape
// ---------------------------------------------------------------------------------------------

/** Whose rows these are: an API key (fingerprinted, never stored) or an explicit principal. */
export type PrincipalSource =
  | { readonly apiKey: string | Redacted.Redacted<string>; readonly principal?: undefined }
  | { readonly principal: string; readonly apiKey?: undefined }

export type MeetingsCacheOptions = PrincipalSource & {
  /** Default read policy (default `CacheFirst`). */
  readonly policy?: ReadPolicy
  /** Age above which a cached copy is stale (default 5 minutes). */
  readonly maxAge?: Duration.DurationInput
  /** Queue creates/updates in the outbox when the network is unreachable (default true). */
  readonly offlineWrites?: boolean
  /** Transient non-network failures (409, 401) an outbox entry may meet before it is dead (default 5). */
  readonly maxReplayAttempts?: number
  /**
   * Replay the outbox in the background this often while the layer lives (only when it is not
   * empty). Default: off — call `replay` yourself.
   */
  readonly autoReplay?: Duration.DurationInput
  /** Defaults for `sync`. */
  readonly sync?: Omit<Sync.SyncOptions, "onProgress">
}

export interface CacheWriteOptions extends Meetings.WriteOptions {
  /** Do not try the network: queue the write in the outbox straight away. */
  readonly offline?: boolean
}

export interface RefreshResult {
  readonly refreshed: ReadonlyArray<string>
  /** Ids that answered 404 and are now marked gone. */
  readonly gone: ReadonlyArray<string>
}

export interface ReplayResult {
  /** Entries sent and confirmed. */
  readonly replayed: number
  /** Entries that became dead letters during this replay. */
  readonly dead: number
  /** Entries still waiting. */
  readonly remaining: number
  /** Provisional ids resolved by this replay. */
  readonly resolved: ReadonlyArray<{ readonly localId: string; readonly id: string }>
  /** Why the replay stopped early (network unreachable…), if it did. */
  readonly stoppedBy: Option.Option<OutboxError>
}

export interface CacheStats extends MirrorStats {
  readonly principal: Principal.Principal
  /** Reads of this principal over the file's life (`get` calls), with the share answered from SQLite. */
  readonly reads: ReadCounts & { readonly hitRatio: Option.Option<number> }
  readonly outbox: number
  readonly deadLetters: number
  readonly lastSync: Option.Option<SyncState>
}

export interface MeetingsCacheShape {
  readonly principal: Principal.Principal
  /** One meeting under a read policy. Accepts provisional `local_…` ids (before and after replay). */
  readonly get: (
    id: string,
    options?: ReadOptions
  ) => Effect.Effect<Cached<MeetingT>, MeetingsError.MeetingsError | CacheError | CacheMiss>
  /** Local query (indexes + FTS5); never touches the network. */
  readonly query: (query?: MeetingQuery) => Effect.Effect<ReadonlyArray<Cached<MeetingT>>, CacheError>
  readonly count: (query?: MeetingQuery) => Effect.Effect<number, CacheError>
  /** A page in the API's order, under a read policy (what `Meetings.list` answers). */
  readonly list: (
    params?: MeetingParams.ListMeetingsParams,
    options?: ReadOptions
  ) => Effect.Effect<Meeting.MeetingListPage, MeetingsError.MeetingsError | CacheError>
  /**
   * `list` with provenance: where the page came from (`network`, or `cache` when served from
   * SQLite), when its oldest meeting was fetched, how old that is, whether it is stale under the
   * policy's `maxAge`, and whether it holds locally written (pending) meetings.
   */
  readonly listCached: (
    params?: MeetingParams.ListMeetingsParams,
    options?: ReadOptions
  ) => Effect.Effect<Cached<Meeting.MeetingListPage>, MeetingsError.MeetingsError | CacheError>
  /** Every cached meeting in the API's order, streamed from SQLite (keyset pages, flat memory). */
  readonly streamLocal: Stream.Stream<MeetingT, CacheError>
  /** Full sync (one at a time; see `Sync`). */
  readonly sync: (options?: Sync.SyncOptions) => Effect.Effect<Sync.SyncResult, MeetingsError.MeetingsError | CacheError>
  /** Progress events of every sync run by this service (subscribes when the stream starts). */
  readonly progress: Stream.Stream<Sync.SyncProgress>
  /** Subscribe to progress events now (for the life of the scope), then read them from the queue. */
  readonly subscribeProgress: Effect.Effect<Queue.Dequeue<Sync.SyncProgress>, never, Scope.Scope>
  readonly syncState: Effect.Effect<Option.Option<SyncState>, CacheError>
  /** Re-retrieve just these ids (404 → gone). */
  readonly refresh: (
    ids: Iterable<string>,
    options?: Meetings.CallOptions
  ) => Effect.Effect<RefreshResult, MeetingsError.MeetingsError | CacheError>
  /** Write-through create; queued in the outbox (provisional `local_…` id) when unreachable. */
  readonly create: (
    params: MeetingParams.CreateMeetingParams,
    options?: CacheWriteOptions
  ) => Effect.Effect<Cached<MeetingT>, MeetingsError.MeetingsError | CacheError>
  /** Write-through update; queued when unreachable (needs a cached copy to show the pending version). */
  readonly update: (
    id: string,
    params: MeetingParams.UpdateMeetingParams,
    options?: CacheWriteOptions
  ) => Effect.Effect<Cached<MeetingT>, MeetingsError.MeetingsError | CacheError | CacheMiss>
  /** Send the outbox in order. Stops at the first unreachable answer; permanent failures become dead letters. */
  readonly replay: Effect.Effect<ReplayResult, CacheError>
  readonly outbox: Effect.Effect<ReadonlyArray<OutboxEntry>, CacheError>
  readonly deadLetters: Effect.Effect<ReadonlyArray<OutboxEntry>, CacheError>
  readonly retryDeadLetter: (seq: number) => Effect.Effect<void, CacheError>
  readonly discardDeadLetter: (seq: number) => Effect.Effect<void, CacheError>
  /** The real id of a provisional id once its create was replayed (the id itself for real ids). */
  readonly resolveId: (id: string) => Effect.Effect<Option.Option<string>, CacheError>
  /** Drop the mirror (meetings, attendees, sync state) and keep the outbox; pending creates stay visible. */
  readonly rebuild: Effect.Effect<void, CacheError>
  readonly stats: Effect.Effect<CacheStats, CacheError>
}

export class MeetingsCache extends Context.Tag("@lightfield-effect/cache/MeetingsCache")<
  MeetingsCache,
  MeetingsCacheShape
>() {}

// ---------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------

const toInvalidParams = (error: { readonly issue: ParseResult.ParseIssue }) => {
  const problem = ParamsProblem.fromIssue(error.issue)
  return new MeetingsError.InvalidParams({ param: problem.param, message: problem.message, status: problem.status })
}

/** How long after its first send an entry is still safe to resend (keys live 24 h; 1 h margin). */
const keySafeLifetimeMillis = 23 * 3_600_000

const decodeCreate = Schema.decodeUnknown(MeetingParams.CreateMeetingParams, MeetingParams.strictParse)
const decodeUpdate = Schema.decodeUnknown(MeetingParams.UpdateMeetingParams, MeetingParams.strictParse)
const decodeList = Schema.decodeUnknown(MeetingParams.ListMeetingsParams, MeetingParams.strictParse)

/** The caller's idempotency key, checked as core's client would, before anything is stored or sent. */
const checkIdempotencyKey = (key: string | undefined): Effect.Effect<string, MeetingsError.InvalidParams> => {
  if (key === undefined) return Effect.sync(() => crypto.randomUUID())
  if (key.length === 0) {
    return Effect.fail(
      new MeetingsError.InvalidParams({ param: "Idempotency-Key", message: "Idempotency-Key must not be empty", status: 400 })
    )
  }
  if (key.length > MeetingsClient.MaxIdempotencyKeyLength) {
    return Effect.fail(
      new MeetingsError.InvalidParams({
        param: "Idempotency-Key",
        message: `Idempotency-Key must be at most ${MeetingsClient.MaxIdempotencyKeyLength} characters`,
        status: 400
      })
    )
  }
  return Effect.succeed(key)
}

/** Failures that may pass if the same entry is tried again later (the API is reachable). */
const isRetryableLater = (e: MeetingsError.MeetingsError): boolean =>
  e._tag === "IdempotencyConflict" || e._tag === "Conflict" || e._tag === "Unauthorized"

const principalOf = (options: PrincipalSource): Effect.Effect<Principal.Principal, CacheError> =>
  options.principal !== undefined
    ? Either.match(Principal.validate(options.principal), {
      onLeft: (message) => Effect.fail(new CacheError({ reason: "Config", message: `Invalid principal: ${message}` })),
      onRight: Effect.succeed
    })
    : Effect.sync(() => Principal.fromApiKey(options.apiKey))

const invalidParam = (param: string) => (message: string) =>
  new MeetingsError.InvalidParams({ param, message, status: 400 })

/** A per-call `timeout`, checked before anything is sent. */
const checkTimeout = (timeout: Duration.DurationInput | undefined): Effect.Effect<void, MeetingsError.InvalidParams> =>
  timeout === undefined
    ? Effect.void
    : Either.match(Check.duration("timeout", timeout, { positive: true, finite: true }), {
      onLeft: (message) => Effect.fail(invalidParam("timeout")(message)),
      onRight: () => Effect.void
    })

/** The layer's options, checked when the layer is built: a bad one is `CacheError{reason: "Config"}`. */
const checkLayerOptions = (options: MeetingsCacheOptions) =>
  Effect.gen(function*() {
    const config = (message: string) => new CacheError({ reason: "Config", message: `Invalid cache option: ${message}` })
    const maxAge = yield* Either.mapLeft(
      Check.duration("maxAge", options.maxAge ?? "5 minutes", { positive: false, finite: false }),
      config
    )
    const maxReplayAttempts = yield* Either.mapLeft(
      Check.integer("maxReplayAttempts", options.maxReplayAttempts ?? 5, { min: 1 }),
      config
    )
    const autoReplay = yield* Either.mapLeft(
      Check.optional(options.autoReplay, (d) => Check.duration("autoReplay", d, { positive: true, finite: true })),
      config
    )
    const syncProblem = Sync.checkOptions(options.sync ?? {})
    if (Option.isSome(syncProblem)) return yield* config(`sync.${syncProblem.value[1]}`)
    return { maxAge, maxReplayAttempts, autoReplay }
  })

export const make = (
  options: MeetingsCacheOptions
): Effect.Effect<
  MeetingsCacheShape,
  CacheError,
  Meetings.Meetings | MeetingsRepo | Outbox | SqlClient.SqlClient | Scope.Scope
> =>
  Effect.gen(function*() {
    const network = yield* Meetings.Meetings
    const repo = yield* MeetingsRepo
    const outboxStore = yield* Outbox
    const sql = yield* SqlClient.SqlClient
    const principal = yield* principalOf(options)
    const checked = yield* checkLayerOptions(options)
    const defaultPolicy: ReadPolicy = options.policy ?? "CacheFirst"
    const defaultMaxAge = checked.maxAge
    const offlineWrites = options.offlineWrites ?? true
    const maxReplayAttempts = checked.maxReplayAttempts
    const defaultMaxAgeRight = Either.right(defaultMaxAge)
    /** A call's `maxAge` (or the default), checked like the layer's. */
    const maxAgeOf = (readOptions: ReadOptions): Either.Either<Duration.Duration, MeetingsError.InvalidParams> =>
      readOptions.maxAge === undefined
        ? defaultMaxAgeRight
        : Either.mapLeft(
          Check.duration("maxAge", readOptions.maxAge, { positive: false, finite: false }),
          invalidParam("maxAge")
        )

    const background = yield* FiberSet.make()
    const revalidating = new Set<string>()
    const progressHub = yield* PubSub.sliding<Sync.SyncProgress>(256)
    const syncLock = yield* Effect.makeSemaphore(1)
    const writeLock = yield* Effect.makeSemaphore(1)

    const timeoutOf = (timeout: Duration.DurationInput | undefined): Meetings.CallOptions =>
      timeout === undefined ? {} : { timeout }

    const updateOutboxGauges = Effect.all([outboxStore.depth(principal), outboxStore.deadCount(principal)]).pipe(
      Effect.flatMap(([depth, dead]) =>
        Effect.zipRight(CacheMetrics.outboxDepth(Effect.succeed(depth)), CacheMetrics.deadLetters(Effect.succeed(dead)))
      ),
      Effect.catchTag("CacheError", (e) => Effect.logWarning("cannot read outbox depth", e.message))
    )

    /** Store a network answer; a local storage failure must not turn a good answer into an error. */
    const store = (meetings: ReadonlyArray<MeetingT>, mode: "fetch" | "write") =>
      Clock.currentTimeMillis.pipe(
        Effect.flatMap((now) => repo.upsert(principal, meetings, { mode, now })),
        Effect.catchTag("CacheError", (e) =>
          Effect.logWarning("cache write failed; answering from the network", { reason: e.reason, message: e.message }))
      )

    /** Find the stored row for an id, following a provisional id to its real id after replay. */
    const lookup = (id: string) =>
      Effect.gen(function*() {
        const direct = yield* repo.findById(principal, id)
        if (Option.isSome(direct) || !isLocalId(id)) return { key: id, stored: direct }
        const real = yield* outboxStore.resolve(principal, id)
        if (Option.isNone(real)) return { key: id, stored: direct }
        return { key: real.value, stored: yield* repo.findById(principal, real.value) }
      })

    const fetchRemote = (id: string, timeout: Duration.DurationInput | undefined) =>
      network.retrieve(id, timeoutOf(timeout)).pipe(
        Effect.tapError((e) =>
          e._tag === "MeetingNotFound"
            ? repo.markGone(principal, [id]).pipe(
              Effect.catchTag("CacheError", (ce) => Effect.logWarning("cannot mark meeting gone", ce.message))
            )
            : Effect.void
        ),
        Effect.map(redact),
        Effect.tap((meeting) => store([meeting], "fetch")),
        Effect.flatMap((meeting) => Effect.map(Clock.currentTimeMillis, (now) => fromNetwork(meeting, now))),
        Effect.withSpan("MeetingsCache.fetch", { attributes: { id } })
      )

    const revalidate = (id: string) =>
      Effect.suspend(() => {
        if (revalidating.has(id)) return Effect.void
        revalidating.add(id)
        return FiberSet.run(
          background,
          fetchRemote(id, undefined).pipe(
            Effect.catchAll((e) => Effect.logDebug("background revalidation failed", { id, error: e._tag })),
            Effect.ensuring(Effect.sync(() => revalidating.delete(id))),
            Effect.withSpan("MeetingsCache.revalidate")
          )
        ).pipe(Effect.zipRight(Metric.increment(CacheMetrics.revalidations)))
      })

    // Metrics tagged per policy, built once (tagging allocates).
    const perPolicy = <T>(make: (policy: ReadPolicy) => T): Record<ReadPolicy, T> => ({
      CacheFirst: make("CacheFirst"),
      StaleWhileRevalidate: make("StaleWhileRevalidate"),
      NetworkFirst: make("NetworkFirst"),
      CacheOnly: make("CacheOnly")
    })
    // Counted here as well as in the metrics, and persisted when the service closes (and on `stats`).
    const reads = { hits: 0, misses: 0, stale: 0 }
    const flushReads = Effect.suspend(() => {
      const counts = { ...reads }
      reads.hits = 0
      reads.misses = 0
      reads.stale = 0
      return repo.addReadStats(principal, counts)
    })
    yield* Effect.addFinalizer(() =>
      flushReads.pipe(Effect.catchTag("CacheError", (e) => Effect.logWarning("read statistics not saved", e.message)))
    )
    const hitsBy = perPolicy((p) => Metric.tagged(CacheMetrics.hits, "policy", p))
    const missesBy = perPolicy((p) => Metric.tagged(CacheMetrics.misses, "policy", p))
    const staleBy = perPolicy((p) => Metric.tagged(CacheMetrics.staleAnswers, "policy", p))
    const fallbacksBy = perPolicy((p) => Metric.tagged(CacheMetrics.fallbacks, "policy", p))

    // No span on `get` itself: a cache hit must stay within a few microseconds. The network path
    // (`MeetingsCache.fetch`) and the SQL read (`MeetingsRepo.findById`) have spans.
    const get = (
      id: string,
      readOptions: ReadOptions = {}
    ): Effect.Effect<Cached<MeetingT>, MeetingsError.MeetingsError | CacheError | CacheMiss> => {
      const policy = readOptions.policy ?? defaultPolicy
      const checkedMaxAge = maxAgeOf(readOptions)
      if (Either.isLeft(checkedMaxAge)) return Effect.fail(checkedMaxAge.left)
      const maxAge = checkedMaxAge.right
      if (readOptions.timeout !== undefined) {
        return Effect.zipRight(checkTimeout(readOptions.timeout), getSlow(id, readOptions, maxAge))
      }
      // Fast path (no generator, no allocation beyond the answer): a cache hit of a real id.
      if (isLocalId(id) || policy === "NetworkFirst") return getSlow(id, readOptions, maxAge)
      return Effect.flatMap(repo.findById(principal, id), (stored) => {
        if (Option.isNone(stored) || stored.value.gone) return getSlow(id, readOptions, maxAge)
        const s = stored.value
        return Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const cached = fromCache(s.meeting, s, now, maxAge)
          reads.hits++
          if (cached.stale) reads.stale++
          const counted = cached.stale
            ? Effect.zipRight(Metric.increment(hitsBy[policy]), Metric.increment(staleBy[policy]))
            : Metric.increment(hitsBy[policy])
          const revalidation = policy === "StaleWhileRevalidate" && cached.stale && !cached.pending
            ? revalidate(id)
            : Effect.void
          return Effect.as(Effect.zipRight(counted, revalidation), cached)
        })
      })
    }

    const getSlow = (id: string, readOptions: ReadOptions, maxAge: Duration.Duration) => Effect.gen(function*() {
      const policy = readOptions.policy ?? defaultPolicy
      const { key, stored } = yield* lookup(id)
      const servable = Option.filter(stored, (s) => !s.gone)
      const now = yield* Clock.currentTimeMillis
      const hit = (s: StoredMeeting) =>
        Effect.gen(function*() {
          const cached = fromCache(s.meeting, s, now, maxAge)
          reads.hits++
          yield* Metric.increment(hitsBy[policy])
          if (cached.stale) {
            reads.stale++
            yield* Metric.increment(staleBy[policy])
          }
          return cached
        })
      const miss = Effect.zipRight(Effect.sync(() => reads.misses++), Metric.increment(missesBy[policy]))
      // Built only when needed: constructing an error captures a stack trace.
      const cacheMiss = () =>
        new CacheMiss({
          id,
          message: isLocalId(key)
            ? `Provisional meeting ${id} is not in the cache`
            : `Meeting ${id} is not in the cache (policy ${policy})`
        })
      // A provisional id the server has never seen: only the cache can answer.
      const localOnly = isLocalId(key)

      switch (policy) {
        case "CacheOnly": {
          if (Option.isSome(servable)) return yield* hit(servable.value)
          yield* miss
          return yield* cacheMiss()
        }
        case "CacheFirst":
        case "StaleWhileRevalidate": {
          if (Option.isSome(servable)) {
            const cached = yield* hit(servable.value)
            if (policy === "StaleWhileRevalidate" && cached.stale && !cached.pending && !localOnly) {
              yield* revalidate(key)
            }
            return cached
          }
          yield* miss
          if (localOnly) return yield* cacheMiss()
          return yield* fetchRemote(key, readOptions.timeout)
        }
        case "NetworkFirst": {
          // A local write the server has not confirmed yet is newer than anything the network has.
          if (Option.isSome(servable) && (servable.value.pending || localOnly)) return yield* hit(servable.value)
          if (localOnly) {
            yield* miss
            return yield* cacheMiss()
          }
          const remote = yield* Effect.either(fetchRemote(key, readOptions.timeout))
          if (Either.isRight(remote)) return remote.right
          const error = remote.left
          if (MeetingsError.isUnreachable(error) && Option.isSome(servable)) {
            yield* Metric.increment(fallbacksBy[policy])
            yield* Effect.logDebug("network unreachable; answering from the cache", { id, error: error._tag })
            return yield* hit(servable.value)
          }
          if (Option.isNone(servable)) yield* miss
          return yield* error
        }
      }
    })

    const query = (q: MeetingQuery = {}) =>
      Effect.gen(function*() {
        const rows = yield* repo.query(principal, q)
        const now = yield* Clock.currentTimeMillis
        return rows.map((s) => fromCache(s.meeting, s, now, defaultMaxAge))
      }).pipe(Effect.withSpan("MeetingsCache.query"))

    const count = (q: MeetingQuery = {}) => repo.count(principal, q)

    const syncState = repo.syncState(principal)

    const runSync = (syncOptions: Sync.SyncOptions) =>
      Sync.run({ principal, repo, network, publish: (p) => Effect.asVoid(PubSub.publish(progressHub, p)) }, {
        ...options.sync,
        ...syncOptions
      })

    const sync = (syncOptions: Sync.SyncOptions = {}) =>
      syncLock.withPermits(1)(runSync(syncOptions)).pipe(Effect.withSpan("MeetingsCache.sync"))

    /** The last complete sync is older than `maxAge` (or there is none). */
    const mirrorStale = (maxAge: Duration.Duration) =>
      Effect.gen(function*() {
        const state = yield* repo.syncState(principal)
        const lastComplete = Option.flatMapNullable(state, (s) => s.lastCompleteAt)
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

    const localPage = (limit: number, offset: number, maxAge: Duration.Duration) =>
      Effect.gen(function*() {
        const rows = yield* repo.page(principal, limit, offset)
        const total = yield* repo.count(principal, {})
        const page = new Meeting.MeetingListPage({ data: rows.map((r) => r.meeting), object: "list", totalCount: total }, true)
        const now = yield* Clock.currentTimeMillis
        // The page is as old as its oldest meeting; an empty page as old as the last complete sync.
        const lastComplete = Option.flatMapNullable(yield* repo.syncState(principal), (s) => s.lastCompleteAt)
        const fetchedAt = rows.length === 0
          ? Option.getOrElse(lastComplete, () => now)
          : Math.min(...rows.map((r) => r.fetchedAt))
        return fromCache(page, { fetchedAt, pending: rows.some((r) => r.pending) }, now, maxAge)
      })

    const listCached = Effect.fn("MeetingsCache.listCached")(function*(
      input: MeetingParams.ListMeetingsParams = {},
      readOptions: ReadOptions = {}
    ) {
      // Validated under every policy: a bad limit must not become `LIMIT -1` over the whole mirror.
      const params = yield* Effect.mapError(decodeList(input), toInvalidParams)
      const policy = readOptions.policy ?? defaultPolicy
      const maxAge = yield* maxAgeOf(readOptions)
      yield* checkTimeout(readOptions.timeout)
      const limit = params.limit ?? MeetingParams.MaxLimit
      const offset = params.offset ?? 0
      const remote = network.list(params, timeoutOf(readOptions.timeout)).pipe(
        Effect.map((page) => new Meeting.MeetingListPage({ ...page, data: page.data.map(redact) }, true)),
        Effect.tap((page) => store(page.data, "fetch")),
        Effect.flatMap((page) => Effect.map(Clock.currentTimeMillis, (now) => fromNetwork(page, now)))
      )
      switch (policy) {
        case "CacheOnly":
          return yield* localPage(limit, offset, maxAge)
        case "NetworkFirst":
          return yield* remote.pipe(
            Effect.catchIf(MeetingsError.isUnreachable, () =>
              Metric.increment(fallbacksBy[policy]).pipe(
                Effect.zipRight(localPage(limit, offset, maxAge))
              ))
          )
        case "CacheFirst":
        case "StaleWhileRevalidate": {
          const state = yield* repo.syncState(principal)
          const lastComplete = Option.flatMapNullable(state, (s) => s.lastCompleteAt)
          if (Option.isNone(lastComplete)) return yield* remote
          if (policy === "StaleWhileRevalidate") {
            const now = yield* Clock.currentTimeMillis
            if (now - lastComplete.value > Duration.toMillis(maxAge)) yield* backgroundSync(maxAge)
          }
          return yield* localPage(limit, offset, maxAge)
        }
      }
    })

    const list = (params?: MeetingParams.ListMeetingsParams, readOptions?: ReadOptions) =>
      Effect.map(listCached(params, readOptions), (cached) => cached.value)

    const streamLocal: Stream.Stream<MeetingT, CacheError> = Stream.paginateChunkEffect(
      null as { readonly createdAt: number; readonly id: string } | null,
      (after) =>
        repo.pageAfter(principal, after, 500).pipe(
          Effect.map(({ meetings, next }) => [Chunk.fromIterable(meetings.map((r) => r.meeting)), next] as const)
        )
    )

    const refresh = (ids: Iterable<string>, callOptions: Meetings.CallOptions = {}) =>
      Effect.gen(function*() {
        yield* checkTimeout(callOptions.timeout)
        const gone: Array<string> = []
        const fetched: Array<MeetingT> = []
        const keys = yield* Effect.forEach(Array.from(new Set(ids)), (id) =>
          Effect.map(lookup(id), ({ key }) => key))
        yield* Effect.forEach(keys.filter((k) => !isLocalId(k)), (id) =>
          network.retrieve(id, callOptions).pipe(
            Effect.map((m) => {
              fetched.push(redact(m))
            }),
            Effect.catchTag("MeetingNotFound", () => Effect.sync(() => gone.push(id)))
          ), { concurrency: 4, discard: true })
        const now = yield* Clock.currentTimeMillis
        yield* repo.upsert(principal, fetched, { mode: "fetch", now })
        yield* repo.markGone(principal, gone)
        if (gone.length > 0) yield* Metric.incrementBy(CacheMetrics.goneMeetings, gone.length)
        return { refreshed: fetched.map((m) => m.id), gone } satisfies RefreshResult
      }).pipe(Effect.withSpan("MeetingsCache.refresh"))

    // ----- outbox -----

    const inTransaction = <A, E, R>(message: string, self: Effect.Effect<A, E, R>) =>
      Sql.transaction(sql, message, self)

    /**
     * One replay: the pending entries in `seq` order, in passes. An entry is completed or buried
     * (done), deferred to a later replay (a retryable failure: it blocks its meeting, so later
     * writes to it keep their order), or waits for a dependency queued after it (an update on a
     * provisional id whose create has not run yet: tried again in the next pass). Independent entries
     * never wait for a stuck one. An unreachable network stops the replay at once.
     */
    const replayRun: Effect.Effect<ReplayResult & { readonly networkDown: boolean }, CacheError> = Effect.gen(function*() {
      const entries = yield* outboxStore.pending(principal)
      const deadLocal = new Set(
        (yield* outboxStore.deadLetters(principal)).flatMap((e) => e.op === "create" && e.localId !== null ? [e.localId] : [])
      )
      const pendingCreates = new Set(entries.flatMap((e) => (e.op === "create" && e.localId !== null ? [e.localId] : [])))
      let replayed = 0
      let dead = 0
      let stoppedBy: Option.Option<OutboxError> = Option.none()
      let networkDown = false
      const resolved: Array<{ localId: string; id: string }> = []
      const done = new Set<number>()
      // Meetings (real or provisional ids) with an entry left for a later replay.
      const deferred = new Set<string>()

      const bury = (entry: OutboxEntry, error: OutboxError) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          yield* outboxStore.markDead(principal, entry.seq, error, now)
          dead++
          done.add(entry.seq)
          yield* Effect.logWarning("outbox entry is a dead letter", { seq: entry.seq, op: entry.op, error })
          if (entry.op === "create" && entry.localId !== null) {
            deadLocal.add(entry.localId)
            pendingCreates.delete(entry.localId)
            // The provisional meeting will never exist: stop serving it.
            yield* repo.markGone(principal, [entry.localId])
          } else if (entry.op === "update" && !isLocalId(entry.targetId)) {
            // The local edit was refused: show the server's version again.
            yield* repo.clearPending(principal, entry.targetId)
            yield* fetchRemote(entry.targetId, undefined).pipe(Effect.catchAll(() => Effect.void))
          }
        })

      const defer = (entry: OutboxEntry, target: string, error: OutboxError) => {
        done.add(entry.seq)
        deferred.add(target)
        if (Option.isNone(stoppedBy)) stoppedBy = Option.some(error)
      }

      /** Decide what a failed attempt means; returns true when the replay must stop. */
      const failed = (entry: OutboxEntry, target: string, error: MeetingsError.MeetingsError) =>
        Effect.gen(function*() {
          const described = describeError(error)
          // An outage, or the server still working on an earlier attempt with this key: the write may
          // yet succeed, so it is never final and does not use up the entry's attempts.
          if (MeetingsError.isUnreachable(error) || error._tag === "IdempotencyConflict") {
            const now = yield* Clock.currentTimeMillis
            yield* outboxStore.recordAttempt(principal, entry.seq, described, now, false)
            stoppedBy = Option.some(described)
            networkDown = MeetingsError.isUnreachable(error)
            return networkDown
          }
          if (isRetryableLater(error) && entry.attempts + 1 < maxReplayAttempts) {
            const now = yield* Clock.currentTimeMillis
            yield* outboxStore.recordAttempt(principal, entry.seq, described, now)
            defer(entry, target, described)
            return false
          }
          yield* bury({ ...entry, targetId: target }, described)
          return false
        })

      /** One entry; `"wait"` when its dependency is queued after it, `"stop"` when the network is down. */
      const replayEntry = (entry: OutboxEntry): Effect.Effect<"done" | "wait" | "stop", CacheError> =>
        Effect.gen(function*() {
          // The server keeps an idempotency key for 24 h (spec §10). An entry sent before may have been
          // executed; once its key may have expired, sending it again could execute it twice. Keep it
          // as a dead letter for a person to check instead (`retryDeadLetter` sends it with its key).
          // Every send is recorded before it goes out (`markSent`), so `firstSentAt` is set whenever
          // the server may have seen the key: after a crash, an interrupt or a lost answer alike.
          if (entry.firstSentAt !== null && (yield* Clock.currentTimeMillis) - entry.firstSentAt >= keySafeLifetimeMillis) {
            yield* bury(entry, {
              tag: "IdempotencyKeyExpired",
              message: `Queued ${entry.op} first sent over ${keySafeLifetimeMillis / 3_600_000} h ago may already ` +
                `have been executed, and its idempotency key may have expired: check the server, then retry or discard it`
            })
            return "done"
          }
          if (entry.op === "create") {
            const localId = entry.localId ?? entry.targetId
            const params = yield* Effect.either(decodeCreate(entry.params))
            if (Either.isLeft(params)) {
              yield* bury(entry, describeError(toInvalidParams(params.left)))
              return "done"
            }
            yield* outboxStore.markSent(principal, entry.seq, yield* Clock.currentTimeMillis)
            const result = yield* Effect.either(network.create(params.right, { idempotencyKey: entry.idempotencyKey }))
            if (Either.isLeft(result)) return (yield* failed(entry, localId, result.left)) ? "stop" : "done"
            const meeting = redact(result.right)
            const now = yield* Clock.currentTimeMillis
            yield* inTransaction(
              "Cannot record a replayed create",
              Effect.all([
                repo.upsert(principal, [meeting], { mode: "write", now }),
                repo.remove(principal, localId),
                outboxStore.resolveLocal(principal, localId, meeting.id, now),
                outboxStore.complete(principal, entry.seq)
              ], { discard: true })
            )
            pendingCreates.delete(localId)
            done.add(entry.seq)
            resolved.push({ localId, id: meeting.id })
            replayed++
            yield* Effect.logDebug("replayed a queued create", { seq: entry.seq, localId, id: meeting.id })
            return "done"
          }
          let target = entry.targetId
          if (isLocalId(target)) {
            const real = yield* outboxStore.resolve(principal, target)
            if (Option.isSome(real)) {
              target = real.value
            } else if (pendingCreates.has(target) && !deferred.has(target)) {
              return "wait"
            } else if (!pendingCreates.has(target)) {
              yield* bury(entry, {
                tag: "DependencyFailed",
                message: deadLocal.has(target)
                  ? `The queued create of ${target} is a dead letter`
                  : `The queued create of ${target} was discarded`
              })
              return "done"
            }
          }
          if (deferred.has(target) || deferred.has(entry.targetId)) {
            // An earlier write to this meeting waits for a later replay: keep the order.
            deferred.add(target)
            done.add(entry.seq)
            return "done"
          }
          const params = yield* Effect.either(decodeUpdate(entry.params))
          if (Either.isLeft(params)) {
            yield* bury(entry, describeError(toInvalidParams(params.left)))
            return "done"
          }
          yield* outboxStore.markSent(principal, entry.seq, yield* Clock.currentTimeMillis)
          const result = yield* Effect.either(
            network.update(target, params.right, { idempotencyKey: entry.idempotencyKey })
          )
          if (Either.isLeft(result)) return (yield* failed(entry, target, result.left)) ? "stop" : "done"
          const meeting = redact(result.right)
          const now = yield* Clock.currentTimeMillis
          yield* inTransaction(
            "Cannot record a replayed update",
            Effect.all([
              repo.upsert(principal, [meeting], { mode: "write", now }),
              outboxStore.complete(principal, entry.seq)
            ], { discard: true })
          )
          done.add(entry.seq)
          replayed++
          yield* Effect.logDebug("replayed a queued update", { seq: entry.seq, id: target })
          return "done"
        })

      // Each pass settles at least one entry or ends the replay, so there are at most as many as entries.
      passes: for (let pass = 0; pass <= entries.length; pass++) {
        let progressed = false
        let waiting = false
        for (const entry of entries) {
          if (done.has(entry.seq)) continue
          const outcome = yield* replayEntry(entry)
          if (outcome === "stop") break passes
          if (outcome === "wait") waiting = true
          else progressed = true
        }
        if (!waiting || !progressed) break
      }
      if (replayed > 0) yield* Metric.incrementBy(CacheMetrics.replayed, replayed)
      yield* updateOutboxGauges
      const remaining = yield* outboxStore.depth(principal)
      return { replayed, dead, remaining, resolved, stoppedBy, networkDown } satisfies ReplayResult & {
        readonly networkDown: boolean
      }
    }).pipe(Effect.annotateLogs({ service: "cache", operation: "replay" }))

    const replayLocked: Effect.Effect<ReplayResult, CacheError> = Effect.map(
      replayRun,
      ({ networkDown: _, ...result }) => result
    )

    const replay = writeLock.withPermits(1)(replayLocked).pipe(Effect.withSpan("MeetingsCache.replay"))

    /**
     * Before an online write: replay what is queued, so the new write does not overtake queued
     * writes to the same meeting. A create touches no queued meeting: it goes online unless the
     * replay found the network down. An update goes online only when no write to its meeting waits.
     */
    const drained = (target: Option.Option<string>) =>
      Effect.gen(function*() {
        const depth = yield* outboxStore.depth(principal)
        if (depth === 0) return true
        const result = yield* replayRun
        if (result.remaining === 0) return true
        if (result.networkDown) return false
        return Option.isNone(target) || (yield* outboxStore.pendingFor(principal, target.value)) === 0
      })

    const enqueue = (
      entry: {
        readonly op: "create" | "update"
        readonly targetId: string
        readonly localId: string | null
        /** The online attempt that may have reached the server (its answer never came). */
        readonly sent?: { readonly at: number; readonly error: OutboxError }
      },
      idempotencyKey: string,
      params: unknown,
      provisional: MeetingT,
      now: number
    ) =>
      inTransaction(
        "Cannot queue an offline write",
        Effect.zipRight(
          outboxStore.enqueue(principal, { ...entry, idempotencyKey, params }, now),
          repo.upsert(principal, [provisional], { mode: "local", now })
        )
      ).pipe(Effect.zipRight(updateOutboxGauges))

    const create = Effect.fn("MeetingsCache.create")(function*(
      params: MeetingParams.CreateMeetingParams,
      writeOptions: CacheWriteOptions = {}
    ) {
      const valid = yield* Effect.mapError(decodeCreate(params), toInvalidParams)
      const idempotencyKey = yield* checkIdempotencyKey(writeOptions.idempotencyKey)
      yield* checkTimeout(writeOptions.timeout)
      return yield* writeLock.withPermits(1)(Effect.gen(function*() {
        let sent: { readonly at: number; readonly error: OutboxError } | undefined
        if (writeOptions.offline !== true && (yield* drained(Option.none()))) {
          const at = yield* Clock.currentTimeMillis
          const result = yield* Effect.either(
            network.create(valid, { idempotencyKey, ...timeoutOf(writeOptions.timeout) })
          )
          if (Either.isRight(result)) {
            const meeting = redact(result.right)
            yield* store([meeting], "write")
            return fromNetwork(meeting, yield* Clock.currentTimeMillis)
          }
          if (!(offlineWrites && MeetingsError.isUnreachable(result.left))) return yield* result.left
          // The request may have reached the server: the queued entry starts with this send recorded.
          sent = { at, error: describeError(result.left) }
          yield* Effect.logInfo("network unreachable; create queued in the outbox", { error: result.left._tag })
        }
        const now = yield* Clock.currentTimeMillis
        const localId = `${localIdPrefix}${crypto.randomUUID()}`
        const provisional = provisionalMeeting(localId, valid, DateTime.unsafeMake(now))
        yield* enqueue(
          { op: "create", targetId: localId, localId, ...(sent === undefined ? {} : { sent }) },
          idempotencyKey,
          valid,
          provisional,
          now
        )
        return fromLocalWrite(provisional, now)
      }))
    })

    const update = Effect.fn("MeetingsCache.update")(function*(
      id: string,
      params: MeetingParams.UpdateMeetingParams,
      writeOptions: CacheWriteOptions = {}
    ) {
      const valid = yield* Effect.mapError(decodeUpdate(params), toInvalidParams)
      const idempotencyKey = yield* checkIdempotencyKey(writeOptions.idempotencyKey)
      yield* checkTimeout(writeOptions.timeout)
      return yield* writeLock.withPermits(1)(Effect.gen(function*() {
        const resolveTarget = Effect.map(lookup(id), ({ key }) => key)
        let target = yield* resolveTarget
        let networkError: Option.Option<MeetingsError.MeetingsError> = Option.none()
        let sent: { readonly at: number; readonly error: OutboxError } | undefined
        if (writeOptions.offline !== true && (yield* drained(Option.some(target)))) {
          target = yield* resolveTarget
          if (!isLocalId(target)) {
            const at = yield* Clock.currentTimeMillis
            const result = yield* Effect.either(
              network.update(target, valid, { idempotencyKey, ...timeoutOf(writeOptions.timeout) })
            )
            if (Either.isRight(result)) {
              const meeting = redact(result.right)
              yield* store([meeting], "write")
              return fromNetwork(meeting, yield* Clock.currentTimeMillis)
            }
            if (!(offlineWrites && MeetingsError.isUnreachable(result.left))) return yield* result.left
            networkError = Option.some(result.left)
            sent = { at, error: describeError(result.left) }
          }
        }
        const stored = Option.filter(yield* repo.findById(principal, target), (s) => !s.gone)
        if (Option.isNone(stored)) {
          // Nothing to show a pending version of: do not queue a write the caller cannot see.
          if (Option.isSome(networkError)) return yield* networkError.value
          return yield* new CacheMiss({ id, message: `Meeting ${id} is not cached; an offline update needs a cached copy` })
        }
        const now = yield* Clock.currentTimeMillis
        const provisional = applyUpdate(stored.value.meeting, valid, DateTime.unsafeMake(now))
        yield* enqueue(
          { op: "update", targetId: target, localId: null, ...(sent === undefined ? {} : { sent }) },
          idempotencyKey,
          valid,
          provisional,
          now
        )
        yield* Effect.logInfo("update queued in the outbox", { id: target })
        return fromLocalWrite(provisional, now)
      }))
    })

    const resolveId = (id: string) =>
      isLocalId(id)
        ? Effect.flatMap(outboxStore.resolve(principal, id), (real) =>
          Option.isSome(real) ? Effect.succeed(real) : Effect.succeed(Option.none<string>()))
        : Effect.succeed(Option.some(id))

    const rebuild = writeLock.withPermits(1)(Effect.gen(function*() {
      // One transaction: clear the mirror (pending rows stay) and restore any queued create whose
      // provisional row is missing, so queued writes stay visible under their ids.
      const entries = yield* inTransaction(
        "Cannot rebuild the mirror",
        Effect.gen(function*() {
          yield* repo.clear(principal)
          const entries = yield* outboxStore.pending(principal)
          const now = yield* Clock.currentTimeMillis
          const provisional: Array<MeetingT> = []
          for (const entry of entries) {
            if (entry.op !== "create" || entry.localId === null) continue
            if (Option.isSome(yield* repo.findById(principal, entry.localId))) continue
            const params = yield* Effect.either(decodeCreate(entry.params))
            if (Either.isRight(params)) {
              provisional.push(provisionalMeeting(entry.localId, params.right, DateTime.unsafeMake(entry.createdAt)))
            }
          }
          yield* repo.upsert(principal, provisional, { mode: "local", now })
          return entries
        })
      )
      yield* Effect.logInfo("cache mirror rebuilt", { keptOutbox: entries.length })
    })).pipe(Effect.withSpan("MeetingsCache.rebuild"))

    const stats = Effect.gen(function*() {
      const mirror = yield* repo.stats(principal)
      const outbox = yield* outboxStore.depth(principal)
      const deadLetters = yield* outboxStore.deadCount(principal)
      const lastSync = yield* repo.syncState(principal)
      yield* flushReads
      const counts = yield* repo.readStats(principal)
      const answered = counts.hits + counts.misses
      const readStats = { ...counts, hitRatio: answered === 0 ? Option.none() : Option.some(counts.hits / answered) }
      return { ...mirror, principal, outbox, deadLetters, lastSync, reads: readStats } satisfies CacheStats
    }).pipe(Effect.withSpan("MeetingsCache.stats"))

    yield* updateOutboxGauges

    if (checked.autoReplay !== undefined) {
      const every = checked.autoReplay
      const tick = outboxStore.depth(principal).pipe(
        Effect.flatMap((depth) => (depth > 0 ? Effect.asVoid(replay) : Effect.void)),
        Effect.catchTag("CacheError", (e) => Effect.logWarning("background replay failed", e.message))
      )
      yield* FiberSet.run(background, Effect.repeat(tick, Schedule.spaced(every)))
    }

    return {
      principal,
      get,
      query,
      count,
      list,
      listCached,
      streamLocal,
      sync,
      progress: Stream.fromPubSub(progressHub),
      subscribeProgress: PubSub.subscribe(progressHub),
      syncState,
      refresh,
      create,
      update,
      replay,
      outbox: outboxStore.pending(principal),
      deadLetters: outboxStore.deadLetters(principal),
      retryDeadLetter: (seq: number) =>
        Clock.currentTimeMillis.pipe(
          Effect.flatMap((now) => outboxStore.retryDead(principal, seq, now)),
          Effect.zipRight(updateOutboxGauges)
        ),
      discardDeadLetter: (seq: number) =>
        Clock.currentTimeMillis.pipe(
          Effect.flatMap((now) => outboxStore.discardDead(principal, seq, now)),
          Effect.zipRight(updateOutboxGauges)
        ),
      resolveId,
      rebuild,
      stats
    } satisfies MeetingsCacheShape
  }).pipe(Effect.annotateLogs({ service: "cache" }))

// ---------------------------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------------------------

/** The cache service. Needs the network `Meetings` and a `SqlClient` (see `Database.layer`). */
export const layer = (
  options: MeetingsCacheOptions
): Layer.Layer<MeetingsCache, CacheError, Meetings.Meetings | SqlClient.SqlClient> =>
  Layer.scoped(MeetingsCache, make(options)).pipe(Layer.provide(Layer.merge(MeetingsRepo.Default, Outbox.Default)))

/**
 * Options from `Config`: `LIGHTFIELD_API_KEY` (fingerprinted; or `LIGHTFIELD_CACHE_PRINCIPAL`),
 * `LIGHTFIELD_CACHE_POLICY` (default `CacheFirst`), `LIGHTFIELD_CACHE_MAX_AGE` (default 5 minutes).
 */
export const config: Config.Config<MeetingsCacheOptions> = Config.all({
  principal: Config.option(
    Config.string("LIGHTFIELD_CACHE_PRINCIPAL").pipe(
      Config.validate({
        message: "Expected a principal: 1 to 128 letters, digits or _.:@- characters",
        validation: (value) => Either.isRight(Principal.validate(value))
      })
    )
  ),
  apiKey: Config.option(Config.redacted("LIGHTFIELD_API_KEY")),
  policy: Config.literal("CacheFirst", "StaleWhileRevalidate", "NetworkFirst", "CacheOnly")("LIGHTFIELD_CACHE_POLICY")
    .pipe(Config.withDefault("CacheFirst" as const)),
  maxAge: Config.duration("LIGHTFIELD_CACHE_MAX_AGE").pipe(Config.withDefault(Duration.minutes(5)))
}).pipe(
  Config.mapOrFail(({ apiKey, maxAge, policy, principal }) =>
    Option.isSome(principal)
      ? Either.right<MeetingsCacheOptions>({ principal: principal.value, policy, maxAge })
      : Option.isSome(apiKey)
      ? Either.right<MeetingsCacheOptions>({ apiKey: apiKey.value, policy, maxAge })
      : Either.left(
        ConfigError.MissingData(
          ["LIGHTFIELD_API_KEY"],
          "Expected LIGHTFIELD_API_KEY (or LIGHTFIELD_CACHE_PRINCIPAL) to be set"
        )
      )
  )
)

export const layerConfig = (
  options: Config.Config<MeetingsCacheOptions> = config
): Layer.Layer<MeetingsCache, ConfigError.ConfigError | CacheError, Meetings.Meetings | SqlClient.SqlClient> =>
  Layer.unwrapEffect(Effect.map(options, layer))

/** Map the cache's own failures into core's error union for the `Meetings`-shaped layer. */
/**
 * Map the cache's own failures into core's error union for the `Meetings`-shaped layer. Core's
 * `MeetingsUnavailable.reason` has no "local" literal, so the origin is kept distinguishable by the
 * message prefix (`Local cache: …`) and the original error as `cause` (see `isLocalCacheFailure`).
 */
export const localCachePrefix = "Local cache: "

const toMeetingsError = (e: CacheError | CacheMiss): MeetingsError.MeetingsError =>
  e._tag === "CacheMiss"
    ? new MeetingsError.MeetingsUnavailable({ reason: "Transport", message: `${localCachePrefix}${e.message}`, cause: e })
    : new MeetingsError.MeetingsUnavailable({
      reason: "Server",
      message: `${localCachePrefix}${e.reason} failure: ${e.message}`,
      cause: e
    })

/** True for a `MeetingsUnavailable` made by `layerMeetings` from a local cache failure (not an API outage). */
export const isLocalCacheFailure = (e: unknown): boolean =>
  e instanceof MeetingsError.MeetingsUnavailable && (e.cause instanceof CacheError || e.cause instanceof CacheMiss)

export interface MeetingsLayerOptions {
  /** Read policy for `retrieve`, `list` and `stream` (default: the cache's default policy). */
  readonly policy?: ReadPolicy
  readonly maxAge?: Duration.DurationInput
}

/**
 * Core's `Meetings` served by the cache: `retrieve`/`list` under the read policy, `stream` from
 * SQLite (after a sync when the policy allows the network), `create`/`update` write-through with
 * the outbox (a queued create answers with its provisional `local_…` meeting).
 *
 * Cache failures become `MeetingsUnavailable` (`CacheMiss` → `Transport`, `CacheError` → `Server`,
 * with the original as `cause` and a `Local cache: ` message prefix), since `Meetings` has no other
 * way to say "not now"; `isLocalCacheFailure` tells them apart from an API outage.
 */
export const layerMeetings = (
  layerOptions: MeetingsLayerOptions = {}
): Layer.Layer<Meetings.Meetings, never, MeetingsCache> =>
  Layer.effect(
    Meetings.Meetings,
    Effect.gen(function*() {
      const cache = yield* MeetingsCache
      const read = (callOptions: Meetings.CallOptions | undefined): ReadOptions => ({
        ...(layerOptions.policy === undefined ? {} : { policy: layerOptions.policy }),
        ...(layerOptions.maxAge === undefined ? {} : { maxAge: layerOptions.maxAge }),
        ...(callOptions?.timeout === undefined ? {} : { timeout: callOptions.timeout })
      })
      const orUnavailable = <A>(self: Effect.Effect<A, MeetingsError.MeetingsError | CacheError | CacheMiss>) =>
        Effect.catchTags(self, {
          CacheError: (e) => Effect.fail(toMeetingsError(e)),
          CacheMiss: (e) => Effect.fail(toMeetingsError(e))
        })
      const syncFirst = (streamOptions: Meetings.StreamOptions | undefined) =>
        Effect.gen(function*() {
          const policy = layerOptions.policy
          if (policy === "CacheOnly") return
          const state = yield* cache.syncState
          const synced = Option.isSome(Option.flatMapNullable(state, (s) => s.lastCompleteAt))
          if (synced && policy !== "NetworkFirst") return
          const onProgress = streamOptions?.onProgress
          yield* cache.sync({
            ...(streamOptions?.pageSize === undefined ? {} : { pageSize: streamOptions.pageSize }),
            ...(streamOptions?.concurrency === undefined ? {} : { concurrency: streamOptions.concurrency }),
            ...(streamOptions?.timeout === undefined ? {} : { timeout: streamOptions.timeout }),
            ...(onProgress === undefined
              ? {}
              : {
                onProgress: (p: Sync.SyncProgress) =>
                  onProgress({ pages: p.pages, items: p.meetings, totalCount: p.totalCount, complete: false })
              })
          }).pipe(
            Effect.catchIf(
              (e): e is MeetingsError.Unreachable => e._tag !== "CacheError" && MeetingsError.isUnreachable(e),
              (e) => Effect.logWarning("sync failed; streaming from the cache", { error: e._tag })
            )
          )
        })
      /**
       * The mirror from SQLite, then core's closing progress event: `complete` when the mirror's
       * last scan finished (a complete, reconciled listing), `false` when it never did.
       */
      const streamWithClosing = (streamOptions: Meetings.StreamOptions | undefined) => {
        const local = Stream.mapError(cache.streamLocal, toMeetingsError)
        const onProgress = streamOptions?.onProgress
        if (onProgress === undefined) return local
        let items = 0
        const closing = Stream.execute(
          orUnavailable(cache.syncState).pipe(
            Effect.flatMap((state) =>
              onProgress({
                pages: Option.match(state, { onNone: () => 0, onSome: (s) => s.pages }),
                items,
                totalCount: items,
                complete: Option.exists(state, (s) => s.finishedAt !== null)
              })
            )
          )
        )
        return Stream.concat(Stream.tap(local, () => Effect.sync(() => items++)), closing)
      }
      return Meetings.Meetings.of({
        retrieve: (id, callOptions) => orUnavailable(Effect.map(cache.get(id, read(callOptions)), (c) => c.value)),
        list: (params, callOptions) => orUnavailable(cache.list(params, read(callOptions))),
        stream: (streamOptions) =>
          Stream.unwrap(
            Effect.as(orUnavailable(syncFirst(streamOptions)), streamWithClosing(streamOptions))
          ),
        create: (params, writeOptions) => orUnavailable(Effect.map(cache.create(params, writeOptions), (c) => c.value)),
        update: (id, params, writeOptions) =>
          orUnavailable(Effect.map(cache.update(id, params, writeOptions), (c) => c.value))
      })
    })
  )
