import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck, Schema } from "effect"
import * as WireDecode from "../src/internal/wireDecode.js"
import { Meeting, MeetingListPage } from "../src/Meeting.js"
import * as fixtures from "./fixtures.js"

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

  it("agrees with the schema on generated meetings", () => {
    const wire = Arbitrary.make(Meeting).map((m) => json(Schema.encodeSync(Meeting)(m)))
    let taken = 0
    FastCheck.assert(
      FastCheck.property(wire, (u) => {
        const fast = WireDecode.meeting(u)
        if (fast !== undefined) taken++
        assertSameAsSchema(fast, schemaMeeting(u))
      }),
      { numRuns: 300 }
    )
    // Most generated meetings must go through the fast path, or this test proves little.
    assert.isAbove(taken, 100)
  })
})
