/**
 * Live queries: `watch(query)` streams a local query's result, at once and then after every change
 * that alters it. Changes are noticed two ways, on the cache's own connection:
 *
 * - in-process: the cache's writes (sync, write-through, replay, delete, rebuild, refresh…) publish
 *   to `changes` once committed, waking watchers at once;
 * - any connection: a poll (`pollInterval`, 100 ms) of `PRAGMA data_version` (moves when ANOTHER
 *   connection, e.g. another process on the file, commits) and `total_changes()` (this connection's
 *   own writes, background ones included). So a commit by another process shows within about one
 *   interval plus the query's own time.
 *
 * PostgreSQL has no such counter. There every committed change of `meetings`, this instance's
 * included, arrives as a change notice (`changeNotices.ts`), which wakes the watchers of its
 * principal at once (a gap in the notices wakes every watcher); a database without notices
 * re-runs the query on each poll instead.
 *
 * A wake-up re-runs the query once (so bursts are coalesced) and emits only when the result differs
 * from the last one emitted (each meeting's redacted JSON and its pending flag): a change to rows the
 * watching principal cannot see, or that leaves its result as it was, emits nothing. Queries are
 * scoped by principal, like every read.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { MeetingCodec } from "@lightfield-effect/core"
import type { Meeting } from "@lightfield-effect/core"
import { Duration, Effect, PubSub, Queue, Stream } from "effect"
import type { CacheError } from "../CacheError.js"
import type { MeetingQuery } from "../MeetingQuery.js"
import type { Principal } from "../Principal.js"
import type { Cached } from "../ReadPolicy.js"
import type { ChangeNoticesShape } from "./changeNotices.js"
import * as Dialect from "./dialect.js"
import { mapSql } from "./sql.js"

type Result = ReadonlyArray<Cached<Meeting.Meeting>>

/** How often a watcher polls the file for other connections' commits. */
export const pollInterval = Duration.millis(100)

/** Options of `watch`. */
export interface WatchOptions {
  /** How often to poll for other connections' commits (default 100 ms). */
  readonly pollInterval?: Duration.DurationInput
}

/** The version where the dialect counts no commits (`dataVersion` and `ownChanges` are `null`). */
const uncounted = "null:null"

const signature = (result: Result): string =>
  result.map((c) => `${c.pending ? "P" : "S"}${MeetingCodec.encodeMeetingJson(c.value)}`).join("\n")

/** A version that moves with every change of `principal`'s rows the notices tell of. */
const noticed = (notices: ChangeNoticesShape, principal: Principal) => {
  let cursor = notices.cursor()
  let version = 0
  return Effect.sync(() => {
    const changes = notices.since(cursor)
    cursor = notices.cursor()
    if (changes === null || changes.some((c) => c.principal === null || c.principal === principal)) version++
    return `notices:${version}`
  })
}

export const make = (
  sql: SqlClient.SqlClient,
  changes: PubSub.PubSub<void>,
  query: (q: MeetingQuery) => Effect.Effect<Result, CacheError>,
  external?: { readonly notices: ChangeNoticesShape; readonly principal: Principal }
) =>
(q: MeetingQuery = {}, options: WatchOptions = {}): Stream.Stream<Result, CacheError> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const interval = Duration.decode(options.pollInterval ?? pollInterval)
    const woken = yield* PubSub.subscribe(changes)
    const noticesWoken = external === undefined ? undefined : yield* external.notices.subscribe
    const version = external !== undefined ? noticed(external.notices, external.principal) : Effect.all([
      Dialect.dataVersion(sql),
      Dialect.ownChanges(sql)
    ]).pipe(
      Effect.map(([other, own]) => `${other}:${own}`),
      mapSql("Cannot watch the cache")
    )
    let seen = yield* version
    const first = yield* query(q)
    let last = signature(first)
    const takeAll = (queue: Queue.Dequeue<void>) => Effect.zipRight(Queue.take(queue), Queue.takeAll(queue))
    const wake = Effect.raceAll([
      takeAll(woken),
      Effect.sleep(interval),
      ...(noticesWoken === undefined ? [] : [takeAll(noticesWoken)])
    ])
    // The next differing result: wait for a wake-up, skip it when nothing was committed since.
    const next: Effect.Effect<Result, CacheError> = Effect.gen(function*() {
      while (true) {
        yield* wake
        const now = yield* version
        // Without a commit counter (PostgreSQL) every wake-up may bring a change: the query decides.
        if (now === seen && now !== uncounted) continue
        seen = now
        const result = yield* query(q)
        const sig = signature(result)
        if (sig === last) continue
        last = sig
        yield* Effect.logDebug("live query changed", { rows: result.length })
        return result
      }
    })
    return Stream.concat(Stream.make(first), Stream.repeatEffect(next))
  }).pipe(Effect.withSpan("MeetingsCache.watch")))
