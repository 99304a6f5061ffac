/**
 * `pnpm demo fleet`: the fleet story against an embedded sandbox at its documented 25 requests/s.
 * Four instances (each with its own PostgreSQL pool and, with `--redis`, its own Redis connection,
 * as four processes would have) share one mirror in a scratch database on the server: one scan for
 * four syncs, one shared rate budget, one outbox replayed by all four with each write sent once.
 * Without a reachable PostgreSQL it says what it needs and exits 6.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Reactivity from "@effect/experimental/Reactivity"
import { MeetingsCache } from "@lightfield-effect/cache"
import { Clock, Console, Context, Duration, Effect, Layer, Option, Redacted } from "effect"
import type { Scope } from "effect"
import { FleetNeedsPostgres } from "./Failure.js"
import * as Target from "./Target.js"

const step = (n: number, title: string) => Console.log(`\n${n}. ${title}`)
const say = (text: string) => Console.log(`   ${text}`)

/** Where the story makes its scratch database when no `--db`/`LIGHTFIELD_CACHE_URL` is given. */
export const defaultServer = "postgres://postgres@127.0.0.1:5432/postgres"

const pgErrorText = (e: { readonly message: string; readonly cause?: unknown }) => {
  const cause = e.cause
  const code = typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : ""
  const message = cause instanceof Error ? cause.message : e.message
  return code === "" ? message : `${code}: ${message}`
}

/** A scratch database on the server of `serverUrl`, dropped when the scope closes. */
const scratchDatabase = (serverUrl: string): Effect.Effect<string, FleetNeedsPostgres, Scope.Scope> =>
  Effect.gen(function*() {
    const shown = Target.shownDb(serverUrl)
    const needs = (why: string) =>
      new FleetNeedsPostgres({
        message: `pnpm demo fleet needs PostgreSQL: ${shown} ${why}. Start PostgreSQL (e.g. on 127.0.0.1:5432), ` +
          `or point --db (or LIGHTFIELD_CACHE_URL) at a server where this user may CREATE DATABASE.`
      })
    const admin = yield* PgClient.make({
      url: Redacted.make(serverUrl),
      maxConnections: 1,
      connectTimeout: Duration.seconds(5),
      applicationName: "lightfield-demo"
    }).pipe(
      Effect.provide(Reactivity.layer),
      Effect.mapError((e) => needs(`could not be reached (${pgErrorText(e)})`))
    )
    const name = `lf_demo_fleet_${process.pid}_${Date.now().toString(36)}`
    yield* Effect.acquireRelease(
      admin`CREATE DATABASE ${admin(name)}`.pipe(Effect.mapError((e) => needs(`refused CREATE DATABASE (${pgErrorText(e)})`))),
      () => Effect.ignore(admin`DROP DATABASE IF EXISTS ${admin(name)} WITH (FORCE)`)
    )
    const url = new URL(serverUrl)
    url.pathname = `/${name}`
    return url.toString()
  })

const timed = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const value = yield* self
    return [value, (yield* Clock.currentTimeMillis) - start] as const
  })

const past = (title: string, now: number) => ({
  fields: {
    $title: title,
    $startDate: new Date(now - 2 * 3_600_000).toISOString(),
    $endDate: new Date(now - 3_600_000).toISOString(),
    $attendeeEmails: ["buyer@acme.example"]
  }
})

export const run = (options: { readonly db: Option.Option<string>; readonly redis: Option.Option<Redacted.Redacted<string>> }) =>
  Effect.gen(function*() {
    const configured = yield* Target.dbPath(options.db)
    const server = Target.isPostgresUrl(configured) ? configured : defaultServer
    const dbUrl = yield* scratchDatabase(server)
    const redis = Option.isSome(options.redis) ? options.redis : yield* Target.redisFromEnv

    const sandbox = yield* Target.startSandbox({ rateLimit: { perSecond: 25, capacity: 25 } })
    const baseUrl = yield* sandbox.baseUrl
    const target: Target.ClientTarget = { baseUrl, apiKey: Redacted.make(sandbox.keys.admin), redis }
    yield* step(1, "Started the sandbox API and a scratch database")
    yield* say(`${baseUrl} with ${Target.embeddedMeetings} seeded meetings, 25 requests/s per organisation and category`)
    yield* say(`mirror: ${Target.shownDb(dbUrl)} (dropped at the end)`)
    yield* say(
      Option.isSome(redis)
        ? `rate budget: shared on Redis ${Target.shownDb(Redacted.value(redis.value))}`
        : "rate budget: in-process per instance (pass --redis redis://127.0.0.1:6379 to share one)"
    )

    const instances = yield* Effect.forEach([1, 2, 3, 4], () =>
      Effect.map(Layer.build(Target.cacheLayer(target, dbUrl)), (ctx) => Context.get(ctx, MeetingsCache.MeetingsCache)))
    const lists = Effect.map(sandbox.requests, (rs) => rs.filter((r) => r.method === "GET" && r.path === "/v1/meetings"))

    // -- 2. four syncs at once ------------------------------------------------------------------
    yield* step(2, "Four instances synced at once")
    yield* sandbox.clearRequests
    const [synced, syncMillis] = yield* timed(Effect.forEach(instances, (c) => c.sync(), { concurrency: "unbounded" }))
    const seen = yield* lists
    const scanned = synced.filter((r) => r.joined !== true)
    yield* say(
      `${scanned.length} scanned (${scanned[0]?.pages ?? 0} pages), ${synced.length - scanned.length} waited for the lease ` +
        `and joined that scan; the sandbox saw ${seen.length} list requests, ${seen.filter((r) => r.status === 429).length} answered 429, ` +
        `in ${(syncMillis / 1000).toFixed(1)} s`
    )
    const counts = yield* Effect.forEach(instances, (c) => c.count())
    yield* say(`each instance serves from the shared mirror: ${counts.join(", ")} meetings`)

    // -- 3. one rate budget ---------------------------------------------------------------------
    yield* step(3, "Four instances re-read 25 meetings each from the server at once")
    const ids = (yield* instances[0]!.query({ limit: 100 })).map((c) => c.value.id)
    yield* sandbox.clearRequests
    const [, readMillis] = yield* timed(
      Effect.forEach(instances, (c, i) => c.refresh(ids.slice(i * 25, i * 25 + 25)), { concurrency: "unbounded" })
    )
    const reads = (yield* sandbox.requests).filter((r) => r.path.startsWith("/v1/meetings/"))
    yield* say(
      `${reads.length} requests in ${(readMillis / 1000).toFixed(1)} s, ${reads.filter((r) => r.status === 429).length} answered 429 ` +
        (Option.isSome(redis) ? "(one budget: 25/s for all four together)" : "(four budgets of 25/s each against one bucket: 429s retried)")
    )

    // -- 4. one outbox --------------------------------------------------------------------------
    yield* step(4, "Forty writes queued offline across the four, then replayed by all four at once")
    const now = yield* Clock.currentTimeMillis
    yield* Effect.forEach(instances, (c, i) =>
      Effect.forEach(Array.from({ length: 10 }, (_, n) => n), (n) => c.create(past(`Fleet follow-up ${i}.${n}`, now), { offline: true })))
    yield* sandbox.clearRequests
    const replays = yield* Effect.forEach(instances, (c) => c.replay, { concurrency: "unbounded" })
    const posts = (yield* sandbox.requests).filter((r) => r.method === "POST" && r.path === "/v1/meetings")
    const keys = new Set(posts.map((p) => p.idempotencyKey))
    yield* say(
      `replayed ${replays.map((r) => r.replayed).join(" + ")} = ${replays.reduce((n, r) => n + r.replayed, 0)}; ` +
        `the sandbox saw ${posts.length} creates under ${keys.size} idempotency keys (each write sent once)`
    )

    yield* Console.log("\nDone. The same with separate processes and a SIGKILLed lease holder: pnpm test:fleet.")
  }).pipe(Effect.scoped)
