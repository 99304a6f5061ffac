/** Hand-made meetings, temp database files and an in-memory fake of the network `Meetings`. */
import { Meeting, Meetings, MeetingsError } from "@lightfield-effect/core"
import type { MeetingParams } from "@lightfield-effect/core"
import { Chunk, DateTime, Duration, Effect, Layer, Option, Schedule, Stream } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { SqlClient } from "@effect/sql"
import type { CacheError } from "../src/index.js"
import { Database, MeetingsCache } from "../src/index.js"
import * as MeetingRows from "../src/internal/meetingRows.js"
import * as OutboxStore from "../src/internal/outboxStore.js"
import type { MeetingsCacheOptions } from "../src/MeetingsCache.js"

export interface MeetingSpec {
  readonly title?: string
  readonly start?: string
  readonly end?: string
  readonly organizer?: string
  readonly attendees?: ReadonlyArray<string>
  readonly access?: "FULL" | "METADATA"
  readonly description?: string | null
  readonly createdAt?: string
  readonly updatedAt?: string | null
  readonly transcript?: string
  readonly privacy?: "FULL" | "METADATA"
}

export const meeting = (id: string, spec: MeetingSpec = {}): Meeting.Meeting => {
  const access = spec.access ?? "FULL"
  const start = spec.start ?? "2026-01-10T10:00:00.000Z"
  const fields: Record<string, Meeting.Meeting["fields"][string]> = {
    $title: { value: spec.title ?? `Meeting ${id}`, valueType: "TEXT" },
    $startDate: { value: start, valueType: "DATETIME" },
    $endDate: { value: spec.end ?? start, valueType: "DATETIME" },
    $description: { value: access === "FULL" ? (spec.description ?? `Notes of ${id}`) : null, valueType: "TEXT" },
    $organizerEmail: { value: spec.organizer ?? "owner@acme.test", valueType: "EMAIL" },
    $attendeeEmails: { value: [...(spec.attendees ?? ["a@acme.test"])], valueType: "EMAIL" },
    $privacySetting: { value: spec.privacy ?? "FULL", valueType: "SINGLE_SELECT" }
  }
  const relationships: Meeting.Meeting["relationships"] = access === "FULL" && spec.transcript !== undefined
    ? { $transcript: { cardinality: "has_one", objectType: "file", values: [spec.transcript] } }
    : {}
  return Meeting.Meeting.make({
    id: Meeting.MeetingId.make(id),
    accessLevel: access,
    createdAt: DateTime.unsafeMake(spec.createdAt ?? start),
    fields,
    httpLink: null,
    objectType: "meeting",
    relationships,
    updatedAt: spec.updatedAt === undefined ? DateTime.unsafeMake(start) : spec.updatedAt === null ? null : DateTime.unsafeMake(spec.updatedAt)
  })
}

/**
 * Wait until `check` holds: poll it every 10 ms, fail with a `TimeoutException` after `timeout`
 * (instead of a fixed sleep that is either too short on a busy machine or wastes time).
 */
export const eventually = <E, R>(check: Effect.Effect<boolean, E, R>, timeout: Duration.DurationInput = "10 seconds") =>
  check.pipe(
    Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (ok) => ok }),
    Effect.timeout(timeout),
    Effect.asVoid
  )

/** A temp folder removed when the scope closes. */
export const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "lf-cache-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

export const dbLayer = (filename: string) => Database.layer({ filename })

/** The database at `location`: a `postgres://` URL (a small pool) or a SQLite file name. */
export const databaseLayer = (location: string) =>
  /^postgres(ql)?:\/\//.test(location)
    ? Database.layer({ url: location, maxConnections: 3 })
    : Database.layer({ filename: location })

/** The owner of the meetings rows (and what it needs) over a database. */
export const rowsLayer = (db: Layer.Layer<Database.Services, CacheError.CacheError>) =>
  MeetingRows.layer.pipe(Layer.provideMerge(OutboxStore.layer), Layer.provideMerge(db))

// ---------------------------------------------------------------------------------------------
// Fake network
// ---------------------------------------------------------------------------------------------

export interface FakeRequest {
  readonly op: "create" | "update" | "retrieve" | "list" | "delete"
  readonly id?: string
  readonly idempotencyKey?: string
  readonly replayed?: boolean
}

export interface FakeState {
  down: boolean
  readonly meetings: Map<string, Meeting.Meeting>
  /** Ids the list does not show yet (index lag). */
  readonly hidden: Set<string>
  readonly requests: Array<FakeRequest>
  readonly idempotency: Map<string, Meeting.Meeting>
  /** Failure for the next writes (e.g. a 422), until cleared. */
  writeFailure: MeetingsError.MeetingsError | undefined
  /** Failures of creates by title (only those meetings are refused). */
  readonly refuseTitles: Map<string, MeetingsError.MeetingsError>
  /** Store the create, then answer as if the connection dropped (once per flag set). */
  dropAfterCommit: boolean
  /** Store the create, then never answer (the caller is interrupted or the process dies). */
  hangAfterCommit: boolean
  /** The stream's closing progress event says `complete: false` (the scan gave up early). */
  incompleteScan: boolean
  /**
   * The next stream's first page holds only this many meetings (its `totalCount` still says all),
   * and the stream ends there claiming `complete: true`, as a client trusting short pages would.
   */
  shortPage: number | undefined
  /** Delay before each page of a stream (to make scans overlap). */
  pageDelay: Duration.DurationInput
  /** How many streams (full scans) were started. */
  streams: number
  counter: number
}

export const makeFake = (initial: Iterable<Meeting.Meeting> = []) => {
  const state: FakeState = {
    down: false,
    meetings: new Map(Array.from(initial, (m) => [m.id, m] as const)),
    hidden: new Set(),
    requests: [],
    idempotency: new Map(),
    writeFailure: undefined,
    refuseTitles: new Map(),
    dropAfterCommit: false,
    hangAfterCommit: false,
    incompleteScan: false,
    shortPage: undefined,
    pageDelay: 0,
    streams: 0,
    counter: 0
  }
  const unavailable = () =>
    new MeetingsError.MeetingsUnavailable({ reason: "Transport", message: "connection refused (fake)" })
  const guard = Effect.suspend(() => (state.down ? Effect.fail(unavailable()) : Effect.void))
  const visible = (): ReadonlyArray<Meeting.Meeting> =>
    Array.from(state.meetings.values())
      .filter((m) => !state.hidden.has(m.id))
      // The API's order (spec §14 #9, as the sandbox): createdAt desc, then id asc.
      .sort((a, b) => DateTime.toEpochMillis(b.createdAt) - DateTime.toEpochMillis(a.createdAt) || (a.id < b.id ? -1 : 1))

  const shape: Meetings.MeetingsShape = {
    create: (params: MeetingParams.CreateMeetingParams, options) =>
      Effect.zipRight(
        guard,
        Effect.suspend(() => {
          const key = options?.idempotencyKey
          const cached = key === undefined ? undefined : state.idempotency.get(`create:${key}`)
          state.requests.push({
            op: "create",
            ...(key === undefined ? {} : { idempotencyKey: key }),
            replayed: cached !== undefined
          })
          if (cached !== undefined) return Effect.succeed(cached)
          if (state.writeFailure !== undefined) return Effect.fail(state.writeFailure)
          const refused = state.refuseTitles.get(params.fields.$title)
          if (refused !== undefined) return Effect.fail(refused)
          state.counter++
          const id = `mtg_fake_${state.counter}`
          const m = meeting(id, {
            title: params.fields.$title,
            start: params.fields.$startDate,
            end: params.fields.$endDate,
            ...(params.fields.$organizerEmail ? { organizer: params.fields.$organizerEmail } : {}),
            attendees: params.fields.$attendeeEmails ?? [],
            description: params.fields.$description ?? null,
            createdAt: new Date(Date.now()).toISOString()
          })
          state.meetings.set(id, m)
          if (key !== undefined) state.idempotency.set(`create:${key}`, m)
          if (state.dropAfterCommit) {
            state.dropAfterCommit = false
            return Effect.fail(unavailable())
          }
          if (state.hangAfterCommit) return Effect.never
          return Effect.succeed(m)
        })
      ),
    update: (id, params, options) =>
      Effect.zipRight(
        guard,
        Effect.suspend(() => {
          const key = options?.idempotencyKey
          state.requests.push({ op: "update", id, ...(key === undefined ? {} : { idempotencyKey: key }) })
          if (state.writeFailure !== undefined) return Effect.fail(state.writeFailure)
          const current = state.meetings.get(id)
          if (current === undefined) {
            return Effect.fail(new MeetingsError.MeetingNotFound({ id, message: "No resource found" }))
          }
          const fields = { ...current.fields }
          if (params.fields !== undefined) {
            fields.$privacySetting = { value: params.fields.$privacySetting ?? "FULL", valueType: "SINGLE_SELECT" }
          }
          const next = Meeting.Meeting.make({ ...current, fields, updatedAt: DateTime.unsafeMake(Date.now()) })
          state.meetings.set(id, next)
          return Effect.succeed(next)
        })
      ),
    delete: (id, options) =>
      Effect.zipRight(
        guard,
        Effect.suspend(() => {
          const key = options?.idempotencyKey
          state.requests.push({ op: "delete", id, ...(key === undefined ? {} : { idempotencyKey: key }) })
          if (state.writeFailure !== undefined) return Effect.fail(state.writeFailure)
          const current = state.meetings.get(id)
          if (current === undefined) {
            return Effect.fail(new MeetingsError.MeetingNotFound({ id, message: "No resource found" }))
          }
          state.meetings.delete(id)
          return Effect.succeed(Option.some(current))
        })
      ),
    retrieve: (id) =>
      Effect.zipRight(
        guard,
        Effect.suspend(() => {
          state.requests.push({ op: "retrieve", id })
          const m = state.meetings.get(id)
          return m === undefined
            ? Effect.fail(new MeetingsError.MeetingNotFound({ id, message: "No resource found" }))
            : Effect.succeed(m)
        })
      ),
    list: (params) =>
      Effect.zipRight(
        guard,
        Effect.sync(() => {
          state.requests.push({ op: "list" })
          const all = visible()
          const offset = params?.offset ?? 0
          const limit = params?.limit ?? 25
          return Meeting.MeetingListPage.make({
            data: all.slice(offset, offset + limit),
            object: "list",
            totalCount: all.length
          })
        })
      ),
    // Like core's client: a progress event per page (`complete: false`), then one closing event.
    stream: (options) => {
      state.streams++
      const progress = { pages: 0, items: 0, totalCount: 0 }
      const report = (complete: boolean) =>
        options?.onProgress === undefined ? Effect.void : options.onProgress({ ...progress, complete })
      const pages = Stream.paginateChunkEffect(0, (offset) =>
        Effect.zipRight(
          Effect.zipRight(Effect.suspend(() => Effect.sleep(state.pageDelay)), guard),
          Effect.suspend(() => {
            const all = visible()
            const size = options?.pageSize ?? 25
            const cut = offset === 0 ? state.shortPage : undefined
            state.shortPage = undefined
            const page = all.slice(offset, offset + Math.min(size, cut ?? size))
            progress.pages++
            progress.items += page.length
            progress.totalCount = all.length
            return Effect.as(
              report(false),
              [Chunk.fromIterable(page), page.length < size ? Option.none<number>() : Option.some(offset + size)] as const
            )
          })
        ))
      return Stream.concat(pages, Stream.execute(Effect.suspend(() => report(!state.incompleteScan))))
    }
  }
  return { state, shape }
}

export type Fake = ReturnType<typeof makeFake>

export const fakeLayer = (fake: Fake) => Layer.succeed(Meetings.Meetings, fake.shape)

/** The cache over the fake network and a real database (a SQLite file or a `postgres://` URL). */
export const cacheLayer = (file: string, fake: Fake, options: MeetingsCacheOptions = { principal: "tester" }) =>
  MeetingsCache.layer(options).pipe(Layer.provideMerge(fakeLayer(fake)), Layer.provideMerge(databaseLayer(file)))

export const withCache = <A, E>(
  file: string,
  fake: Fake,
  f: (cache: MeetingsCache.MeetingsCacheShape) => Effect.Effect<A, E, SqlClient.SqlClient>,
  options?: MeetingsCacheOptions
) =>
  Effect.flatMap(MeetingsCache.MeetingsCache, f).pipe(Effect.provide(cacheLayer(file, fake, options)))

export const createParams = (title: string) => ({
  fields: {
    $title: title,
    $startDate: "2026-03-01T10:00:00.000Z",
    $endDate: "2026-03-01T11:00:00.000Z",
    $description: `About ${title}`,
    $organizerEmail: "me@acme.test",
    $attendeeEmails: ["you@acme.test"]
  }
})

export const many = (n: number, prefix = "m") =>
  Array.from({ length: n }, (_, i) =>
    meeting(`${prefix}_${String(i).padStart(5, "0")}`, {
      start: new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString(),
      organizer: `org${i % 7}@acme.test`
    }))
