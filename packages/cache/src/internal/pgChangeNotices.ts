/**
 * The change-notice listener of a PostgreSQL database (see `changeNotices.ts` for what the notices
 * are): one `LISTEN` per database layer, its notices coalesced into the log the hot sets and live
 * queries read.
 *
 * Supervised, because a LISTEN connection that dies goes silent instead of failing
 * (`docs/fleet-design.md` §1.8): the listener pings itself through the channel every second, and
 * when its own ping has not come back for `silenceLimit`, it stops every stream it started (which
 * closes the shared LISTEN client), listens again, and, since notices sent meanwhile are lost, logs
 * a reset: every hot set drops everything and every live query re-runs. The same reset follows the
 * first handshake (LISTEN is issued asynchronously, so the listener waits for its own ping first).
 */
import type * as PgClient from "@effect/sql-pg/PgClient"
import { Chunk, Clock, Data, Deferred, Duration, Effect, Option, Schedule, Stream } from "effect"
import type { Scope } from "effect"
import type { ChangeNoticesShape } from "./changeNotices.js"
import { channel, coalesce, makeLog, parse } from "./changeNotices.js"

/** Internal: the listener's own pings stopped coming back. */
class Silent extends Data.TaggedError("Silent")<{ readonly millis: number }> {}

const pingEvery = Duration.seconds(1)
const silenceLimit = Duration.seconds(3)
/** How long received notices are gathered into one batch. */
const coalesceWindow = Duration.millis(10)

/** Start the listener on `client` (stopped with the scope). */
export const make = (client: PgClient.PgClient): Effect.Effect<ChangeNoticesShape, never, Scope.Scope> =>
  Effect.gen(function*() {
    const log = yield* makeLog
    const instance = crypto.randomUUID().replaceAll("-", "")
    const ping = Effect.asVoid(client`SELECT pg_notify(${channel}, ${`p ${instance}`})`)

    /** One LISTEN session: until its pings stop coming back (or the database fails). */
    const session = Effect.scoped(Effect.gen(function*() {
      const heard = yield* Deferred.make<void>()
      let lastPing = yield* Clock.currentTimeMillis
      yield* client.listen(channel).pipe(
        Stream.filterMap((payload) => Option.fromNullable(parse(payload))),
        Stream.tap((notice) =>
          notice._tag === "Ping" && notice.instance === instance
            ? Effect.flatMap(Clock.currentTimeMillis, (now) => {
              lastPing = now
              return Deferred.succeed(heard, undefined)
            })
            : Effect.void
        ),
        Stream.filterMap((notice) => (notice._tag === "Change" ? Option.some(notice.change) : Option.none())),
        Stream.groupedWithin(512, coalesceWindow),
        Stream.runForEach((changes) => log.record(coalesce(Chunk.toReadonlyArray(changes)))),
        Effect.forkScoped
      )
      // LISTEN has no "ready" signal: ping until the ping comes back.
      yield* Effect.zipRight(ping, Effect.timeout(Deferred.await(heard), "100 millis")).pipe(
        Effect.retry(Schedule.recurs(50))
      )
      yield* log.reset
      yield* Effect.logDebug("listening for change notices", { channel })
      return yield* Effect.forever(
        Effect.gen(function*() {
          yield* Effect.sleep(pingEvery)
          yield* ping
          const silent = (yield* Clock.currentTimeMillis) - lastPing
          if (silent > Duration.toMillis(silenceLimit)) return yield* new Silent({ millis: silent })
        })
      )
    }))

    yield* session.pipe(
      Effect.catchAll((e) =>
        Effect.logWarning("change notices listener lost; listening again (every hot copy is dropped)", {
          error: e._tag === "Silent" ? `no notice for ${e.millis} ms` : e.message
        })
      ),
      Effect.zipRight(Effect.sleep("1 second")),
      Effect.forever,
      Effect.annotateLogs({ service: "cache", operation: "changeNotices" }),
      Effect.forkScoped
    )
    return log.shape
  })
