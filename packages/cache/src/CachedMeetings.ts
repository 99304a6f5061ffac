/**
 * Core's `Meetings` served by the cache, so the cache drops in wherever the HTTP client was used:
 * `retrieve`/`list` under a read policy, `stream` from SQLite (after a sync when the policy allows
 * the network), `create`/`update` write-through with the outbox (a queued create answers with its
 * provisional `local_…` meeting), `delete` as a tombstone (queued when offline: `None`).
 *
 * `Meetings` speaks core's `MeetingsError`, so the cache's own failures become
 * `MeetingsUnavailable` with a reason of their own, the original kept as `cause`: `LocalCache` for a
 * `CacheError` (the local mirror failed), `NotCached` for a `CacheMiss` (not in the mirror, and the
 * policy or the network kept it from being fetched). Neither is ever `Transport`.
 *
 * @since 0.1.0
 */
import { Meetings, MeetingsError } from "@lightfield-effect/core"
import type { Duration } from "effect"
import { Effect, Layer, Option, Stream } from "effect"
import type { CacheError, CacheMiss } from "./CacheError.js"
import { MeetingsCache } from "./MeetingsCache.js"
import type { ReadOptions, ReadPolicy } from "./ReadPolicy.js"
import type { SyncProgress } from "./Sync.js"

/**
 * How `layer` reads.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Read policy for `retrieve`, `list` and `stream` (default: the cache's default policy). */
  readonly policy?: ReadPolicy
  readonly maxAge?: Duration.DurationInput
}

/**
 * A cache failure in core's error union: `LocalCache` for a `CacheError`, `NotCached` for a `CacheMiss`.
 *
 * @since 0.1.0
 */
export const toMeetingsError = (e: CacheError | CacheMiss): MeetingsError.MeetingsUnavailable =>
  e._tag === "CacheMiss"
    ? new MeetingsError.MeetingsUnavailable({ reason: "NotCached", message: e.message, cause: e })
    : new MeetingsError.MeetingsUnavailable({ reason: "LocalCache", message: `${e.reason}: ${e.message}`, cause: e })

/**
 * True for a `MeetingsUnavailable` that came from the cache (`LocalCache` or `NotCached`), not from the API.
 *
 * @since 0.1.0
 */
export const isLocalFailure = (e: unknown): boolean =>
  e instanceof MeetingsError.MeetingsUnavailable && (e.reason === "LocalCache" || e.reason === "NotCached")

/**
 * Core's `Meetings` over the context's `MeetingsCache`.
 *
 * @since 0.1.0
 */
export const layer = (options: Options = {}): Layer.Layer<Meetings.Meetings, never, MeetingsCache> =>
  Layer.effect(
    Meetings.Meetings,
    Effect.gen(function*() {
      const cache = yield* MeetingsCache
      const read = (callOptions: Meetings.CallOptions | undefined): ReadOptions => ({
        ...(options.policy === undefined ? {} : { policy: options.policy }),
        ...(options.maxAge === undefined ? {} : { maxAge: options.maxAge }),
        ...(callOptions?.timeout === undefined ? {} : { timeout: callOptions.timeout })
      })
      const orUnavailable = <A>(self: Effect.Effect<A, MeetingsError.MeetingsError | CacheError | CacheMiss>) =>
        Effect.catchTags(self, {
          CacheError: (e) => Effect.fail(toMeetingsError(e)),
          CacheMiss: (e) => Effect.fail(toMeetingsError(e))
        })
      const syncFirst = (streamOptions: Meetings.StreamOptions | undefined) =>
        Effect.gen(function*() {
          const policy = options.policy
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
                onProgress: (p: SyncProgress) =>
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
        retrieve: (id, callOptions) => orUnavailable(Effect.map(cache.retrieve(id, read(callOptions)), (c) => c.value)),
        list: (params, callOptions) => orUnavailable(cache.list(params, read(callOptions))),
        stream: (streamOptions) =>
          Stream.unwrap(Effect.as(orUnavailable(syncFirst(streamOptions)), streamWithClosing(streamOptions))),
        create: (params, writeOptions) => orUnavailable(Effect.map(cache.create(params, writeOptions), (c) => c.value)),
        update: (id, params, writeOptions) =>
          orUnavailable(Effect.map(cache.update(id, params, writeOptions), (c) => c.value)),
        delete: (id, writeOptions) => orUnavailable(Effect.map(cache.delete(id, writeOptions), (r) => r.meeting))
      })
    })
  )
