/** The subcommands, for real use. Each takes `--db` and `--json`. */
import { Args, Command, Options } from "@effect/cli"
import { MeetingsCache } from "@lightfield-effect/cache"
import type { ReadPolicy } from "@lightfield-effect/cache"
import type { MeetingParams } from "@lightfield-effect/core"
import { Console, DateTime, Duration, Effect, Option } from "effect"
import { statSync } from "node:fs"
import { UsageError } from "./Failure.js"
import * as Output from "./Output.js"
import * as Story from "./Story.js"
import * as Target from "./Target.js"

const db = Options.text("db").pipe(
  Options.withDescription("SQLite cache file (default .lightfield-demo/cache.db)"),
  Options.optional
)
const json = Options.boolean("json").pipe(Options.withDescription("Print JSON instead of tables"))

/** Run `f` with the cache for the configured target (or an embedded sandbox). */
const withCache = <A, E>(
  dbOption: Option.Option<string>,
  f: (cache: MeetingsCache.MeetingsCacheShape, target: Target.Target) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    const target = yield* Target.fromEnvironment
    if (Option.isSome(target.sandbox)) {
      yield* Output.note(`(no LIGHTFIELD_API_KEY set: talking to an embedded sandbox at ${target.baseUrl})`)
    }
    const file = yield* Target.dbPath(dbOption)
    return yield* Effect.flatMap(MeetingsCache.MeetingsCache, (cache) => f(cache, target)).pipe(
      Effect.provide(Target.cacheLayer(target, file))
    )
  }).pipe(Effect.scoped)

const instant = (name: string, raw: string) =>
  Option.match(DateTime.make(raw), {
    onNone: () => Effect.fail(new UsageError({ message: `--${name} must be an ISO 8601 date-time, got '${raw}'` })),
    onSome: (d) => Effect.succeed(d)
  })

const progress = Output.progressBar(process.stderr.isTTY === true)

// -- sync ------------------------------------------------------------------------------------------
const sync = Command.make("sync", { db, json }, ({ db, json: asJson }) =>
  withCache(db, (cache) =>
    Effect.gen(function*() {
      const result = yield* cache.sync({ onProgress: asJson ? () => Effect.void : progress })
      const summary = {
        meetings: result.meetings,
        pages: result.pages,
        refetched: result.refetched,
        gone: result.gone.length,
        durationMillis: Duration.toMillis(result.duration)
      }
      yield* asJson
        ? Output.json(summary)
        : Console.log(
          `synced ${summary.meetings} meetings in ${summary.pages} pages (${summary.durationMillis.toFixed(0)} ms); ` +
            `re-fetched ${summary.refetched}, marked gone ${summary.gone}`
        )

    }))).pipe(Command.withDescription("Mirror every meeting the key can see into the cache"))

// -- list ------------------------------------------------------------------------------------------
const list = Command.make("list", {
  db,
  json,
  from: Options.text("from").pipe(Options.withDescription("Start date at or after (ISO 8601)"), Options.optional),
  to: Options.text("to").pipe(Options.withDescription("Start date before (ISO 8601)"), Options.optional),
  organizer: Options.text("organizer").pipe(Options.optional),
  attendee: Options.text("attendee").pipe(Options.optional),
  search: Options.text("search").pipe(Options.withDescription("Full-text search on title and description"), Options.optional),
  limit: Options.integer("limit").pipe(Options.withDefault(20)),
  offset: Options.integer("offset").pipe(Options.withDefault(0))
}, (o) =>
  withCache(o.db, (cache) =>
    Effect.gen(function*() {
      if (o.limit < 1 || o.offset < 0) return yield* new UsageError({ message: "--limit must be at least 1 and --offset at least 0" })
      const from = yield* Effect.transposeMapOption(o.from, (s) => instant("from", s))
      const to = yield* Effect.transposeMapOption(o.to, (s) => instant("to", s))
      // An empty mirror is filled first, so that `list` answers something on a first run.
      const state = yield* cache.syncState
      if (Option.isNone(Option.flatMapNullable(state, (s) => s.lastCompleteAt))) {
        yield* Output.note("(the cache has never been synced: syncing first)")
        yield* cache.sync({ onProgress: o.json ? () => Effect.void : progress })
      }
      const rows = yield* cache.query({
        limit: o.limit,
        offset: o.offset,
        ...(Option.isSome(from) ? { from: from.value } : {}),
        ...(Option.isSome(to) ? { to: to.value } : {}),
        ...(Option.isSome(o.organizer) ? { organizer: o.organizer.value } : {}),
        ...(Option.isSome(o.attendee) ? { attendee: o.attendee.value } : {}),
        ...(Option.isSome(o.search) ? { text: o.search.value } : {})
      })
      yield* o.json
        ? Output.json(rows.map((c) => ({ ...(Output.meetingJson(c.value) as object), pending: c.pending })))
        : Console.log(Output.table(
          [...Output.meetingHeaders, "pending"],
          rows.map((c) => Output.meetingRow(c.value, [c.pending ? "yes" : ""]))
        ))

    }))).pipe(Command.withDescription("Query the cache (never touches the network once synced)"))

// -- get -------------------------------------------------------------------------------------------
const policies = ["CacheFirst", "StaleWhileRevalidate", "NetworkFirst", "CacheOnly"] as const satisfies ReadonlyArray<
  ReadPolicy.ReadPolicy
>
const get = Command.make("get", {
  db,
  json,
  id: Args.text({ name: "id" }),
  policy: Options.choice("policy", policies).pipe(Options.withDefault("CacheFirst" as const))
}, (o) =>
  withCache(o.db, (cache) =>
    Effect.gen(function*() {
      const answer = yield* cache.retrieve(o.id, { policy: o.policy })
      const m = answer.value
      const provenance = {
        source: answer.source,
        ageMillis: Duration.toMillis(answer.age),
        stale: answer.stale,
        pending: answer.pending
      }
      yield* o.json
        ? Output.json({ meeting: Output.meetingJson(m), ...provenance })
        : Console.log(Output.table(["", ""], [
          ["id", m.id],
          ["title", Option.getOrElse(m.title, () => "-")],
          ["start", Option.match(m.startDate, { onNone: () => "-", onSome: DateTime.formatIso })],
          ["end", Option.match(m.endDate, { onNone: () => "-", onSome: DateTime.formatIso })],
          ["organizer", Option.getOrElse(m.organizerEmail, () => "-")],
          ["attendees", Option.getOrElse(Option.map(m.attendeeEmails, (a) => a.join(", ")), () => "-")],
          ["access", m.accessLevel],
          ["description", Option.getOrElse(m.description, () => "(none or redacted)")],
          ["transcript", Option.getOrElse(m.transcriptFileId, () => "(none or redacted)")],
          ["answered from", `${answer.source}, age ${Output.millis(answer.age)}${answer.stale ? ", stale" : ""}${answer.pending ? ", pending" : ""}`]
        ], 72))

    }))).pipe(Command.withDescription("One meeting, under a read policy"))

// -- create ----------------------------------------------------------------------------------------
const create = Command.make("create", {
  db,
  json,
  title: Options.text("title"),
  start: Options.text("start").pipe(Options.withDescription("ISO 8601; must be in the past")),
  end: Options.text("end").pipe(Options.withDescription("ISO 8601; must be in the past")),
  attendee: Options.text("attendee").pipe(Options.repeated),
  organizer: Options.text("organizer").pipe(Options.optional),
  description: Options.text("description").pipe(Options.optional),
  privacy: Options.choice("privacy", ["FULL", "METADATA"]).pipe(Options.optional),
  offline: Options.boolean("offline").pipe(Options.withDescription("Queue in the outbox without trying the network"))
}, (o) =>
  withCache(o.db, (cache) =>
    Effect.gen(function*() {
      const params: MeetingParams.CreateMeetingParams = {
        fields: {
          $title: o.title,
          $startDate: o.start,
          $endDate: o.end,
          ...(o.attendee.length > 0 ? { $attendeeEmails: o.attendee } : {}),
          ...(Option.isSome(o.organizer) ? { $organizerEmail: o.organizer.value } : {}),
          ...(Option.isSome(o.description) ? { $description: o.description.value } : {}),
          ...(Option.isSome(o.privacy) ? { $privacySetting: o.privacy.value } : {})
        }
      }
      const created = yield* cache.create(params, { offline: o.offline })
      yield* o.json
        ? Output.json({ meeting: Output.meetingJson(created.value), pending: created.pending })
        : Console.log(`${created.pending ? "queued (offline)" : "created"} ${created.value.id}`)

    }))).pipe(Command.withDescription("Create a meeting (write-through; queued when offline)"))

// -- update ----------------------------------------------------------------------------------------
const update = Command.make("update", {
  db,
  json,
  id: Args.text({ name: "id" }),
  privacy: Options.choice("privacy", ["FULL", "METADATA"]),
  offline: Options.boolean("offline")
}, (o) =>
  withCache(o.db, (cache) =>
    Effect.gen(function*() {
      const updated = yield* cache.update(o.id, { fields: { $privacySetting: o.privacy } }, { offline: o.offline })
      yield* o.json
        ? Output.json({ meeting: Output.meetingJson(updated.value), pending: updated.pending })
        : Console.log(`${updated.pending ? "queued (offline)" : "updated"} ${updated.value.id}: privacy ${o.privacy}`)

    }))).pipe(Command.withDescription("Change a meeting's privacy setting"))

// -- outbox ----------------------------------------------------------------------------------------
const outboxList = Command.make("list", { db, json }, (o) =>
  withCache(o.db, (cache) =>
    Effect.gen(function*() {
      const pending = yield* cache.outbox
      const dead = yield* cache.deadLetters
      const all = [...pending, ...dead]
      yield* o.json
        ? Output.json(all)
        : Console.log(Output.table(
          ["seq", "op", "target", "status", "attempts", "error"],
          all.map((e) => [
            String(e.seq),
            e.op,
            e.targetId ?? e.localId ?? "-",
            e.status,
            String(e.attempts),
            e.lastError === null ? "" : `${e.lastError._tag}: ${e.lastError.message}`
          ]),
          60
        ))

    }))).pipe(Command.withDescription("Queued writes and dead letters"))

const outboxReplay = Command.make("replay", { db, json }, (o) =>
  withCache(o.db, (cache) =>
    Effect.gen(function*() {
      const r = yield* cache.replay
      const summary = {
        replayed: r.replayed,
        dead: r.dead,
        remaining: r.remaining,
        resolved: r.resolved,
        stoppedBy: Option.getOrNull(r.stoppedBy)
      }
      yield* o.json
        ? Output.json(summary)
        : Console.log(
          `replayed ${r.replayed}, dead letters ${r.dead}, remaining ${r.remaining}` +
            r.resolved.map((x) => `\n  ${x.localId} -> ${x.id}`).join("")
        )

    }))).pipe(Command.withDescription("Send the queued writes, in order"))

const outbox = Command.make("outbox").pipe(
  Command.withDescription("The durable outbox of offline writes"),
  Command.withSubcommands([outboxList, outboxReplay])
)

// -- status ----------------------------------------------------------------------------------------
const status = Command.make("status", { db, json }, (o) =>
  withCache(o.db, (cache) =>
    Effect.gen(function*() {
      const s = yield* cache.stats
      const file = yield* Target.dbPath(o.db)
      const size = yield* Effect.sync(() => fileSize(file))
      const summary = {
        file,
        sizeBytes: size,
        principal: s.principal,
        meetings: s.meetings,
        full: s.full,
        metadata: s.metadata,
        pending: s.pending,
        gone: s.gone,
        outbox: s.outbox,
        deadLetters: s.deadLetters,
        lastSync: Option.match(s.lastSync, {
          onNone: () => null,
          onSome: (l) => l.lastCompleteAt === null ? null : new Date(l.lastCompleteAt).toISOString()
        }),
        reads: s.reads.hits + s.reads.misses,
        hitRatio: Option.getOrNull(s.reads.hitRatio),
        // Queued writes left under another principal (a rotated key): MeetingsCache.adoptOutbox moves them.
        otherPrincipals: s.otherPrincipals.length === 0
          ? null
          : s.otherPrincipals.map((p) => `${p.principal} (${p.queued} queued, ${p.deadLetters} dead)`).join(", ")
      }
      yield* o.json
        ? Output.json(summary)
        : Console.log(Output.table(["", ""], Object.entries(summary).map(([k, v]) => [k, String(v)]), 60))

    }))).pipe(Command.withDescription("Cache size, last sync, outbox depth, hit ratio"))

// -- sandbox ---------------------------------------------------------------------------------------
const sandbox = Command.make("sandbox", {
  json,
  port: Options.integer("port").pipe(Options.withDefault(4010)),
  seed: Options.integer("seed").pipe(Options.withDefault(1)),
  meetings: Options.integer("meetings").pipe(Options.withDefault(200)),
  rate: Options.integer("rate").pipe(Options.withDescription("Requests per second, 0 = off"), Options.withDefault(25))
}, (o) =>
  Effect.gen(function*() {
    const s = yield* Target.startSandbox({
      port: o.port,
      seed: o.seed,
      meetings: o.meetings,
      rateLimit: o.rate === 0 ? false : { perSecond: o.rate }
    })
    const baseUrl = yield* s.baseUrl
    if (o.json) {
      // One line, so a script can read it and go on reading nothing else.
      yield* Console.log(JSON.stringify({ baseUrl, meetings: o.meetings, keys: s.keys }))
    } else {
      yield* Console.log(`Lightfield sandbox listening on ${baseUrl} (${o.meetings} meetings)`)
      for (const [label, key] of Object.entries(s.keys)) yield* Console.log(`  ${label.padEnd(9)} ${key}`)
    }
    return yield* Effect.never
  }).pipe(Effect.scoped)).pipe(Command.withDescription("Serve the sandbox standalone until Ctrl-C"))

// -- root: the story -------------------------------------------------------------------------------
export const root = Command.make("lightfield-demo", { db }, (o) => Effect.flatMap(Target.dbPath(o.db), Story.run)).pipe(
  Command.withDescription("With no subcommand: the whole story against an embedded sandbox"),
  Command.withSubcommands([sync, list, get, create, update, outbox, status, sandbox])
)

const fileSize = (file: string): number => {
  try {
    return statSync(file).size
  } catch {
    return 0
  }
}
