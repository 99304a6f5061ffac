/**
 * The sync stores the wire JSON core validated (`Meetings.streamWire` → `MeetingRows.upsertWire`):
 * every column, the body and the attendees equal what the domain path (`Meeting` → `Row.encode` as
 * it was before the wire path) writes, for the sandbox's meetings and for tricky shapes.
 */
import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { Meeting, MeetingCodec, Meetings, Redaction } from "@lightfield-effect/core"
import { Sandbox } from "@lightfield-effect/sandbox"
import { Arbitrary, Array as Arr, Chunk, DateTime, Effect, FastCheck, Option, Stream } from "effect"
import { MeetingsCache, Principal } from "../src/index.js"
import * as Row from "../src/internal/meetingRow.js"
import { databases } from "./databases.js"
import { meeting } from "./fixtures.js"
import { cacheLayer, principalOf } from "./sandbox.js"

/** The row as `Row.encode` built it before the wire path (the reference the wire path must equal). */
const domainRow = (principal: Principal.Principal, input: Meeting.Meeting, options: Row.UpsertOptions) => {
  const m = Redaction.redact(input)
  const millisOf = (dt: Option.Option<DateTime.Utc>) => (Option.isSome(dt) ? DateTime.toEpochMillis(dt.value) : null)
  return {
    row: {
      principal,
      id: m.id,
      title: Option.getOrNull(m.title),
      description: m.accessLevel === "FULL" ? Option.getOrNull(m.description) : null,
      start_date: millisOf(m.startDate),
      end_date: millisOf(m.endDate),
      organizer: Option.getOrNull(Option.map(m.organizerEmail, (e) => e.trim().toLowerCase())),
      access_level: m.accessLevel,
      created_at: DateTime.toEpochMillis(m.createdAt),
      updated_at: m.updatedAt === null ? null : DateTime.toEpochMillis(m.updatedAt),
      fetched_at: options.now,
      written_at: options.mode === "write" || options.mode === "local" ? options.now : null,
      pending: options.mode === "local" ? 1 : 0,
      gone: 0,
      seen_scan: options.scanId ?? null,
      body: MeetingCodec.encodeMeetingJson(m)
    },
    attendees: Arr.dedupe(Option.getOrElse(m.attendeeEmails, (): ReadonlyArray<string> => []).map((e) => e.trim().toLowerCase()))
  }
}

const principal = Principal.fromApiKey("sk_lf_wire")
const scan: Row.UpsertOptions = { mode: "scan", now: 1_700_000_000_000, scanId: "scan-1" }

const assertSameRow = (m: Meeting.Meeting, wire: MeetingCodec.WireMeeting = MeetingCodec.encodeMeeting(m)) => {
  const expected = domainRow(principal, m, scan)
  for (const encoded of [Row.encodeWire(principal, wire, scan), Row.encode(principal, m, scan)]) {
    assert.isTrue(encoded._tag === "Right")
    if (encoded._tag === "Right") {
      assert.deepStrictEqual(encoded.right.row, expected.row)
      assert.deepStrictEqual(encoded.right.attendees, expected.attendees)
    }
  }
}

const tricky: ReadonlyArray<Meeting.Meeting> = [
  meeting("w_1", { transcript: "fil_1" }),
  meeting("w_2", { access: "METADATA", updatedAt: null, transcript: "fil_2" }),
  Meeting.Meeting.make({ ...meeting("w_3"), externalId: "ext-3" }),
  Meeting.Meeting.make({ ...meeting("w_4"), externalId: null, httpLink: "https://app.lightfield.app/m/w_4" }),
  // No system fields at all; nulls; unknown value types; odd spellings of the indexed columns.
  Meeting.Meeting.make({ ...meeting("w_5"), fields: {} }),
  Meeting.Meeting.make({
    ...meeting("w_6", { access: "METADATA" }),
    fields: {
      $title: { value: ["First", "Second"], valueType: "TEXT" },
      $description: { value: "secret", valueType: "MARKDOWN" },
      $startDate: { value: "2026-04-07T23:00:00+02:00", valueType: "DATETIME" },
      $endDate: { value: "2026-04-07T21:30:00", valueType: "DATETIME" },
      $organizerEmail: { value: "  Ada@Acme.Example ", valueType: "EMAIL" },
      $attendeeEmails: { value: ["B@x.example", " b@x.example", "c@y.example"], valueType: "EMAIL" },
      notes: { value: "<p>content</p>", valueType: "HTML" } as unknown as Meeting.Meeting["fields"][string],
      deep: { value: { a: [1, { b: null }] }, valueType: "HTML_V2" } as unknown as Meeting.Meeting["fields"][string]
    }
  }),
  Meeting.Meeting.make({
    ...meeting("w_7"),
    fields: {
      $title: { value: null, valueType: "TEXT" },
      $startDate: { value: "not a date", valueType: "DATETIME" },
      $endDate: { value: null, valueType: "DATETIME" },
      $organizerEmail: { value: [], valueType: "EMAIL" },
      $attendeeEmails: { value: "Solo@X.example", valueType: "EMAIL" }
    }
  })
]

describe("wire rows", () => {
  it("the row of a wire meeting equals the domain path's, on tricky shapes", () => {
    for (const m of tricky) {
      assertSameRow(m)
      // The wire form as the page decoder hands it over (parsed JSON, taken as it is or re-encoded).
      const page = MeetingCodec.decodeWirePageJson(JSON.stringify({ data: [MeetingCodec.encodeMeeting(m)], object: "list", totalCount: 1 }))
      assert.isTrue(page._tag === "Right")
      if (page._tag === "Right") assertSameRow(m, page.right.data[0]!)
    }
  })

  it("the row of a wire meeting equals the domain path's, on generated meetings", () => {
    FastCheck.assert(
      FastCheck.property(Arbitrary.make(Meeting.Meeting), (m) => assertSameRow(m, JSON.parse(MeetingCodec.encodeMeetingJson(m)))),
      { numRuns: 200 }
    )
  })

  it("epochMillis is DateTime's parse, without the DateTime", () => {
    const samples = [
      "2026-04-07T21:00:00.000Z", "2026-04-07T21:00:00Z", "2026-04-07T23:00:00+02:00", "2026-04-07T21:00:00",
      "2026-04-07", "not a date", "", "Z", "2026-13-01T00:00:00.000Z", "+275760-09-13T00:00:00.000Z", "Tue, 07 Apr 2026 21:00:00 GMT"
    ]
    const reference = (s: string) => Option.getOrNull(Option.map(DateTime.make(s), DateTime.toEpochMillis))
    for (const s of samples) assert.strictEqual(Meeting.epochMillis(s), reference(s), s)
    FastCheck.assert(FastCheck.property(FastCheck.date({ noInvalidDate: true }), (d) => {
      const s = d.toISOString()
      assert.strictEqual(Meeting.epochMillis(s), reference(s))
    }))
    FastCheck.assert(FastCheck.property(FastCheck.string(), (s) => assert.strictEqual(Meeting.epochMillis(s), reference(s))))
  })
})

interface StoredRow {
  readonly [column: string]: unknown
}

const storedRows = (owner: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<StoredRow>`SELECT ${sql.literal(Row.columns.join(", "))} FROM meetings WHERE principal = ${owner}`
    const attendees = yield* sql<{ meeting_id: string; email: string }>`SELECT meeting_id, email FROM meeting_attendees
      WHERE principal = ${owner}`
    return { rows, attendees }
  })

describe.each(databases)("a sync stores what the domain path stores ($name)", (db) => {
  it.scopedLive("every column, body and attendee of the sandbox's meetings, FULL and METADATA views", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.make({ meetings: 120, rateLimit: false })
      for (const key of ["admin", "member"] as const) {
        const file = yield* db.fresh
        yield* Effect.gen(function*() {
          const cache = yield* MeetingsCache.MeetingsCache
          const network = yield* Meetings.Meetings
          const result = yield* cache.sync({ concurrency: 3, batchSize: 40 })
          assert.isTrue(result.complete)
          const owner = principalOf(sandbox, key)
          const { attendees, rows } = yield* storedRows(owner)
          const served = Chunk.toReadonlyArray(yield* Stream.runCollect(network.stream()))
          assert.strictEqual(rows.length, served.length)
          const byId = new Map(rows.map((r) => [r.id as string, r]))
          for (const m of served) {
            const stored = byId.get(m.id)!
            const expected = domainRow(owner, m, { mode: "scan", now: Number(stored.fetched_at), scanId: result.scanId })
            for (const column of Row.columns) {
              // Numbers come back as numbers on both databases; compare as stored.
              const value = stored[column]
              assert.deepStrictEqual(value === null ? null : typeof value === "bigint" ? Number(value) : value, expected.row[column], `${m.id} ${column}`)
            }
            assert.deepStrictEqual(
              attendees.filter((a) => a.meeting_id === m.id).map((a) => a.email).sort(),
              [...expected.attendees].sort(),
              m.id
            )
          }
          if (key === "member") assert.isTrue(served.some((m) => m.accessLevel === "METADATA"), "the member sees METADATA views")
        }).pipe(Effect.provide(cacheLayer(sandbox, key, file)))
      }
    }), 60_000)

  it.scopedLive("a hostile page fails the sync with a typed error, and nothing of it is stored", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.make({ meetings: 10, rateLimit: false })
      const file = yield* db.fresh
      const [one] = yield* sandbox.meetings
      const wire = MeetingCodec.encodeMeeting(one!)
      const hostile = { ...wire, fields: { ...wire.fields, $title: { value: { nested: [1] }, valueType: "TEXT" } } }
      yield* sandbox.inject({
        fault: { _tag: "Respond", status: 200, body: JSON.stringify({ data: [wire, hostile], object: "list", totalCount: 2 }) },
        match: "GET /v1/meetings",
        times: 1
      })
      yield* Effect.gen(function*() {
        const cache = yield* MeetingsCache.MeetingsCache
        const error = yield* Effect.flip(cache.sync({ concurrency: 1 }))
        assert.strictEqual(error._tag, "UndecodableResponse")
        if (error._tag === "UndecodableResponse") assert.include(error.path ?? "", "data.1.fields")
        const { rows } = yield* storedRows(principalOf(sandbox, "admin"))
        assert.strictEqual(rows.length, 0)
      }).pipe(Effect.provide(cacheLayer(sandbox, "admin", file)))
    }), 30_000)
})
