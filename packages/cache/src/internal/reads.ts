/**
 * The reads of a `MeetingsCache`: `retrieve` under a read policy (with a fast path for a cache hit
 * of a real id), local queries, pages in the API's order, the local stream, `refresh`, and the
 * read counters persisted by `ReadCountsStore`.
 */
import type { MeetingParams, Meetings } from "@lightfield-effect/core"
import { Meeting, MeetingsError, ParamsProblem, Redaction } from "@lightfield-effect/core"
import { MeetingParams as Params } from "@lightfield-effect/core"
import { Chunk, Clock, Context, Duration, Effect, Either, Fiber, FiberRef, FiberSet, Metric, Option, Stream } from "effect"
import type { CacheError } from "../CacheError.js"
import { CacheMiss } from "../CacheError.js"
import * as CacheMetrics from "../CacheMetrics.js"
import type { MeetingQuery } from "../MeetingQuery.js"
import type { Cached, ReadOptions, ReadPolicy, RefreshResult } from "../ReadPolicy.js"
import { fromCache, fromNetwork } from "../ReadPolicy.js"
import type { StoredMeeting } from "./meetingRow.js"
import type { PageKey } from "./meetingRows.js"
import { isLocalId } from "./provisional.js"
import type { Session } from "./session.js"
import { checkNetworkTimeout, checkTimeout, timeoutOf } from "./session.js"

type MeetingT = Meeting.Meeting

const validateList = ParamsProblem.validator(Params.ListMeetingsParams)

const invalidId = (id: string) => Either.getLeft(Meeting.validateId(id))

export const make = (session: Session) =>
  Effect.gen(function*() {
    const { config, lookup, maxAgeOf, network, principal, rows, store } = session
    const defaultPolicy = config.policy
    const revalidating = new Set<string>()

    // Counted here as well as in the metrics, and persisted when the service closes (and on `stats`).
    const reads = { hits: 0, misses: 0, stale: 0 }
    const flushReads = Effect.suspend(() => {
      const counts = { ...reads }
      reads.hits = 0
      reads.misses = 0
      reads.stale = 0
      return session.readCounts.add(principal, counts)
    })
    yield* Effect.addFinalizer(() =>
      flushReads.pipe(Effect.catchTag("CacheError", (e) => Effect.logWarning("read statistics not saved", e.message)))
    )
    // Metrics tagged per policy, built once (tagging allocates).
    const perPolicy = <T>(make: (policy: ReadPolicy) => T): Record<ReadPolicy, T> => ({
      CacheFirst: make("CacheFirst"),
      StaleWhileRevalidate: make("StaleWhileRevalidate"),
      NetworkFirst: make("NetworkFirst"),
      CacheOnly: make("CacheOnly")
    })
    const hitsBy = perPolicy((p) => Metric.tagged(CacheMetrics.hits, "policy", p))
    const missesBy = perPolicy((p) => Metric.tagged(CacheMetrics.misses, "policy", p))
    const staleBy = perPolicy((p) => Metric.tagged(CacheMetrics.staleAnswers, "policy", p))
    const fallbacksBy = perPolicy((p) => Metric.tagged(CacheMetrics.fallbacks, "policy", p))

    const fetched = (id: string, callOptions: Meetings.CallOptions) =>
      Effect.flatMap(session.fetchRemote(id, callOptions), (meeting) =>
        Effect.map(Clock.currentTimeMillis, (now) => fromNetwork(meeting, now)))

    /**
     * The network's answer when a cached copy can stand in (`NetworkFirst`): a connection that
     * cannot be made fails at once (core's `failFast`: no retries that cannot help), and with
     * `networkTimeout` the read stops waiting after it. The call then goes on in the cache's
     * background set (interrupted when the cache closes) and stores its answer when it comes.
     */
    const networkOrFallback = <A, E>(
      remote: (callOptions: Meetings.CallOptions) => Effect.Effect<A, E>,
      readOptions: ReadOptions,
      networkTimeout: Duration.Duration | undefined
    ): Effect.Effect<Either.Either<A, E | MeetingsError.MeetingsUnavailable>> => {
      const callOptions: Meetings.CallOptions = { ...timeoutOf(readOptions.timeout), failFast: true }
      if (networkTimeout === undefined) return Effect.either(remote(callOptions))
      const call = Effect.either(remote(callOptions)).pipe(Effect.withSpan("MeetingsCache.networkFirst"))
      return Effect.flatMap(FiberSet.run(session.background, call), (fiber) =>
        Effect.map(
          Effect.timeoutOption(Fiber.join(fiber), networkTimeout),
          Option.getOrElse(() =>
            Either.left(
              new MeetingsError.MeetingsUnavailable({
                reason: "Timeout",
                message: `No answer within networkTimeout (${Duration.format(networkTimeout)}); it will refresh the cache when it comes`
              })
            )
          )
        ))
    }

    const revalidate = (id: string) =>
      Effect.suspend(() => {
        if (revalidating.has(id)) return Effect.void
        revalidating.add(id)
        return FiberSet.run(
          session.background,
          session.fetchRemote(id).pipe(
            Effect.catchAll((e) => Effect.logDebug("background revalidation failed", { id, error: e._tag })),
            Effect.ensuring(Effect.sync(() => revalidating.delete(id))),
            Effect.withSpan("MeetingsCache.revalidate")
          )
        ).pipe(Effect.zipRight(Metric.increment(CacheMetrics.revalidations)))
      })

    // No span on `retrieve` itself: a cache hit must stay within a few microseconds. The network
    // path (`MeetingsCache.fetch`) has one.
    const retrieve = (
      id: string,
      readOptions: ReadOptions = {}
    ): Effect.Effect<Cached<MeetingT>, MeetingsError.MeetingsError | CacheError | CacheMiss> => {
      if (!Meeting.isMeetingId(id)) return Effect.fail(Option.getOrThrow(invalidId(id)))
      const policy = readOptions.policy ?? defaultPolicy
      const checkedMaxAge = maxAgeOf(readOptions)
      if (Either.isLeft(checkedMaxAge)) return Effect.fail(checkedMaxAge.left)
      const maxAge = checkedMaxAge.right
      if (readOptions.timeout !== undefined || readOptions.networkTimeout !== undefined) {
        return Effect.zipRight(checkTimeout(readOptions.timeout), retrieveSlow(id, readOptions, maxAge))
      }
      // Fast path (no generator, one effect, no allocation beyond the answer): a cache hit of a real id.
      if (isLocalId(id) || policy === "NetworkFirst") return retrieveSlow(id, readOptions, maxAge)
      return Effect.withFiberRuntime((fiber) => {
        const now = Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis()
        const found = rows.findNow(principal, id, fiber.currentContext, now)
        if (found === undefined) {
          return Effect.flatMap(rows.findById(principal, id), (stored) =>
            Option.isNone(stored) || stored.value.gone
              ? retrieveSlow(id, readOptions, maxAge)
              : Effect.withFiberRuntime((fiber) => hit(id, stored.value, policy, maxAge, fiber)))
        }
        return found === null || found.gone ? retrieveSlow(id, readOptions, maxAge) : hit(id, found, policy, maxAge, fiber, now)
      })
    }

    /** A cache hit of the fast path: the counters updated as `Metric.increment` would (with the fiber's labels). */
    const hit = (
      id: string,
      s: StoredMeeting,
      policy: ReadPolicy,
      maxAge: Duration.Duration,
      fiber: Fiber.RuntimeFiber<unknown, unknown>,
      now = Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis()
    ): Effect.Effect<Cached<MeetingT>> => {
      const labels = fiber.getFiberRef(FiberRef.currentMetricLabels)
      const cached = fromCache(s.meeting, s, now, maxAge)
      reads.hits++
      hitsBy[policy].unsafeUpdate(1, labels)
      if (cached.stale) {
        reads.stale++
        staleBy[policy].unsafeUpdate(1, labels)
      }
      return policy === "StaleWhileRevalidate" && cached.stale && !cached.pending
        ? Effect.as(revalidate(id), cached)
        : Effect.succeed(cached)
    }

    const retrieveSlow = (id: string, readOptions: ReadOptions, maxAge: Duration.Duration) =>
      Effect.gen(function*() {
        const policy = readOptions.policy ?? defaultPolicy
        const networkTimeout = yield* checkNetworkTimeout(readOptions.networkTimeout)
        const { key, stored } = yield* lookup(id)
        const servable = Option.filter(stored, (s) => !s.gone)
        // A tombstone: deleted here or on the server, under every policy (never fetched back).
        if (Option.isNone(servable) && (yield* rows.isDeleted(principal, key))) {
          return yield* new MeetingsError.MeetingNotFound({ id, message: `Meeting ${id} is deleted` })
        }
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
        // A provisional id the server has never seen: only the cache can answer.
        const localOnly = isLocalId(key)
        // Built only when needed: constructing an error captures a stack trace.
        const cacheMiss = () =>
          new CacheMiss({
            id,
            message: localOnly ? `Provisional meeting ${id} is not in the cache` : `Meeting ${id} is not in the cache (policy ${policy})`
          })

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
              if (policy === "StaleWhileRevalidate" && cached.stale && !cached.pending && !localOnly) yield* revalidate(key)
              return cached
            }
            yield* miss
            if (localOnly) return yield* cacheMiss()
            return yield* fetched(key, timeoutOf(readOptions.timeout))
          }
          case "NetworkFirst": {
            // A local write the server has not confirmed yet is newer than anything the network has.
            if (Option.isSome(servable) && (servable.value.pending || localOnly)) return yield* hit(servable.value)
            if (localOnly) {
              yield* miss
              return yield* cacheMiss()
            }
            const remote = Option.isSome(servable)
              ? yield* networkOrFallback((o) => fetched(key, o), readOptions, networkTimeout)
              : yield* Effect.either(fetched(key, timeoutOf(readOptions.timeout)))
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
        const found = yield* rows.query(principal, q)
        const now = yield* Clock.currentTimeMillis
        return found.map((s) => fromCache(s.meeting, s, now, config.maxAge))
      }).pipe(Effect.withSpan("MeetingsCache.query"))

    const localPage = (limit: number, offset: number, maxAge: Duration.Duration) =>
      Effect.gen(function*() {
        const found = yield* rows.page(principal, limit, offset)
        const total = yield* rows.count(principal, {})
        const page = new Meeting.MeetingListPage({ data: found.map((r) => r.meeting), object: "list", totalCount: total }, true)
        const now = yield* Clock.currentTimeMillis
        // The page is as old as its oldest meeting; an empty page as old as the last complete sync.
        const lastComplete = Option.flatMapNullable(yield* session.syncState.get(principal), (s) => s.lastCompleteAt)
        const fetchedAt = found.length === 0
          ? Option.getOrElse(lastComplete, () => now)
          : Math.min(...found.map((r) => r.fetchedAt))
        return fromCache(page, { fetchedAt, pending: found.some((r) => r.pending) }, now, maxAge)
      })

    /**
     * A page from the network as local reads see it, the outbox laid over it: a meeting whose delete
     * is queued is left out (and out of `totalCount`), one with queued updates is the pending row,
     * as `retrieve` answers them.
     */
    const overlayOutbox = (page: Meeting.MeetingListPage) =>
      Effect.gen(function*() {
        const queued = yield* session.outbox.pending(principal)
        if (queued.length === 0) return page
        const deletes = new Set(queued.filter((e) => e.op === "delete" && !isLocalId(e.targetId)).map((e) => e.targetId))
        const updates = new Set(queued.filter((e) => e.op === "update").map((e) => e.targetId))
        const data: Array<MeetingT> = []
        for (const meeting of page.data) {
          if (deletes.has(meeting.id)) continue
          const local = updates.has(meeting.id) ? yield* rows.findById(principal, meeting.id) : Option.none()
          data.push(Option.match(local, { onNone: () => meeting, onSome: (s) => s.meeting }))
        }
        const totalCount = Math.max(data.length, page.totalCount - deletes.size)
        return new Meeting.MeetingListPage({ ...page, data, totalCount }, true)
      })

    const listCached = Effect.fn("MeetingsCache.listCached")(function*(
      input: MeetingParams.ListMeetingsParams = {},
      readOptions: ReadOptions = {}
    ) {
      // Validated under every policy: a bad limit must not become `LIMIT -1` over the whole mirror.
      const params = yield* validateList(input)
      const policy = readOptions.policy ?? defaultPolicy
      const maxAge = yield* maxAgeOf(readOptions)
      yield* checkTimeout(readOptions.timeout)
      const networkTimeout = yield* checkNetworkTimeout(readOptions.networkTimeout)
      const limit = params.limit ?? Params.MaxLimit
      const offset = params.offset ?? 0
      const remote = (callOptions: Meetings.CallOptions) => network.list(params, callOptions).pipe(
        Effect.map((page) => new Meeting.MeetingListPage({ ...page, data: page.data.map((m) => Redaction.redact(m)) }, true)),
        Effect.tap((page) => store(page.data, "fetch")),
        // Like `store`: a local failure must not turn a good answer into an error.
        Effect.flatMap((page) =>
          overlayOutbox(page).pipe(
            Effect.catchTag("CacheError", (e) => Effect.as(Effect.logWarning("cannot read the outbox; answering the network's page", e.message), page))
          )
        ),
        Effect.flatMap((page) => Effect.map(Clock.currentTimeMillis, (now) => fromNetwork(page, now)))
      )
      switch (policy) {
        case "CacheOnly":
          return yield* localPage(limit, offset, maxAge)
        case "NetworkFirst": {
          // The local page can always stand in (possibly empty): no retries that cannot help.
          const answer = yield* networkOrFallback(remote, readOptions, networkTimeout)
          if (Either.isRight(answer)) return answer.right
          if (!MeetingsError.isUnreachable(answer.left)) return yield* answer.left
          yield* Metric.increment(fallbacksBy[policy])
          return yield* localPage(limit, offset, maxAge)
        }
        case "CacheFirst":
        case "StaleWhileRevalidate": {
          const lastComplete = Option.flatMapNullable(yield* session.syncState.get(principal), (s) => s.lastCompleteAt)
          if (Option.isNone(lastComplete)) return yield* remote(timeoutOf(readOptions.timeout))
          if (policy === "StaleWhileRevalidate" && (yield* Clock.currentTimeMillis) - lastComplete.value > Duration.toMillis(maxAge)) {
            yield* session.backgroundSync(maxAge)
          }
          return yield* localPage(limit, offset, maxAge)
        }
      }
    })

    const streamLocal: Stream.Stream<MeetingT, CacheError> = Stream.paginateChunkEffect(
      null as PageKey | null,
      (after) =>
        rows.pageAfter(principal, after, 500).pipe(
          Effect.map(({ meetings, next }) => [Chunk.fromIterable(meetings.map((r) => r.meeting)), next] as const)
        )
    )

    const refresh = (ids: Iterable<string>, callOptions: { readonly timeout?: Duration.DurationInput } = {}) =>
      Effect.gen(function*() {
        yield* checkTimeout(callOptions.timeout)
        const unique = Array.from(new Set(ids))
        for (const id of unique) yield* Meeting.validateId(id)
        const gone: Array<string> = []
        const found: Array<MeetingT> = []
        const keys = yield* Effect.forEach(unique, (id) => Effect.map(lookup(id), ({ key }) => key))
        yield* Effect.forEach(keys.filter((k) => !isLocalId(k)), (id) =>
          network.retrieve(id, callOptions).pipe(
            Effect.map((m) => {
              found.push(Redaction.redact(m))
            }),
            Effect.catchTag("MeetingNotFound", () => Effect.sync(() => gone.push(id)))
          ), { concurrency: 4, discard: true })
        yield* session.upsertServed(found, "fetch")
        yield* rows.markGone(principal, gone)
        if (gone.length > 0) yield* Metric.incrementBy(CacheMetrics.goneMeetings, gone.length)
        return { refreshed: found.map((m) => m.id), gone } satisfies RefreshResult
      }).pipe(Effect.withSpan("MeetingsCache.refresh"))

    return {
      retrieve,
      query,
      count: (q: MeetingQuery = {}) => rows.count(principal, q),
      listCached,
      list: (params?: MeetingParams.ListMeetingsParams, readOptions?: ReadOptions) =>
        Effect.map(listCached(params, readOptions), (cached) => cached.value),
      streamLocal,
      refresh,
      flushReads,
      fetched
    } as const
  })
