/**
 * The offline-first cache of Lightfield meetings: the `MeetingsCache` service (`retrieve` under a
 * read policy, local `query`, `sync`, `refresh`, write-through `create`/`update` with an outbox,
 * `replay`, `rebuild`, `stats`). `CachedMeetings.layer` provides core's `Meetings` on top of it.
 *
 * Requirements: the network `Meetings` (core's `MeetingsClient.layer`) and the database
 * (`Database.layer`).
 *
 * @since 0.1.0
 */
import type { Meeting, MeetingParams, Meetings, MeetingsError } from "@lightfield-effect/core"
import { Config, ConfigError, Context, Duration, Effect, Either, FiberSet, Layer, Option, PubSub, Schedule, Stream } from "effect"
import type { Queue, Redacted, Scope } from "effect"
import type { CacheMiss } from "./CacheError.js"
import { CacheError } from "./CacheError.js"
import type * as Database from "./Database.js"
import { ChangeNotices } from "./internal/changeNotices.js"
import * as MeetingRows from "./internal/meetingRows.js"
import type { MirrorStats } from "./internal/meetingRows.js"
import * as Check from "./internal/options.js"
import * as OutboxStore from "./internal/outboxStore.js"
import type { PrincipalQueue } from "./internal/outboxStore.js"
import * as ReadCountsStore from "./internal/readCounts.js"
import type { ReadCounts } from "./internal/readCounts.js"
import * as Reads from "./internal/reads.js"
import * as Session from "./internal/session.js"
import * as SyncStateStore from "./internal/syncState.js"
import * as Watch from "./internal/watch.js"
import * as Writes from "./internal/writes.js"
import type { MeetingQuery } from "./MeetingQuery.js"
import type { DeleteResult, OutboxEntry, ReplayResult, WriteOptions } from "./Outbox.js"
import * as Principal from "./Principal.js"
import type { Cached, ReadOptions, ReadPolicy, RefreshResult } from "./ReadPolicy.js"
import * as Sync from "./Sync.js"

type MeetingT = Meeting.Meeting

export {
  /**
   * How many decoded meetings the cache keeps in memory for hot reads (a `Context.Reference`,
   * default 5,000; 0 disables).
   *
   * @since 0.1.0
   */
  HotCacheCapacity
} from "./internal/hotSet.js"

export {
  /**
   * PostgreSQL: how long an outbox claim lasts unrenewed (`Context.Reference`, default 30 s).
   *
   * @since 0.1.0
   */
  OutboxClaimTtl
} from "./internal/replay.js"

/**
 * Whose rows these are: an API key (fingerprinted, never stored) or an explicit principal.
 *
 * @since 0.1.0
 */
export type PrincipalSource =
  | { readonly apiKey: string | Redacted.Redacted<string>; readonly principal?: undefined }
  | { readonly principal: string; readonly apiKey?: undefined }

/**
 * The layer's options (each numeric or duration option is checked when the layer is built).
 *
 * @since 0.1.0
 */
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

/**
 * Options of `watch`: how often to poll the file for other processes' commits (default 100 ms).
 *
 * @since 0.1.0
 */
export type WatchOptions = Watch.WatchOptions

/**
 * Options of `create` and `update`.
 *
 * @since 0.1.0
 */
export type CacheWriteOptions = WriteOptions

/**
 * What `stats` reports about this principal's cache.
 *
 * @since 0.1.0
 */
export interface CacheStats extends MirrorStats {
  readonly principal: Principal.Principal
  /** Reads of this principal over the file's life (`retrieve` calls), with the share answered from SQLite. */
  readonly reads: ReadCounts & { readonly hitRatio: Option.Option<number> }
  readonly outbox: number
  readonly deadLetters: number
  readonly lastSync: Option.Option<Sync.SyncState>
  /**
   * Other principals of this file with queued writes or dead letters: left behind by a rotated API
   * key or a changed explicit principal (a trailing space makes another one). Move them to this
   * principal with `adoptOutbox`.
   */
  readonly otherPrincipals: ReadonlyArray<PrincipalQueue>
}

/**
 * The service.
 *
 * @since 0.1.0
 */
export interface MeetingsCacheShape {
  readonly principal: Principal.Principal
  /** One meeting under a read policy. Accepts provisional `local_…` ids (before and after replay). */
  readonly retrieve: (
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
  readonly syncState: Effect.Effect<Option.Option<Sync.SyncState>, CacheError>
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
  /**
   * Write-through soft delete (spec §3.5): the row becomes a content-free tombstone that no sync
   * brings back, and reads of it are `MeetingNotFound`. Unreachable: queued in the outbox, replayed
   * once with its idempotency key. A provisional meeting whose create was never sent: both dropped
   * locally, nothing sent (`outcome: "cancelled"`).
   */
  readonly delete: (
    id: string,
    options?: CacheWriteOptions
  ) => Effect.Effect<DeleteResult, MeetingsError.MeetingsError | CacheError | CacheMiss>
  /**
   * A live query: the result of `query(q)` at once, then again whenever a sync, write, replay,
   * delete or rebuild (in this process or another one on the same file) changes it; coalesced,
   * and never for rows of another principal. Other processes' commits are noticed by polling
   * `PRAGMA data_version` (default every 100 ms). Ends with the consumer's scope.
   */
  readonly watch: (
    query?: MeetingQuery,
    options?: WatchOptions
  ) => Stream.Stream<ReadonlyArray<Cached<MeetingT>>, CacheError>
  /** Send the outbox in order. Stops at the first unreachable answer; permanent failures become dead letters. */
  readonly replay: Effect.Effect<ReplayResult, CacheError>
  readonly outbox: Effect.Effect<ReadonlyArray<OutboxEntry>, CacheError>
  readonly deadLetters: Effect.Effect<ReadonlyArray<OutboxEntry>, CacheError>
  /** Re-queue a dead letter at the end (with its dependencies, in order). */
  readonly retryDeadLetter: (seq: number) => Effect.Effect<void, CacheError>
  /** Delete a dead letter; the updates of a discarded create become dead letters that say so. */
  readonly discardDeadLetter: (seq: number) => Effect.Effect<void, CacheError>
  /** The real id of a provisional id once its create was replayed (the id itself for real ids). */
  readonly resolveId: (id: string) => Effect.Effect<Option.Option<string>, CacheError>
  /** Drop the mirror (meetings, attendees, sync state) and keep the outbox; pending creates stay visible. */
  readonly rebuild: Effect.Effect<void, CacheError>
  readonly stats: Effect.Effect<CacheStats, CacheError>
  /**
   * Move the queued writes and dead letters of another principal of this file (see
   * `CacheStats.otherPrincipals`) to this one, after its own and in their order, with their
   * provisional meetings; they are then replayed with this principal's API key.
   */
  readonly adoptOutbox: (from: string) => Effect.Effect<{ readonly moved: number }, CacheError>
}

/**
 * The service's tag.
 *
 * @since 0.1.0
 */
export class MeetingsCache extends Context.Tag("@lightfield-effect/cache/MeetingsCache")<
  MeetingsCache,
  MeetingsCacheShape
>() {}

const principalOf = (options: PrincipalSource): Effect.Effect<Principal.Principal, CacheError> =>
  options.principal !== undefined
    ? Either.match(Principal.validate(options.principal), {
      onLeft: (message) => Effect.fail(new CacheError({ reason: "Config", message: `Invalid principal: ${message}` })),
      onRight: Effect.succeed
    })
    : Effect.sync(() => Principal.fromApiKey(options.apiKey))

/** The layer's options, checked when the layer is built: a bad one is `CacheError{reason: "Config"}`. */
const checkOptions = (options: MeetingsCacheOptions) =>
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

/**
 * Build the service (the layer's scope holds its background fibers and flushes its read counts).
 *
 * @since 0.1.0
 */
export const make = (
  options: MeetingsCacheOptions
): Effect.Effect<MeetingsCacheShape, CacheError, Session.SessionRequirements> =>
  Effect.gen(function*() {
    const principal = yield* principalOf(options)
    const checked = yield* checkOptions(options)
    const session = yield* Session.make({
      principal,
      policy: options.policy ?? "CacheFirst",
      maxAge: checked.maxAge,
      offlineWrites: options.offlineWrites ?? true,
      maxReplayAttempts: checked.maxReplayAttempts,
      sync: options.sync ?? {}
    })
    const { outbox, rows, syncState } = session
    const reads = yield* Reads.make(session)
    const writes = Writes.make(session)
    // Committed changes of this service, for live queries (see `internal/watch.ts`).
    const changes = yield* PubSub.sliding<void>(1)
    // Other instances' commits, on a database that tells of them (PostgreSQL).
    const notices = yield* Effect.serviceOption(ChangeNotices)
    const notifying = <A, E>(self: Effect.Effect<A, E>) => Effect.ensuring(self, PubSub.publish(changes, undefined))
    const notifyingFn = <Args extends ReadonlyArray<unknown>, A, E>(f: (...args: Args) => Effect.Effect<A, E>) =>
    (...args: Args) => notifying(f(...args))

    const stats = Effect.gen(function*() {
      const mirror = yield* rows.stats(principal)
      yield* reads.flushReads
      const counts = yield* session.readCounts.get(principal)
      const answered = counts.hits + counts.misses
      return {
        ...mirror,
        principal,
        outbox: yield* outbox.depth(principal),
        deadLetters: yield* outbox.deadCount(principal),
        lastSync: yield* syncState.get(principal),
        reads: { ...counts, hitRatio: answered === 0 ? Option.none() : Option.some(counts.hits / answered) },
        otherPrincipals: yield* outbox.elsewhere(principal)
      } satisfies CacheStats
    }).pipe(Effect.withSpan("MeetingsCache.stats"))

    yield* session.updateOutboxGauges
    if (checked.autoReplay !== undefined) {
      const tick = outbox.depth(principal).pipe(
        Effect.flatMap((depth) => (depth > 0 ? Effect.asVoid(writes.replay) : Effect.void)),
        Effect.catchTag("CacheError", (e) => Effect.logWarning("background replay failed", e.message))
      )
      yield* FiberSet.run(session.background, Effect.repeat(tick, Schedule.spaced(checked.autoReplay)))
    }

    return {
      principal,
      retrieve: reads.retrieve,
      query: reads.query,
      count: reads.count,
      list: reads.list,
      listCached: reads.listCached,
      streamLocal: reads.streamLocal,
      sync: (syncOptions) => notifying(session.sync(syncOptions)),
      progress: Stream.fromPubSub(session.progressHub),
      subscribeProgress: PubSub.subscribe(session.progressHub),
      syncState: syncState.get(principal),
      refresh: notifyingFn(reads.refresh),
      create: notifyingFn(writes.create),
      update: notifyingFn(writes.update),
      delete: notifyingFn(writes.delete),
      watch: Watch.make(session.sql, changes, reads.query, Option.getOrUndefined(Option.map(notices, (n) => ({ notices: n, principal })))),
      replay: notifying(writes.replay),
      outbox: outbox.pending(principal),
      deadLetters: outbox.deadLetters(principal),
      retryDeadLetter: notifyingFn(writes.retryDeadLetter),
      discardDeadLetter: notifyingFn(writes.discardDeadLetter),
      resolveId: writes.resolveId,
      rebuild: notifying(writes.rebuild),
      stats,
      adoptOutbox: notifyingFn(writes.adoptOutbox)
    } satisfies MeetingsCacheShape
  }).pipe(Effect.annotateLogs({ service: "cache" }))

/** The owners of the cache's tables, over the database's connection. */
const tables = MeetingRows.layer.pipe(
  Layer.provideMerge(Layer.mergeAll(OutboxStore.layer, SyncStateStore.layer, ReadCountsStore.layer))
)

/**
 * The cache service. Needs the network `Meetings` and the database (`Database.layer`).
 *
 * @since 0.1.0
 */
export const layer = (
  options: MeetingsCacheOptions
): Layer.Layer<MeetingsCache, CacheError, Meetings.Meetings | Database.Services> =>
  Layer.scoped(MeetingsCache, make(options)).pipe(Layer.provide(tables))

/**
 * Options from `Config`: `LIGHTFIELD_API_KEY` (fingerprinted; or `LIGHTFIELD_CACHE_PRINCIPAL`),
 * `LIGHTFIELD_CACHE_POLICY` (default `CacheFirst`), `LIGHTFIELD_CACHE_MAX_AGE` (default 5 minutes).
 *
 * @since 0.1.0
 */
export const config: Config.Config<MeetingsCacheOptions> = Config.all({
  principal: Config.option(
    Config.string("LIGHTFIELD_CACHE_PRINCIPAL").pipe(
      Config.validate({
        message: "Expected a principal: 1 to 128 letters, digits or _.:@- characters, not starting with k_",
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
        ConfigError.MissingData(["LIGHTFIELD_API_KEY"], "Expected LIGHTFIELD_API_KEY (or LIGHTFIELD_CACHE_PRINCIPAL) to be set")
      )
  )
)

/**
 * `layer` with its options read from `Config` (default: `config`).
 *
 * @since 0.1.0
 */
export const layerConfig = (
  options: Config.Config<MeetingsCacheOptions> = config
): Layer.Layer<MeetingsCache, ConfigError.ConfigError | CacheError, Meetings.Meetings | Database.Services> =>
  Layer.unwrapEffect(Effect.map(options, layer))
