/**
 * The subcommands, for real use. Each takes the options Lightfield's own CLI users know:
 * `--api-key`/`--base-url` (else `LIGHTFIELD_API_KEY`/`LIGHTFIELD_BASE_URL`), `--format` (or `--json`),
 * `--debug`, plus `--db`. This module stays light (it is loaded for `--help`): the cache, SQLite, the
 * HTTP client and the sandbox are imported by `Target.ts`, which a command loads when it runs.
 */
import { Args, Command, Options } from "@effect/cli"
import type { ReadPolicy } from "@lightfield-effect/cache"
import type { Meeting, MeetingParams } from "@lightfield-effect/core"
import type { Redacted } from "effect"
import { Console, DateTime, Duration, Effect, Logger, LogLevel, Option, Schedule, Stream } from "effect"
import { statSync } from "node:fs"
import { UsageError } from "./Failure.js"
import * as Input from "./Input.js"
import * as Output from "./Output.js"
import type * as TargetModule from "./Target.js"

const db = Options.text("db").pipe(
  Options.withPseudoName("file|url"),
  Options.withDescription(
    "SQLite cache file, or a postgres:// URL for a mirror shared by many instances (default: LIGHTFIELD_CACHE_URL, " +
      "else LIGHTFIELD_CACHE_PATH, else .lightfield-demo/cache.db)"
  ),
  Options.optional
)
const redis = Options.redacted("redis").pipe(
  Options.withPseudoName("url"),
  Options.withDescription(
    "redis:// URL of the rate budget shared by every instance of the organisation (default: LIGHTFIELD_REDIS_URL; " +
      "organisation: LIGHTFIELD_ORGANIZATION, else the key's)"
  ),
  Options.optional
)
const json = Options.boolean("json").pipe(Options.withDescription("Same as --format json"))
const format = Options.choice("format", Input.formats).pipe(
  Options.withDescription("Output format (default table)"),
  Options.optional
)
const apiKey = Options.redacted("api-key").pipe(
  Options.withPseudoName("key"),
  Options.withDescription("Lightfield API key (default: LIGHTFIELD_API_KEY); never printed"),
  Options.optional
)
const baseUrl = Options.text("base-url").pipe(
  Options.withPseudoName("url"),
  Options.withDescription(`API base URL (default: LIGHTFIELD_BASE_URL, else https://api.lightfield.app)`),
  Options.optional
)
const debug = Options.boolean("debug").pipe(
  Options.withDescription("Log each HTTP request and response to stderr (the key redacted), and debug logs")
)

/** Options every cache command takes. */
const common = { db, json, format, apiKey, baseUrl, debug, redis }

interface Common {
  readonly db: Option.Option<string>
  readonly json: boolean
  readonly format: Option.Option<Input.Format>
  readonly apiKey: Option.Option<Redacted.Redacted<string>>
  readonly baseUrl: Option.Option<string>
  readonly debug: boolean
  readonly redis: Option.Option<Redacted.Redacted<string>>
}

/** What a command body gets: `Target.Session` plus the output format. */
interface Session extends TargetModule.Session {
  readonly format: Input.Format
}

type Cached<A> = ReadPolicy.Cached<A>

const loadTarget = Effect.promise(() => import("./Target.js"))

const withDebug = (debugOn: boolean) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  debugOn ? Logger.withMinimumLogLevel(self, LogLevel.Debug) : self

/** Run `f` with the cache for the configured target (or an embedded sandbox). */
const withCache = <A, E>(o: Common, f: (session: Session) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const chosen = yield* Input.format(o.json, o.format)
    const Target = yield* loadTarget
    return yield* Target.withCache(o, (session) => f({ ...session, format: chosen }))
  }).pipe(withDebug(o.debug))

const progress = Output.progressBar(process.stderr.isTTY === true)
const noProgress = () => Effect.void

// -- sync ------------------------------------------------------------------------------------------
const sync = Command.make("sync", common, (o) =>
  withCache(o, ({ cache, format }) =>
    Effect.gen(function*() {
      const result = yield* cache.sync({ onProgress: format === "table" ? progress : noProgress })
      const summary = {
        meetings: result.meetings,
        pages: result.pages,
        refetched: result.refetched,
        gone: result.gone.length,
        durationMillis: Duration.toMillis(result.duration)
      }
      yield* Output.emit(format, summary, () =>
        `synced ${summary.meetings} meetings in ${summary.pages} pages (${summary.durationMillis.toFixed(0)} ms); ` +
        `re-fetched ${summary.refetched}, marked gone ${summary.gone}`)

    }))).pipe(Command.withDescription("Mirror every meeting the key can see into the cache"))

// -- list ------------------------------------------------------------------------------------------
/** The filters of `list` and `watch`. */
const filters = {
  from: Options.text("from").pipe(Options.withDescription("Start date at or after (ISO 8601 with a zone)"), Options.optional),
  to: Options.text("to").pipe(Options.withDescription("Start date before (ISO 8601 with a zone)"), Options.optional),
  organizer: Options.text("organizer").pipe(Options.optional),
  attendee: Options.text("attendee").pipe(Options.optional),
  search: Options.text("search").pipe(Options.withDescription("Full-text search on title and description"), Options.optional),
  limit: Options.integer("limit").pipe(Options.withDefault(20)),
  offset: Options.integer("offset").pipe(Options.withDefault(0))
}

interface Filters {
  readonly from: Option.Option<string>
  readonly to: Option.Option<string>
  readonly organizer: Option.Option<string>
  readonly attendee: Option.Option<string>
  readonly search: Option.Option<string>
  readonly limit: number
  readonly offset: number
}

/** The cache query of `list`/`watch` filters (a bad value is a usage error). */
const queryOf = (o: Filters) =>
  Effect.gen(function*() {
    if (o.limit < 1 || o.offset < 0) return yield* new UsageError({ message: "--limit must be at least 1 and --offset at least 0" })
    const from = yield* Effect.transposeMapOption(o.from, (s) => Input.instant("from", s))
    const to = yield* Effect.transposeMapOption(o.to, (s) => Input.instant("to", s))
    return {
      limit: o.limit,
      offset: o.offset,
      ...(Option.isSome(from) ? { from: from.value } : {}),
      ...(Option.isSome(to) ? { to: to.value } : {}),
      ...(Option.isSome(o.organizer) ? { organizer: o.organizer.value } : {}),
      ...(Option.isSome(o.attendee) ? { attendee: o.attendee.value } : {}),
      ...(Option.isSome(o.search) ? { text: o.search.value } : {})
    }
  })

/** An empty mirror is filled first, so that `list`/`watch` answer something on a first run. */
const syncIfNever = ({ cache, format }: Session) =>
  Effect.gen(function*() {
    const state = yield* cache.syncState
    if (Option.isNone(Option.flatMapNullable(state, (s) => s.lastCompleteAt))) {
      yield* Output.note("(the cache has never been synced: syncing first)")
      yield* cache.sync({ onProgress: format === "table" ? progress : noProgress })
    }
  })

const meetingsOut = (format: Input.Format, rows: ReadonlyArray<Cached<Meeting.Meeting>>) =>
  Output.emit(
    format,
    rows.map((c) => ({ ...(Output.meetingJson(c.value) as object), pending: c.pending })),
    () => Output.table([...Output.meetingHeaders, "pending"], rows.map((c) => Output.meetingRow(c.value, [c.pending ? "yes" : ""])))
  )

const list = Command.make("list", { ...common, ...filters }, (o) =>
  withCache(o, (session) =>
    Effect.gen(function*() {
      const query = yield* queryOf(o)
      yield* syncIfNever(session)
      yield* meetingsOut(session.format, yield* session.cache.query(query))
    }))).pipe(Command.withDescription("Query the cache (never touches the network once synced)"))

// -- watch -----------------------------------------------------------------------------------------
const watch = Command.make("watch", {
  ...common,
  ...filters,
  syncEvery: Options.integer("sync-every").pipe(
    Options.withPseudoName("seconds"),
    Options.withDescription("Also sync from the API every N seconds (default: only watch the file)"),
    Options.optional
  )
}, (o) =>
  withCache(o, (session) =>
    Effect.gen(function*() {
      const query = yield* queryOf(o)
      yield* syncIfNever(session)
      if (Option.isSome(o.syncEvery)) {
        if (o.syncEvery.value < 1) return yield* new UsageError({ message: "--sync-every must be at least 1" })
        yield* session.cache.sync().pipe(
          Effect.catchAll((e) => Output.note(`(sync failed: ${e._tag})`)),
          Effect.repeat(Schedule.spaced(Duration.seconds(o.syncEvery.value))),
          Effect.delay(Duration.seconds(o.syncEvery.value)),
          Effect.forkScoped
        )
      }
      // Each result as one JSON line (--json/--format jsonl), or a fresh table; until Ctrl-C.
      const format = session.format === "json" ? "jsonl" : session.format
      yield* Stream.runForEach(session.cache.watch(query), (rows) =>
        format === "jsonl"
          ? Console.log(JSON.stringify(rows.map((c) => ({ ...(Output.meetingJson(c.value) as object), pending: c.pending }))))
          : Effect.zipRight(
            format === "table" ? Output.note(`-- ${new Date().toISOString()}: ${rows.length} meetings`) : Effect.void,
            meetingsOut(format, rows)
          ))
    }).pipe(Effect.scoped))).pipe(
  Command.withDescription("Print the list again (a table, or one JSON line) whenever the cache changes, in any process")
)

// -- delete ----------------------------------------------------------------------------------------
const remove = Command.make("delete", {
  ...common,
  id: Args.text({ name: "id" }),
  offline: Options.boolean("offline").pipe(Options.withDescription("Queue in the outbox without trying the network"))
}, (o) =>
  withCache(o, ({ cache, format }) =>
    Effect.gen(function*() {
      const result = yield* cache.delete(o.id, { offline: o.offline })
      const said = { deleted: "deleted", queued: "queued (offline)", cancelled: "cancelled (its create was never sent)" }
      yield* Output.emit(format, { id: result.id, outcome: result.outcome }, () => `${said[result.outcome]} ${result.id}`)
    }))).pipe(Command.withDescription("Delete a meeting (soft delete; queued when offline)"))

// -- get -------------------------------------------------------------------------------------------
const get = Command.make("get", {
  ...common,
  id: Args.text({ name: "id" }),
  policy: Options.choiceWithValue("policy", Input.policyChoices).pipe(
    Options.withDescription("Read policy (default cache-first; CacheFirst, NetworkFirst, … are accepted too)"),
    Options.withDefault("CacheFirst" as const)
  )
}, (o) =>
  withCache(o, ({ cache, format }) =>
    Effect.gen(function*() {
      const answer = yield* cache.retrieve(o.id, { policy: o.policy })
      const m = answer.value
      const provenance = {
        source: answer.source,
        ageMillis: Duration.toMillis(answer.age),
        stale: answer.stale,
        pending: answer.pending
      }
      yield* Output.emit(format, { meeting: Output.meetingJson(m), ...provenance }, () =>
        Output.table(["", ""], [
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
  ...common,
  title: Options.text("title"),
  start: Options.text("start").pipe(Options.withDescription("ISO 8601; must be in the past")),
  end: Options.text("end").pipe(Options.withDescription("ISO 8601; must be in the past")),
  attendee: Options.text("attendee").pipe(Options.repeated),
  organizer: Options.text("organizer").pipe(Options.optional),
  description: Options.text("description").pipe(Options.optional),
  privacy: Options.choice("privacy", ["FULL", "METADATA"]).pipe(Options.optional),
  offline: Options.boolean("offline").pipe(Options.withDescription("Queue in the outbox without trying the network"))
}, (o) =>
  withCache(o, ({ cache, format }) =>
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
      yield* Output.emit(format, { meeting: Output.meetingJson(created.value), pending: created.pending }, () =>
        `${created.pending ? "queued (offline)" : "created"} ${created.value.id}`)

    }))).pipe(Command.withDescription("Create a meeting (write-through; queued when offline)"))

// -- update ----------------------------------------------------------------------------------------
const update = Command.make("update", {
  ...common,
  id: Args.text({ name: "id" }),
  privacy: Options.choice("privacy", ["FULL", "METADATA"]),
  offline: Options.boolean("offline")
}, (o) =>
  withCache(o, ({ cache, format }) =>
    Effect.gen(function*() {
      const updated = yield* cache.update(o.id, { fields: { $privacySetting: o.privacy } }, { offline: o.offline })
      yield* Output.emit(format, { meeting: Output.meetingJson(updated.value), pending: updated.pending }, () =>
        `${updated.pending ? "queued (offline)" : "updated"} ${updated.value.id}: privacy ${o.privacy}`)

    }))).pipe(Command.withDescription("Change a meeting's privacy setting"))

// -- transcript ------------------------------------------------------------------------------------
const transcriptUpload = Command.make("upload", {
  ...common,
  meetingId: Args.text({ name: "meeting-id" }),
  file: Args.text({ name: "file" }),
  mimeType: Options.text("mime-type").pipe(Options.withDescription("Content type (default: from the file name)"), Options.optional)
}, (o) =>
  withCache(o, ({ format, transcripts }) =>
    Effect.gen(function*() {
      const size = fileSize(o.file)
      if (size === 0) return yield* new UsageError({ message: `${o.file} is missing or empty` })
      const service = yield* transcripts
      const bar = Output.uploadBar(process.stderr.isTTY === true)
      const meeting = yield* service.attach(
        o.meetingId,
        { _tag: "Path", path: o.file, ...(Option.isSome(o.mimeType) ? { mimeType: o.mimeType.value } : {}) },
        { onProgress: format === "table" ? bar : noProgress }
      )
      const fileId = Option.getOrNull(meeting.transcriptFileId)
      yield* Output.emit(format, { meetingId: meeting.id, fileId, sizeBytes: size }, () =>
        `attached ${fileId ?? "(redacted)"} (${size} bytes) to ${meeting.id}`)
    }))).pipe(Command.withDescription("Upload a file and make it the meeting's transcript (resumes an interrupted run)"))

const transcript = Command.make("transcript").pipe(
  Command.withDescription("Meeting transcripts through the files API"),
  Command.withSubcommands([transcriptUpload])
)

// -- outbox ----------------------------------------------------------------------------------------
const outboxList = Command.make("list", common, (o) =>
  withCache(o, ({ cache, format }) =>
    Effect.gen(function*() {
      const pending = yield* cache.outbox
      const dead = yield* cache.deadLetters
      const all = [...pending, ...dead]
      yield* Output.emit(format, all, () =>
        Output.table(
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

const outboxReplay = Command.make("replay", common, (o) =>
  withCache(o, ({ cache, format }) =>
    Effect.gen(function*() {
      const r = yield* cache.replay
      const summary = {
        replayed: r.replayed,
        dead: r.dead,
        remaining: r.remaining,
        resolved: r.resolved,
        stoppedBy: Option.getOrNull(r.stoppedBy)
      }
      yield* Output.emit(format, summary, () =>
        `replayed ${r.replayed}, dead letters ${r.dead}, remaining ${r.remaining}` +
        r.resolved.map((x) => `\n  ${x.localId} -> ${x.id}`).join(""))

    }))).pipe(Command.withDescription("Send the queued writes, in order"))

const outbox = Command.make("outbox").pipe(
  Command.withDescription("The durable outbox of offline writes"),
  Command.withSubcommands([outboxList, outboxReplay])
)

// -- status ----------------------------------------------------------------------------------------
const status = Command.make("status", common, (o) =>
  withCache(o, ({ cache, file, format }) =>
    Effect.gen(function*() {
      const s = yield* cache.stats
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
      yield* Output.emit(format, summary, () => Output.table(["", ""], Object.entries(summary).map(([k, v]) => [k, String(v)]), 60))

    }))).pipe(Command.withDescription("Cache size, last sync, outbox depth, hit ratio"))

// -- sandbox ---------------------------------------------------------------------------------------
const sandbox = Command.make("sandbox", {
  json,
  format,
  port: Options.integer("port").pipe(Options.withDefault(4010)),
  seed: Options.integer("seed").pipe(Options.withDefault(1)),
  meetings: Options.integer("meetings").pipe(Options.withDefault(200)),
  rate: Options.integer("rate").pipe(Options.withDescription("Requests per second, 0 = off"), Options.withDefault(25))
}, (o) =>
  Effect.gen(function*() {
    const chosen = yield* Input.format(o.json, o.format)
    const Target = yield* loadTarget
    const s = yield* Target.startSandbox({
      port: o.port,
      seed: o.seed,
      meetings: o.meetings,
      rateLimit: o.rate === 0 ? false : { perSecond: o.rate }
    })
    const baseUrl = yield* s.baseUrl
    const started = { baseUrl, meetings: o.meetings, keys: s.keys }
    // JSON on one line (json or jsonl), so a script can read it and go on reading nothing else.
    yield* Output.emit(chosen === "json" ? "jsonl" : chosen, started, () =>
      [
        `Lightfield sandbox listening on ${baseUrl} (${o.meetings} meetings)`,
        ...Object.entries(s.keys).map(([label, key]) => `  ${label.padEnd(9)} ${key}`)
      ].join("\n"))
    return yield* Effect.never
  }).pipe(Effect.scoped)).pipe(Command.withDescription("Serve the sandbox standalone until Ctrl-C"))

// -- fleet: the fleet story ------------------------------------------------------------------------
const fleet = Command.make("fleet", { db, redis }, (o) =>
  Effect.gen(function*() {
    const FleetStory = yield* Effect.promise(() => import("./FleetStory.js"))
    return yield* FleetStory.run(o)
  })).pipe(
  Command.withDescription(
    "Four instances on one PostgreSQL mirror (a scratch database on --db's server, default 127.0.0.1:5432), " +
      "one rate budget (--redis), one outbox, against an embedded sandbox"
  )
)

// -- root: the story -------------------------------------------------------------------------------
export const root = Command.make("lightfield-demo", { db }, (o) =>
  Effect.gen(function*() {
    const Target = yield* loadTarget
    const Story = yield* Effect.promise(() => import("./Story.js"))
    return yield* Story.run(yield* Target.dbPath(o.db))
  })).pipe(
  Command.withDescription("With no subcommand: the whole story against an embedded sandbox"),
  Command.withSubcommands([sync, list, watch, get, create, update, remove, transcript, outbox, status, sandbox, fleet])
)

const fileSize = (file: string): number => {
  try {
    return statSync(file).size
  } catch {
    return 0
  }
}
