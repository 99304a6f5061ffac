/**
 * The sync lease across instances on PostgreSQL: a session advisory lock per principal, held on a
 * reserved pool connection for the whole sync. On SQLite the sync runs as before (the lease row in
 * `sync_state`, see `syncState.ts`, with `leaseOwner.ts`'s host/pid check).
 *
 * Why an advisory lock and not the lease row with `now()` and an expiry: the server releases a
 * session's advisory locks the moment its connection ends, so a crashed or killed holder is taken
 * over at once (measured 27 ms after SIGKILL, `docs/fleet-design.md` §2), with no TTL to tune and
 * no window in which a live but slow holder could be declared dead. A host that vanishes without
 * closing its socket is noticed through the per-session TCP keepalives set below (about 11 s). The
 * lease row stays as it is: it carries the scan id, which fences a holder that lost its session
 * (its next batch finds another scan current and stops). Advisory locks need a real session, so
 * they do not work behind a pooler in transaction mode; there the lease row would be the choice.
 *
 * Waiting instances poll `pg_try_advisory_lock` on their reserved connection (no blocked server
 * wait to cancel). One that waited while another instance's scan COMPLETED does not scan again: it
 * returns that scan's outcome (`joined: true`), so N concurrent syncs cost one scan of list requests.
 */
import type * as SqlError from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Data, Duration, Effect, Option, Schedule } from "effect"
import { CacheError } from "../CacheError.js"
import type { Principal } from "../Principal.js"
import type { SyncResult, SyncState } from "../Sync.js"
import { mapSql } from "./sql.js"
import type { SyncStateStoreShape } from "./syncState.js"

/** Internal: the lock is held by another session. */
class Held extends Data.TaggedError("Held")<{}> {}

/** How often the holder checks that its session is alive. */
const heartbeatInterval = Duration.seconds(2)

/** Polls for the lock (20 ms doubling, at most 250 ms apart) for up to `wait`. */
const pollSchedule = (wait: Duration.DurationInput) =>
  Schedule.exponential("20 millis").pipe(
    Schedule.modifyDelay((d) => Duration.min(d, Duration.millis(250))),
    Schedule.upTo(wait)
  )

/** A scan other than `before` completed (and none is unfinished since): the state says so. */
const completedSince = (before: Option.Option<SyncState>, after: Option.Option<SyncState>): Option.Option<SyncState> =>
  Option.filter(after, (now) =>
    now.finishedAt !== null && now.lastCompleteAt !== null &&
    Option.match(before, {
      onNone: () => true,
      onSome: (then) => then.scanId !== now.scanId || then.lastCompleteAt !== now.lastCompleteAt
    }))

/**
 * Run `sync` holding the principal's sync lease across every instance on the database. On a
 * dialect other than PostgreSQL, `sync` runs as it is.
 */
export const exclusive = <E, R>(
  sql: SqlClient.SqlClient,
  state: SyncStateStoreShape,
  principal: Principal,
  leaseWait: Duration.DurationInput,
  sync: Effect.Effect<SyncResult, E, R>
): Effect.Effect<SyncResult, E | CacheError, R> =>
  sql.onDialectOrElse({
    pg: () => onPostgres(sql, state, principal, leaseWait, sync),
    orElse: () => sync
  })

function onPostgres<E, R>(...[sql, state, principal, leaseWait, sync]: Parameters<typeof exclusive<E, R>>) {
  return Effect.scoped(Effect.gen(function*() {
    const calledAt = yield* Clock.currentTimeMillis
    const before = yield* state.get(principal)
    const conn = yield* mapSql("Cannot reserve a connection for the sync lease")(sql.reserve)
    const run = <A extends object>(statement: Statement.Statement<A>): Effect.Effect<ReadonlyArray<A>, SqlError.SqlError> => {
      const [text, params] = statement.compile()
      return conn.execute(text, params, undefined)
    }
    const key = `lf-sync:${principal}`
    // Per session: the server notices a vanished host in about 11 s instead of the default 2 h.
    yield* Effect.all([
      run(sql`SET tcp_keepalives_idle = 5`),
      run(sql`SET tcp_keepalives_interval = 2`),
      run(sql`SET tcp_keepalives_count = 3`)
    ], { discard: true }).pipe(mapSql("Cannot configure the sync lease session"))
    // Each attempt registers its own release, BEFORE the connection's: the connection goes back to
    // the pool without the lock (a lock left on a pooled connection would outlive this sync).
    const attempt = Effect.acquireRelease(
      Effect.map(
        run(sql<{ ok: boolean }>`SELECT pg_try_advisory_lock(hashtextextended(${key}, 0)) AS ok`),
        (rows) => rows[0]?.ok === true
      ),
      (ok) => (ok ? Effect.ignore(run(sql`SELECT pg_advisory_unlock(hashtextextended(${key}, 0))`)) : Effect.void)
    )
    let waited = false
    yield* attempt.pipe(
      mapSql("Cannot take the sync lease"),
      Effect.flatMap((ok) => (ok ? Effect.void : Effect.fail(new Held()))),
      Effect.tapError(() => Effect.sync(() => {
        waited = true
      })),
      Effect.retry({ schedule: pollSchedule(leaseWait), while: (e) => e._tag === "Held" }),
      Effect.catchTag("Held", () =>
        new CacheError({
          reason: "Busy",
          message: `Another instance's sync of this principal still holds the lease after ${
            Duration.format(Duration.decode(leaseWait))
          }`
        }))
    )
    if (waited) {
      const joined = completedSince(before, yield* state.get(principal))
      if (Option.isSome(joined)) {
        const now = yield* Clock.currentTimeMillis
        yield* Effect.logDebug("another instance's scan completed while this sync waited; joined it", {
          scanId: joined.value.scanId
        })
        return {
          scanId: joined.value.scanId,
          complete: true,
          pages: joined.value.pages,
          meetings: joined.value.items,
          refetched: 0,
          gone: [],
          resumedAfterInterrupted: 0,
          duration: Duration.millis(now - calledAt),
          joined: true
        } satisfies SyncResult
      }
    }
    // Every live holder holds the lock: a lease row still set belongs to a session that ended.
    const stale = yield* state.leaseHolder(principal)
    if (Option.isSome(stale)) {
      yield* Effect.logWarning("the sync lease row belongs to an instance whose session ended; taking over", {
        scanId: stale.value.scanId,
        owner: stale.value.owner
      })
      yield* state.release(principal, stale.value.scanId)
    }
    // The session is checked on the pinned connection: when it is gone (the lock with it), the
    // sync stops with a typed error instead of writing on as a second holder.
    const heartbeat: Effect.Effect<never, CacheError> = Effect.forever(
      Effect.zipRight(Effect.sleep(heartbeatInterval), run(sql`SELECT 1`))
    ).pipe(
      Effect.mapError((e) =>
        new CacheError({
          reason: "Query",
          message: `Lost the sync lease: its database session ended (${e.message})`,
          cause: e
        })
      )
    )
    return yield* Effect.raceFirst(sync, heartbeat)
  }).pipe(Effect.withSpan("MeetingsCache.syncLease", { attributes: { principal } })))
}
