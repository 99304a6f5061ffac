/**
 * `pnpm demo` with no configuration: the whole story against an embedded sandbox, each step saying
 * what it did, with figures.
 */
import { MeetingsCache } from "@lightfield-effect/cache"
import { Meetings } from "@lightfield-effect/core"
import { Clock, Console, DateTime, Duration, Effect, Option, Redacted } from "effect"
import * as Output from "./Output.js"
import * as Target from "./Target.js"

const step = (n: number, title: string) => Console.log(`\n${n}. ${title}`)
const say = (text: string) => Console.log(`   ${text}`)

const timed = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const value = yield* self
    return [value, Duration.millis((yield* Clock.currentTimeMillis) - start)] as const
  })

const text = (o: Option.Option<string>) => Option.getOrElse(o, () => "(redacted or empty)")

export const run = (dbFile: string) =>
  Effect.gen(function*() {
    const sandbox = yield* Target.startSandbox()
    const baseUrl = yield* sandbox.baseUrl
    const member = { baseUrl, apiKey: Redacted.make(sandbox.keys.member) }
    const admin = { baseUrl, apiKey: Redacted.make(sandbox.keys.admin) }

    yield* step(1, "Started the sandbox API")
    yield* say(`${baseUrl} with ${Target.embeddedMeetings} seeded meetings, rate limit 25 requests/s per category`)
    yield* say(`cache: ${Target.shownDb(dbFile)}`)

    // -- 2. sync ---------------------------------------------------------------------------------
    yield* step(2, "Synced the member's meetings into SQLite (under the client's rate limiter)")
    const [synced, syncTime] = yield* timed(
      Effect.flatMap(MeetingsCache.MeetingsCache, (cache) =>
        cache.sync({ onProgress: Output.progressBar(process.stderr.isTTY === true) })).pipe(
          Effect.provide(Target.cacheLayer(member, dbFile))
        )
    )
    yield* say(
      `${synced.meetings} meetings in ${synced.pages} pages, ${Output.millis(syncTime)} ` +
        `(${(synced.meetings / Math.max(0.001, Duration.toSeconds(syncTime))).toFixed(0)} meetings/s); ` +
        `${synced.gone.length} marked gone`
    )
    const requests = yield* sandbox.requests
    yield* say(`the sandbox answered 429 to ${requests.filter((r) => r.status === 429).length} of ${requests.length} requests`)

    // -- 3. latest meetings from the cache --------------------------------------------------------
    yield* step(3, "Latest meetings, read from the cache")
    const memberCache = Target.cacheLayer(member, dbFile)
    const [latest, queryTime] = yield* timed(
      Effect.flatMap(MeetingsCache.MeetingsCache, (cache) => cache.query({ limit: 8 })).pipe(
        Effect.provide(memberCache)
      )
    )
    yield* Console.log(Output.table(Output.meetingHeaders, latest.map((c) => Output.meetingRow(c.value))))
    yield* say(`local query took ${Output.millis(queryTime)}`)

    // -- 4. FULL beside METADATA -----------------------------------------------------------------
    yield* step(4, "The same meeting for two keys: admin (FULL) beside member (METADATA)")
    const redacted = yield* Effect.flatMap(MeetingsCache.MeetingsCache, (cache) =>
      cache.query({ accessLevel: "METADATA", limit: 25 })).pipe(Effect.provide(memberCache))
    const counts = yield* Effect.flatMap(MeetingsCache.MeetingsCache, (cache) => cache.stats).pipe(
      Effect.provide(memberCache)
    )
    yield* say(`the member sees ${counts.full} meetings FULL and ${counts.metadata} as METADATA`)
    // Pick one whose FULL view has content (a description, ideally a transcript too), so the difference shows.
    const pair = yield* Effect.flatMap(Meetings.Meetings, (network) =>
      Effect.forEach(redacted.slice(0, 12), (c) =>
        Effect.map(network.retrieve(c.value.id), (asAdmin) => ({ asAdmin, asMember: c.value })))).pipe(
        Effect.map((pairs) =>
          Option.orElse(
            Option.fromNullable(pairs.find((p) => Option.isSome(p.asAdmin.description) && Option.isSome(p.asAdmin.transcriptFileId))),
            () => Option.fromNullable(pairs.find((p) => Option.isSome(p.asAdmin.description)))
          )
        ),
        Effect.provide(Target.networkLayer(admin))
      )
    if (Option.isSome(pair)) {
      const { asAdmin, asMember } = pair.value
      yield* Console.log(Output.table(["", "admin", "member"], [
        ["accessLevel", asAdmin.accessLevel, asMember.accessLevel],
        ["title", text(asAdmin.title), text(asMember.title)],
        ["description", text(asAdmin.description), text(asMember.description)],
        ["transcript", text(asAdmin.transcriptFileId), text(asMember.transcriptFileId)]
      ], 48))
      yield* say(`meeting ${asMember.id}: the member's cached row holds no description and no transcript`)
    }

    // -- 5. offline reads ------------------------------------------------------------------------
    yield* sandbox.stop
    yield* step(5, "Stopped the sandbox: reads are still served, from the cache")
    if (latest[0] === undefined) {
      yield* say("the cache is empty: nothing to read offline (did the sync store anything?)")
      return
    }
    const sample = latest[0].value
    const offline = yield* Effect.gen(function*() {
      const cache = yield* MeetingsCache.MeetingsCache
      const [byId, getTime] = yield* timed(cache.retrieve(sample.id, { policy: "NetworkFirst" }))
      const organizer = Option.getOrElse(sample.organizerEmail, () => "")
      const [byOrganizer, organizerTime] = yield* timed(cache.query({ organizer, limit: 100 }))
      const [search, searchTime] = yield* timed(cache.query({ text: Option.getOrElse(sample.title, () => "").split(" ")[0] ?? "", limit: 100 }))
      return { byId, getTime, organizer, byOrganizer, organizerTime, search, searchTime }
    }).pipe(Effect.provide(memberCache))
    yield* say(
      `get ${sample.id} (network-first): network unreachable, answered from the ${offline.byId.source} ` +
        `(age ${Output.millis(offline.byId.age)}) in ${Output.millis(offline.getTime)}`
    )
    yield* say(`meetings organised by ${offline.organizer}: ${offline.byOrganizer.length} in ${Output.millis(offline.organizerTime)}`)
    yield* say(`full-text search: ${offline.search.length} matches in ${Output.millis(offline.searchTime)}`)

    // -- 6. offline write ------------------------------------------------------------------------
    yield* step(6, "Created a meeting while offline: queued in the durable outbox")
    const now = yield* DateTime.now
    const created = yield* Effect.flatMap(MeetingsCache.MeetingsCache, (cache) =>
      Effect.gen(function*() {
        const c = yield* cache.create({
          fields: {
            $title: "Offline follow-up with Acme",
            $startDate: DateTime.formatIso(DateTime.subtract(now, { hours: 2 })),
            $endDate: DateTime.formatIso(DateTime.subtract(now, { hours: 1 })),
            $attendeeEmails: ["buyer@acme.example"]
          }
        })
        const outbox = yield* cache.outbox
        return { c, outbox }
      })).pipe(Effect.provide(memberCache))
    yield* say(`provisional id ${created.c.value.id}, pending=${created.c.pending}; outbox depth ${created.outbox.length}`)

    // -- 7. back online: replay ------------------------------------------------------------------
    yield* sandbox.start
    yield* step(7, "Restarted the sandbox and replayed the outbox")
    const replay = yield* Effect.flatMap(MeetingsCache.MeetingsCache, (cache) =>
      Effect.gen(function*() {
        const result = yield* cache.replay
        const resolved = yield* cache.resolveId(created.c.value.id)
        const outbox = yield* cache.outbox
        return { result, resolved, outbox }
      })).pipe(Effect.provide(memberCache))
    const realId = Option.getOrElse(replay.resolved, () => "?")
    const onServer = (yield* sandbox.meetings).filter((m) => Option.getOrNull(m.title) === "Offline follow-up with Acme")
    yield* say(
      `replayed ${replay.result.replayed}, dead letters ${replay.result.dead}, outbox depth now ${replay.outbox.length}; ` +
        `${created.c.value.id} -> ${realId}; the server holds ${onServer.length} copy`
    )

    // -- 8. typed errors -------------------------------------------------------------------------
    yield* step(8, "Typed errors, handled")
    const notFound = yield* Effect.flatMap(Meetings.Meetings, (m) => m.retrieve("mtg_does_not_exist")).pipe(
      Effect.as("found?!"),
      Effect.catchTag("MeetingNotFound", (e) => Effect.succeed(`MeetingNotFound handled: "${e.message}"`)),
      Effect.provide(Target.networkLayer(member))
    )
    yield* say(notFound)
    yield* sandbox.clearRequests
    yield* sandbox.inject({ fault: { _tag: "RateLimit", retryAfterSeconds: 1 }, match: "GET /v1/meetings/*", times: 1 })
    const [retried, retryTime] = yield* timed(
      Effect.flatMap(Meetings.Meetings, (m) => m.retrieve(sample.id)).pipe(Effect.provide(Target.networkLayer(member)))
    )
    const log = yield* sandbox.requests
    yield* say(
      `a 429 with Retry-After: 1 was retried: ${log.map((r) => r.status).join(" then ")}, ` +
        `got ${retried.id} after ${Output.millis(retryTime)}`
    )
    yield* Console.log("\nDone. Run `pnpm demo --help` for the subcommands.")

  }).pipe(Effect.scoped)
