import { SqlClient } from "@effect/sql"
import { assert, describe, it, layer } from "@effect/vitest"
import { Meeting, MeetingCodec } from "@lightfield-effect/core"
import { Effect, Either, Option, Schema } from "effect"
import { MeetingQuery, Principal } from "../src/index.js"
import * as MeetingRow from "../src/internal/meetingRow.js"
import type { StoredMeeting } from "../src/internal/meetingRow.js"
import { MeetingRows } from "../src/internal/meetingRows.js"
import { databases } from "./databases.js"
import { meeting, rowsLayer } from "./fixtures.js"


const alice = Principal.fromApiKey("sk_lf_alice")
const bob = Principal.fromApiKey("sk_lf_bob")

const storedRow = (principal: string, id: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ body: string; description: string | null; access_level: string }>`
      SELECT body, description, access_level FROM meetings WHERE principal = ${principal} AND id = ${id}`
    return rows[0]
  })

describe("stored body", () => {
  it("the stored body is the wire JSON of Schema.encode(Meeting), and decodeBody restores an equal Meeting", () => {
    const samples = [
      meeting("e_1", { transcript: "fil_1" }),
      meeting("e_2", { access: "METADATA", updatedAt: null }),
      Meeting.Meeting.make({ ...meeting("e_3"), externalId: "ext-3" }),
      Meeting.Meeting.make({ ...meeting("e_4"), externalId: null, httpLink: "https://app.lightfield.app/m/e_4" })
    ]
    for (const m of samples) {
      const fast = MeetingCodec.encodeMeetingJson(m)
      assert.deepStrictEqual(JSON.parse(fast), Schema.encodeSync(Meeting.Meeting)(m))
      const back = MeetingRow.decode({ id: m.id, body: fast, fetched_at: 1, pending: 0, gone: 0, written_at: null })
      assert.isTrue(Either.isRight(back))
      assert.deepStrictEqual(Either.getOrThrow(back).meeting, m)
      assert.deepStrictEqual(Schema.decodeUnknownSync(Meeting.Meeting)(JSON.parse(fast)), m)
    }
    assert.isTrue(Either.isLeft(MeetingRow.decode({ id: "x", body: "{not json", fetched_at: 1, pending: 0, gone: 0, written_at: null })))
  })
})

describe("Principal", () => {
  it("fingerprints keys without revealing them", () => {
    assert.notStrictEqual(alice, bob)
    assert.strictEqual(alice, Principal.fromApiKey("sk_lf_alice"))
    assert.notInclude(alice, "alice")
    assert.match(alice, /^k_[0-9a-f]{32}$/)
  })
})

for (const db of databases) {
  layer(rowsLayer(db.layer))(`MeetingsRepo queries (${db.name})`, (it) => {
    const seed = Effect.gen(function*() {
      const repo = yield* MeetingRows
      yield* repo.upsert(alice, [
        meeting("q_1", { title: "Quarterly planning", start: "2026-01-05T09:00:00.000Z", organizer: "Olga@acme.test", attendees: ["x@acme.test", "y@acme.test"] }),
        meeting("q_2", { title: "Customer call", start: "2026-01-15T09:00:00.000Z", organizer: "olga@acme.test", attendees: ["y@acme.test"], description: "Discuss the renewal pricing" }),
        meeting("q_3", { title: "Retro", start: "2026-02-01T09:00:00.000Z", organizer: "pete@acme.test", attendees: ["x@acme.test"], access: "METADATA" }),
        meeting("q_4", { title: "Planning poker", start: "2026-02-10T09:00:00.000Z", organizer: "pete@acme.test", attendees: [] })
      ], { mode: "scan", now: 1000, scanId: "s1" })
      return repo
    })

    it.effect("filters by date range, organizer, attendee, access level, text, with limit/offset", () =>
      Effect.gen(function*() {
        const repo = yield* seed
        const ids = (rows: ReadonlyArray<StoredMeeting>) => rows.map((r) => r.meeting.id)
        assert.deepStrictEqual(ids(yield* repo.query(alice, { order: "asc" })), ["q_1", "q_2", "q_3", "q_4"])
        assert.deepStrictEqual(
          ids(yield* repo.query(alice, { from: "2026-01-10T00:00:00Z", to: "2026-02-05T00:00:00Z", order: "asc" })),
          ["q_2", "q_3"]
        )
        assert.deepStrictEqual(ids(yield* repo.query(alice, { organizer: "OLGA@acme.test" })), ["q_2", "q_1"])
        assert.deepStrictEqual(
          ids(yield* repo.query(alice, { organizer: "olga@acme.test", from: new Date("2026-01-10T00:00:00Z") })),
          ["q_2"]
        )
        assert.deepStrictEqual(ids(yield* repo.query(alice, { attendee: "x@acme.test", order: "asc" })), ["q_1", "q_3"])
        assert.deepStrictEqual(ids(yield* repo.query(alice, { accessLevel: "METADATA" })), ["q_3"])
        assert.deepStrictEqual(ids(yield* repo.query(alice, { text: "planning", order: "asc" })), ["q_1", "q_4"])
        assert.deepStrictEqual(ids(yield* repo.query(alice, { text: "renewal" })), ["q_2"])
        assert.deepStrictEqual(ids(yield* repo.query(alice, { text: "plan" , order: "asc"})), ["q_1", "q_4"])
        assert.deepStrictEqual(ids(yield* repo.query(alice, { text: "\" OR *" })), [])
        assert.deepStrictEqual(ids(yield* repo.query(alice, { order: "asc", limit: 2, offset: 1 })), ["q_2", "q_3"])
        assert.strictEqual(yield* repo.count(alice, { organizer: "pete@acme.test" }), 2)
        // Another principal sees none of it.
        assert.deepStrictEqual(ids(yield* repo.query(bob, {})), [])
        assert.isTrue(Option.isNone(yield* repo.findById(bob, "q_1")))
      }))
  })
}

for (const db of databases) {
  layer(rowsLayer(db.layer))(`MeetingsRepo privacy (${db.name})`, (it) => {
    it.effect("two principals keep separate rows and redaction levels for the same meeting id", () =>
      Effect.gen(function*() {
        const repo = yield* MeetingRows
        yield* repo.upsert(alice, [meeting("p_1", { description: "secret strategy", transcript: "fil_1" })], { mode: "fetch", now: 1 })
        yield* repo.upsert(bob, [meeting("p_1", { access: "METADATA" })], { mode: "fetch", now: 1 })
        const a = yield* storedRow(alice, "p_1")
        const b = yield* storedRow(bob, "p_1")
        assert.include(a!.body, "secret strategy")
        assert.strictEqual(a!.description, "secret strategy")
        assert.notInclude(b!.body, "secret strategy")
        assert.notInclude(b!.body, "fil_1")
        assert.isNull(b!.description)
        assert.strictEqual(b!.access_level, "METADATA")
        // Full-text search is per principal too.
        assert.strictEqual((yield* repo.query(alice, { text: "strategy" })).length, 1)
        assert.strictEqual((yield* repo.query(bob, { text: "strategy" })).length, 0)
        const read = yield* repo.findById(bob, "p_1")
        assert.isTrue(Option.isSome(read) && Option.isNone(read.value.meeting.description))
      }))

    it.effect("a batch larger than one statement (300 rows): every row, its attendees and the pending rule hold", () =>
      Effect.gen(function*() {
        const repo = yield* MeetingRows
        const sql = yield* SqlClient.SqlClient
        // Two locally written (pending) rows inside the batch's id range.
        yield* repo.upsert(alice, [meeting("b_10", { description: "local edit", attendees: ["local@acme.test"] })], {
          mode: "local",
          now: 1
        })
        yield* repo.upsert(alice, [meeting("b_200", { description: "private plan", attendees: ["local@acme.test"] })], {
          mode: "local",
          now: 1
        })
        const batch = Array.from({ length: 300 }, (_, i) =>
          meeting(`b_${i}`, {
            title: `Batch ${i}`,
            attendees: [`a${i}@acme.test`, `b${i}@acme.test`],
            ...(i === 200 ? { access: "METADATA" as const } : {})
          }))
        // A duplicate id: the last copy wins.
        batch.push(meeting("b_5", { title: "Batch 5 again", attendees: ["again@acme.test"] }))
        assert.strictEqual(yield* repo.upsert(alice, batch, { mode: "scan", now: 2, scanId: "s300" }), 300)
        const rows = yield* sql<{ id: string; title: string; pending: number; seen_scan: string | null; description: string | null }>`
          SELECT id, title, pending, seen_scan, description FROM meetings WHERE principal = ${alice} AND substr(id, 1, 2) = 'b_'`
        assert.strictEqual(rows.length, 300)
        const byId = new Map(rows.map((r) => [r.id, r]))
        assert.strictEqual(byId.get("b_0")!.title, "Batch 0")
        assert.strictEqual(byId.get("b_299")!.title, "Batch 299")
        assert.strictEqual(byId.get("b_5")!.title, "Batch 5 again")
        assert.strictEqual(rows.filter((r) => r.seen_scan === "s300").length, 298)
        // The pending FULL row met a FULL copy: kept as written locally.
        assert.strictEqual(byId.get("b_10")!.pending, 1)
        assert.strictEqual(byId.get("b_10")!.description, "local edit")
        // The pending FULL row met a METADATA copy: replaced redacted (still pending).
        assert.strictEqual(byId.get("b_200")!.pending, 1)
        assert.isNull(byId.get("b_200")!.description)
        const attendees = yield* sql<{ meeting_id: string; email: string }>`
          SELECT meeting_id, email FROM meeting_attendees WHERE principal = ${alice} AND substr(meeting_id, 1, 2) = 'b_'
          ORDER BY meeting_id, email`
        const of = (id: string) => attendees.filter((a) => a.meeting_id === id).map((a) => a.email)
        assert.deepStrictEqual(of("b_7"), ["a7@acme.test", "b7@acme.test"])
        assert.deepStrictEqual(of("b_5"), ["again@acme.test"])
        assert.deepStrictEqual(of("b_10"), ["local@acme.test"])
        assert.strictEqual(attendees.length, 297 * 2 + 1 + 1 + of("b_200").length)
        assert.strictEqual((yield* repo.query(alice, { text: "Batch 299" })).length, 1)
      }))

    it.effect("a METADATA copy replaces FULL content in the stored row and in the full-text index", () =>
      Effect.gen(function*() {
        const repo = yield* MeetingRows
        yield* repo.upsert(alice, [meeting("p_2", { description: "acquisition target zebra", transcript: "fil_9" })], {
          mode: "fetch",
          now: 1
        })
        assert.strictEqual((yield* repo.query(alice, { text: "zebra" })).length, 1)
        yield* repo.upsert(alice, [meeting("p_2", { access: "METADATA" })], { mode: "scan", now: 2, scanId: "s" })
        const row = yield* storedRow(alice, "p_2")
        assert.notInclude(row!.body, "zebra")
        assert.notInclude(row!.body, "fil_9")
        assert.isNull(row!.description)
        assert.strictEqual((yield* repo.query(alice, { text: "zebra" })).length, 0)
        const sql = yield* SqlClient.SqlClient
        const fts = yield* sql.onDialectOrElse({
          pg: () => sql<{ n: number }>`SELECT COUNT(*) AS n FROM meetings WHERE search @@ to_tsquery('lf_search', 'zebra')`,
          orElse: () => sql<{ n: number }>`SELECT COUNT(*) AS n FROM meetings_fts WHERE meetings_fts MATCH 'zebra'`
        })
        assert.strictEqual(fts[0]!.n, 0)
      }))

    it.effect("a METADATA copy that still carries content is redacted before it is stored", () =>
      Effect.gen(function*() {
        const repo = yield* MeetingRows
        const leaky = meeting("p_3", { access: "METADATA" })
        const withContent = Meeting.Meeting.make({
          ...leaky,
          fields: { ...leaky.fields, $description: { value: "leaked", valueType: "TEXT" }, notes: { value: "custom", valueType: "TEXT" } },
          relationships: { $transcript: { cardinality: "has_one", objectType: "file", values: ["fil_x"] } }
        })
        yield* repo.upsert(alice, [withContent], { mode: "fetch", now: 1 })
        const row = yield* storedRow(alice, "p_3")
        assert.notInclude(row!.body, "leaked")
        assert.notInclude(row!.body, "fil_x")
        assert.notInclude(row!.body, "custom")
      }))
  })
}

for (const db of databases) {
  layer(rowsLayer(db.layer))(`MeetingsRepo query limits (${db.name})`, (it) => {
    it.effect("[regression] full-text search caps its terms and length with a typed InvalidQuery error", () =>
      Effect.gen(function*() {
        const repo = yield* MeetingRows
        yield* repo.upsert(alice, [meeting("t_1", { title: "w0 w1 w2" })], { mode: "fetch", now: 1 })
        const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(" ")
        const tooMany = yield* Effect.flip(repo.query(alice, { text: words(MeetingQuery.maxSearchTerms + 1) }))
        assert.strictEqual(tooMany.reason, "InvalidQuery")
        assert.include(tooMany.message, "text")
        const tooLong = yield* Effect.flip(repo.count(alice, { text: "a".repeat(MeetingQuery.maxSearchLength + 1) }))
        assert.strictEqual(tooLong.reason, "InvalidQuery")
        // What an attacker sends (100k words) is refused the same way, before SQLite sees it.
        const hostile = yield* Effect.flip(repo.query(alice, { text: words(100_000) }))
        assert.strictEqual(hostile.reason, "InvalidQuery")
        // Within the limits, search works as before.
        assert.strictEqual((yield* repo.query(alice, { text: "w0 w1 w2" })).length, 1)
        assert.strictEqual((yield* repo.query(alice, { text: words(MeetingQuery.maxSearchTerms) })).length, 0)
      }))
  })
}

for (const db of databases) {
  layer(rowsLayer(db.layer))(`MeetingsRepo full-text search and large batches (${db.name})`, (it) => {
    it.effect("full-text search: every word a prefix, all required, case and diacritics ignored, query syntax inert", () =>
      Effect.gen(function*() {
        const repo = yield* MeetingRows
        const p = Principal.make("fts")
        yield* repo.upsert(p, [
          meeting("f_1", { title: "Café Zürich kick-off" }),
          meeting("f_2", { title: "Customer sync", description: "Renewal of the contract" }),
          meeting("f_3", { title: "Cafeteria planning", access: "METADATA" })
        ], { mode: "scan", now: 1, scanId: "s" })
        const ids = (text: string) =>
          Effect.map(repo.query(p, { text, order: "asc" }), (rows) => rows.map((r) => r.meeting.id))
        assert.deepStrictEqual(yield* ids("cafe zur"), ["f_1"])
        assert.deepStrictEqual(yield* ids("CAFÉ"), ["f_1", "f_3"])
        assert.deepStrictEqual(yield* ids("kick-off"), ["f_1"])
        assert.deepStrictEqual(yield* ids("renew contr"), ["f_2"])
        assert.deepStrictEqual(yield* ids("cust sync"), ["f_2"])
        assert.deepStrictEqual(yield* ids("customer zebra"), [])
        // Search syntax in the input is only words: no error, no operator.
        assert.deepStrictEqual(yield* ids("cafe:*|cust"), [])
        assert.deepStrictEqual(yield* ids("\"cafe\" OR & ! ( cust"), [])
        assert.strictEqual(yield* repo.count(p, { text: "planning" }), 1)
      }))

    it.effect("a sync batch larger than one statement is stored whole, attendees included; a pending row in it is kept", () =>
      Effect.gen(function*() {
        const repo = yield* MeetingRows
        const p = Principal.make("batch")
        yield* repo.upsert(p, [meeting("b_01234", { title: "Local edit" })], { mode: "local", now: 1 })
        const batch = Array.from({ length: 2_500 }, (_, i) =>
          meeting(`b_${String(i).padStart(5, "0")}`, { attendees: [`a${i % 5}@acme.test`, "all@acme.test"] }))
        assert.strictEqual(yield* repo.upsert(p, batch, { mode: "scan", now: 2, scanId: "s1" }), 2_500)
        assert.strictEqual(yield* repo.count(p), 2_500)
        assert.strictEqual(yield* repo.count(p, { attendee: "all@acme.test" }), 2_499)
        assert.strictEqual(yield* repo.count(p, { attendee: "a3@acme.test" }), 500)
        const kept = yield* repo.findById(p, "b_01234")
        assert.isTrue(Option.isSome(kept) && kept.value.pending)
        assert.strictEqual(Option.getOrThrow(kept).meeting.title.pipe(Option.getOrNull), "Local edit")
        const last = yield* repo.findById(p, "b_02499")
        assert.isTrue(Option.isSome(last) && !last.value.pending && last.value.fetchedAt === 2)
        assert.deepStrictEqual((yield* repo.stats(p)), { meetings: 2_500, full: 2_500, metadata: 0, pending: 1, gone: 0 })
      }))
  })
}

describe("stored rows are read strictly", () => {
  it("the row decoder accepts exactly what the StoredRow Schema and core's codec accept", () => {
    const body = MeetingCodec.encodeMeetingJson(meeting("r_1"))
    const valid = { id: "r_1", body, fetched_at: 5, pending: 0, gone: 0, written_at: null }
    const damaged = JSON.parse(body) as { fields: Record<string, unknown> }
    damaged.fields.$title = null
    const samples: ReadonlyArray<unknown> = [
      valid,
      { ...valid, pending: 1, written_at: 7 },
      { ...valid, pending: 2 },
      { ...valid, gone: "0" },
      { ...valid, fetched_at: "5" },
      { ...valid, written_at: "7" },
      { ...valid, body: 42 },
      { ...valid, body: JSON.stringify(damaged) },
      { ...valid, body: "{}" },
      null,
      "row"
    ]
    const byParts = (u: unknown) =>
      Either.isRight(Schema.decodeUnknownEither(MeetingRow.StoredRow)(u)) &&
      Either.isRight(MeetingCodec.decodeMeetingJson((u as { body: string }).body))
    for (const sample of samples) {
      assert.strictEqual(Either.isRight(MeetingRow.decode(sample)), byParts(sample), JSON.stringify(sample)?.slice(0, 80))
    }
  })

  it("a read by id decodes its narrower row (no id, not gone) as the full row decodes", () => {
    const body = MeetingCodec.encodeMeetingJson(meeting("r_1"))
    const valid = { body, fetched_at: 5, pending: 0, written_at: null }
    const samples: ReadonlyArray<Record<string, unknown>> = [
      valid,
      { ...valid, pending: 1, written_at: 7 },
      { ...valid, pending: 2 },
      { ...valid, fetched_at: "5" },
      { ...valid, written_at: "7" },
      { ...valid, body: 42 },
      { ...valid, body: "{}" },
      {}
    ]
    for (const sample of samples) {
      const full = MeetingRow.decode({ ...sample, id: "r_1", gone: 0 })
      const found = MeetingRow.decodeFound("r_1", [sample.body, sample.fetched_at, sample.pending, sample.written_at])
      assert.strictEqual(Either.isRight(found), Either.isRight(full), JSON.stringify(sample).slice(0, 80))
      if (Either.isRight(found) && Either.isRight(full)) assert.deepStrictEqual(found.right, full.right)
      if (Either.isLeft(found) && Either.isLeft(full)) assert.strictEqual(found.left.message, full.left.message)
    }
    for (const junk of [null, undefined, "row", 42, valid, [body, 5, 0]]) {
      assert.isTrue(Either.isLeft(MeetingRow.decodeFound("r_1", junk)))
    }
  })
})
