import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck, Schema } from "effect"
import * as WireDecode from "../src/internal/wireDecode.js"
import { Meeting, MeetingListPage } from "../src/Meeting.js"
import * as MeetingCodec from "../src/MeetingCodec.js"
import * as fixtures from "./fixtures.js"
import { brokenInOnePlace, wireMeetings } from "./wireArbitraries.js"

const schemaMeeting = Schema.decodeUnknownEither(Meeting)
const schemaPage = Schema.decodeUnknownEither(MeetingListPage)
const json = <A>(value: A): unknown => JSON.parse(JSON.stringify(value))

/** The fast path either declines, or gives what the schema gives: equal, same class, same key order. */
const assertSameAsSchema = <A>(fast: A | undefined, slow: Either.Either<A, unknown>) => {
  if (fast === undefined) return
  assert.isTrue(Either.isRight(slow), "the fast path accepted what the schema rejects")
  if (Either.isRight(slow)) {
    assert.deepStrictEqual(fast, slow.right)
    assert.strictEqual(Object.getPrototypeOf(fast), Object.getPrototypeOf(slow.right))
    assert.strictEqual(JSON.stringify(fast), JSON.stringify(slow.right))
    assert.deepStrictEqual(Reflect.ownKeys(fast as object), Reflect.ownKeys(slow.right as object))
  }
}

describe("WireDecode", () => {
  it("decodes the documented shapes like the schema (and does not decline them)", () => {
    for (const m of [fixtures.fullMeeting, fixtures.redactedMeeting, fixtures.htmlMeeting]) {
      const fast = WireDecode.meeting(json(m))
      assert.isDefined(fast)
      assertSameAsSchema(fast, schemaMeeting(json(m)))
    }
    const page = WireDecode.listPage(json(fixtures.listPage))
    assert.isDefined(page)
    assertSameAsSchema(page, schemaPage(json(fixtures.listPage)))
  })

  it("keeps externalId null apart from absent, and drops unknown keys", () => {
    const extra = { ...fixtures.fullMeeting, newServerField: 1, fields: { t: { value: "x", valueType: "TEXT", extra: 2 } } }
    assertSameAsSchema(WireDecode.meeting(json(extra)), schemaMeeting(json(extra)))
    assert.isFalse("externalId" in WireDecode.meeting(json(fixtures.redactedMeeting))!)
    assert.isNull(WireDecode.meeting(json(fixtures.htmlMeeting))!.externalId)
  })

  it("declines what the schema rejects, and rare shapes it leaves to the schema", () => {
    const bad = [
      { ...fixtures.fullMeeting, objectType: 42 },
      { ...fixtures.fullMeeting, id: "" },
      { ...fixtures.fullMeeting, createdAt: "not a date" },
      { ...fixtures.fullMeeting, fields: { n: { value: "many", valueType: "NUMBER" } } },
      { ...fixtures.fullMeeting, fields: { n: { valueType: "TEXT" } } },
      { ...fixtures.fullMeeting, fields: { a: { value: { city: 1 }, valueType: "ADDRESS" } } },
      { ...fixtures.fullMeeting, relationships: { r: { cardinality: "has_one", objectType: "file", values: [1] } } }
    ]
    for (const m of bad) {
      assert.isUndefined(WireDecode.meeting(json(m)))
      assert.isTrue(Either.isLeft(schemaMeeting(json(m))))
    }
    // Valid, but an unknown valueType with an object value is copied by the schema: slow path.
    const other = { ...fixtures.fullMeeting, fields: { x: { value: { a: 1 }, valueType: "HTML_V2" } } }
    assert.isUndefined(WireDecode.meeting(json(other)))
    assert.isTrue(Either.isRight(schemaMeeting(json(other))))
    assert.isUndefined(WireDecode.listPage({ ...json(fixtures.listPage) as object, totalCount: -1 }))
  })

  it("copies a caller's parsed JSON, and keeps an owned tree's parts only when the schema's copy would equal them", () => {
    const u = json(fixtures.fullMeeting) as { fields: Record<string, { value: unknown }>; relationships: object }
    const copied = WireDecode.meeting(u)!
    assert.notStrictEqual(copied.fields, u.fields)
    assert.notStrictEqual(copied.relationships, u.relationships)
    for (const [key, f] of Object.entries(copied.fields)) assert.notStrictEqual(f, u.fields[key])
    const kept = WireDecode.meeting(u, true)!
    assertSameAsSchema(kept, schemaMeeting(json(fixtures.fullMeeting)))
    assert.strictEqual(kept.fields.$title, u.fields.$title)
    assert.strictEqual(kept.relationships, u.relationships)
    // An extra key: the schema drops it, so the owned field is copied (and the record with it).
    const extra = json({ ...fixtures.fullMeeting, fields: { a: { value: "x", valueType: "TEXT", extra: 1 }, b: { value: "y", valueType: "TEXT" } } }) as {
      fields: Record<string, unknown>
    }
    const decoded = WireDecode.meeting(extra, true)!
    assertSameAsSchema(decoded, schemaMeeting(json(extra)))
    assert.notStrictEqual(decoded.fields, extra.fields)
    assert.strictEqual(decoded.fields.b, extra.fields.b)
  })

  it("agrees with the schema on generated meetings", () => {
    let taken = 0
    FastCheck.assert(
      FastCheck.property(wireMeetings, (u) => {
        const fast = WireDecode.meeting(u)
        if (fast !== undefined) taken++
        assertSameAsSchema(fast, schemaMeeting(u))
        // An owned tree (parsed by the codec itself) may be kept in parts: still what the schema gives.
        assertSameAsSchema(WireDecode.meeting(structuredClone(u), true), schemaMeeting(u))
      }),
      { numRuns: 300 }
    )
    // Most generated meetings must go through the fast path, or this test proves little.
    assert.isAbove(taken, 100)
  })

  it("declines every hostile input the schema rejects (a damaged stored row, a hostile server)", () => {
    const m = json(fixtures.fullMeeting) as Record<string, unknown>
    const fields = m.fields as Record<string, unknown>
    const hostile: Array<unknown> = [
      { ...m, fields: { ...fields, $title: null } },
      { ...m, fields: { ...fields, $title: "Customer Call" } },
      { ...m, fields: { ...fields, $title: [] } },
      { ...m, fields: { ...fields, $title: { value: "x" } } },
      { ...m, fields: { ...fields, $title: { value: "x", valueType: 7 } } },
      { ...m, fields: { ...fields, $title: { value: { nested: [1] }, valueType: "TEXT" } } },
      { ...m, fields: { ...fields, $attendeeEmails: { value: ["a@x.example", 1], valueType: "EMAIL" } } },
      { ...m, fields: { ...fields, champion: { value: { firstName: 1 }, valueType: "FULL_NAME" } } },
      { ...m, fields: { ...fields, hq: { value: { latitude: "north" }, valueType: "ADDRESS" } } },
      { ...m, fields: { ...fields, followUp: { value: "yes", valueType: "CHECKBOX" } } },
      { ...m, fields: null },
      { ...m, fields: [] },
      { ...m, fields: "{}" },
      { ...m, relationships: null },
      { ...m, relationships: { $transcript: null } },
      { ...m, relationships: { $transcript: { cardinality: "has_one", objectType: "file" } } },
      { ...m, relationships: { $transcript: { cardinality: "has_one", objectType: "file", values: "fil_1" } } },
      { ...m, relationships: { $transcript: { cardinality: 1, objectType: "file", values: [] } } },
      { ...m, id: "." },
      { ...m, id: ".." },
      { ...m, id: "a/b" },
      { ...m, id: "mtg 1" },
      { ...m, id: "mtg_1\r\nX-Evil: 1" },
      { ...m, id: 42 },
      { ...m, accessLevel: "ADMIN" },
      { ...m, objectType: "account" },
      { ...m, httpLink: 1 },
      { ...m, updatedAt: "yesterday" },
      { ...m, updatedAt: undefined },
      { ...m, externalId: 5 },
      null,
      [],
      "meeting",
      // The fast path walks objects only: nested arrays must be declined, not recursed into.
      JSON.parse("[".repeat(5000) + "]".repeat(5000))
    ]
    for (const [i, u] of hostile.entries()) {
      assert.isUndefined(WireDecode.meeting(u), `hostile input #${i}`)
      // (The deeply nested array is too deep to clone; it is not changed by the decoder either way.)
      assert.isUndefined(WireDecode.meeting(i === hostile.length - 1 ? u : structuredClone(u), true), `hostile input #${i} (owned)`)
      assert.isTrue(Either.isLeft(schemaMeeting(u)), `hostile input #${i}`)
      assert.isTrue(Either.isLeft(MeetingCodec.decodeMeeting(u)))
    }
    const page = json(fixtures.listPage) as Record<string, unknown>
    for (const u of [{ ...page, totalCount: 1.5 }, { ...page, object: "page" }, { ...page, data: [null] }, { ...page, data: {} }]) {
      assert.isUndefined(WireDecode.listPage(u))
      assert.isTrue(Either.isLeft(schemaPage(u)))
    }
  })

  it("agrees with the schema on generated meetings broken in one place", () => {
    FastCheck.assert(
      FastCheck.property(brokenInOnePlace, (u) => {
        assertSameAsSchema(WireDecode.meeting(u), schemaMeeting(u))
      }),
      { numRuns: 300 }
    )
  })
})

describe("MeetingCodec", () => {
  it("encode equals Schema.encode, and decode(encode(m)) equals m, on generated meetings", () => {
    FastCheck.assert(
      FastCheck.property(Arbitrary.make(Meeting), (m) => {
        const wire = MeetingCodec.encodeMeeting(m)
        // `encodeMeeting` shares `fields`/`relationships` with `m` (no copy), so compare as JSON.
        assert.deepStrictEqual(json(wire), json(Schema.encodeSync(Meeting)(m)))
        const text = MeetingCodec.encodeMeetingJson(m)
        assert.strictEqual(text, JSON.stringify(Schema.encodeSync(Meeting)(m)))
        const back = MeetingCodec.decodeMeetingJson(text)
        assert.isTrue(Either.isRight(back))
        if (Either.isRight(back)) assert.deepStrictEqual(back.right, Schema.decodeUnknownSync(Meeting)(json(wire)))
      }),
      { numRuns: 200 }
    )
  })

  it("reads a damaged stored row as a ParseError naming the path, never a TypeError", () => {
    const stored = MeetingCodec.encodeMeetingJson(Schema.decodeUnknownSync(Meeting)(fixtures.fullMeeting))
    const damaged = JSON.stringify({ ...JSON.parse(stored), fields: { ...JSON.parse(stored).fields, $title: null } })
    const result = MeetingCodec.decodeMeetingJson(damaged)
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) assert.include(result.left.message, "$title")
    assert.isTrue(Either.isLeft(MeetingCodec.decodeMeetingJson("{not json")))
    assert.isTrue(Either.isLeft(MeetingCodec.decodeMeetingJson("")))
  })

  it("decodes pages through the same codec, and encodePage is the schema's encoding", () => {
    const page = MeetingCodec.decodePageJson(JSON.stringify(fixtures.listPage))
    assert.isTrue(Either.isRight(page))
    if (Either.isRight(page)) {
      assert.deepStrictEqual(MeetingCodec.encodePage(page.right), Schema.encodeSync(MeetingListPage)(page.right))
    }
  })
})
