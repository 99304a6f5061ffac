/**
 * The wire path of a list page (`MeetingCodec.decodeWirePageJson`, `isCanonicalMeeting`) and the
 * wire-level redaction: never looser than the Schema, and always the JSON the domain path writes.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Arbitrary, Chunk, Effect, Either, FastCheck, Schema, Stream } from "effect"
import * as WireDecode from "../src/internal/wireDecode.js"
import { Meeting, MeetingListPage } from "../src/Meeting.js"
import * as MeetingCodec from "../src/MeetingCodec.js"
import * as Redaction from "../src/Redaction.js"
import * as fixtures from "./fixtures.js"
import { brokenInOnePlace, wireMeetings } from "./wireArbitraries.js"
import { clientFor, reset, sandboxLayer } from "./helpers.js"

const schemaMeeting = Schema.decodeUnknownEither(Meeting)
const json = <A>(value: A): unknown => JSON.parse(JSON.stringify(value))
const page = (data: ReadonlyArray<unknown>) => JSON.stringify({ data, object: "list", totalCount: data.length })

/** The wire page and the domain page of `text` agree: both fail alike, or the wire page is the encoded domain page. */
const assertWireLikeDomain = (text: string) => {
  const wire = MeetingCodec.decodeWirePageJson(text)
  const domain = MeetingCodec.decodePageJson(text)
  if (Either.isLeft(domain)) {
    assert.isTrue(Either.isLeft(wire), "the wire path accepted a page the domain path rejects")
    if (Either.isLeft(wire)) assert.strictEqual(wire.left.message, domain.left.message)
    return
  }
  assert.isTrue(Either.isRight(wire), "the wire path rejected a page the domain path accepts")
  if (Either.isRight(wire)) {
    const encoded = MeetingCodec.encodePage(domain.right)
    assert.strictEqual(JSON.stringify(wire.right), JSON.stringify(encoded))
    assert.deepStrictEqual(json(wire.right), json(encoded))
  }
}

/** `isCanonicalMeeting(u)` only when the Schema accepts `u` and encoding its decoding gives `u` back. */
const assertCanonicalSound = (u: unknown) => {
  if (!WireDecode.isCanonicalMeeting(u)) return false
  const slow = schemaMeeting(u)
  assert.isTrue(Either.isRight(slow), "called canonical what the schema rejects")
  if (Either.isRight(slow)) assert.strictEqual(JSON.stringify(MeetingCodec.encodeMeeting(slow.right)), JSON.stringify(u))
  return true
}


describe("wire form", () => {
  it("takes what the API sends as it is: the parsed objects, no copy", () => {
    for (const m of [fixtures.fullMeeting, fixtures.redactedMeeting, fixtures.htmlMeeting]) {
      assert.isTrue(assertCanonicalSound(json(m)))
    }
    const parsed = JSON.parse(page([fixtures.fullMeeting, fixtures.redactedMeeting]))
    const wire = MeetingCodec.decodeWirePageJson(page([fixtures.fullMeeting, fixtures.redactedMeeting]))
    assert.isTrue(Either.isRight(wire))
    if (Either.isRight(wire)) assert.deepStrictEqual(wire.right.data, parsed.data)
  })

  it("agrees with the domain path on generated meetings, and takes most of them as they are", () => {
    let canonical = 0
    FastCheck.assert(
      FastCheck.property(FastCheck.array(wireMeetings, { maxLength: 4 }), (data) => {
        for (const u of data) if (assertCanonicalSound(u)) canonical++
        assertWireLikeDomain(page(data))
      }),
      { numRuns: 200 }
    )
    assert.isAbove(canonical, 150)
  })

  it("re-encodes valid meetings that are not in encoded form (key order, excess keys, timestamp forms)", () => {
    const m = json(fixtures.fullMeeting) as Record<string, unknown>
    const fields = m.fields as Record<string, Record<string, unknown>>
    const { id, ...rest } = m
    const variants: Array<unknown> = [
      { ...rest, id },
      { ...m, newServerField: 1 },
      { ...m, createdAt: "2026-04-07T22:15:03Z" },
      { ...m, createdAt: "2026-04-07T23:15:03.120+01:00" },
      { ...m, updatedAt: "2026-04-08T09:00:00" },
      { ...m, fields: { ...fields, $title: { valueType: "TEXT", value: "Swapped" } } },
      { ...m, fields: { ...fields, $title: { value: "x", valueType: "TEXT", extra: 2 } } },
      { ...m, fields: { ...fields, hq: { value: { city: "Springfield", street: "1 Main St" }, valueType: "ADDRESS" } } },
      { ...m, fields: { ...fields, hq: { value: { city: "S", junk: 1 }, valueType: "ADDRESS" } } },
      { ...m, fields: { ...fields, who: { value: { lastName: "L", firstName: "F" }, valueType: "FULL_NAME" } } },
      { ...m, relationships: { $contact: { objectType: "contact", cardinality: "has_many", values: [] } } },
      // Valid, but an unknown valueType with an object value: the Schema decides (and copies it).
      { ...m, fields: { ...fields, x: { value: { a: [1, { b: null }] }, valueType: "HTML_V2" } } },
      { ...m, fields: { ...fields, x: { value: 3, valueType: "HTML_V2" } } }
    ]
    for (const [i, u] of variants.entries()) {
      assert.isTrue(Either.isRight(schemaMeeting(u)), `variant #${i} is valid`)
      assertCanonicalSound(u)
      assertWireLikeDomain(page([fixtures.fullMeeting, u, fixtures.redactedMeeting]))
    }
    // Only the last two are canonical (scalars of an unknown type are kept as they are).
    assert.isTrue(WireDecode.isCanonicalMeeting(variants[variants.length - 1]))
    assert.isFalse(WireDecode.isCanonicalMeeting(variants[0]))
  })

  it("fails a hostile page with the domain path's error, never accepting it", () => {
    const m = json(fixtures.fullMeeting) as Record<string, unknown>
    const fields = m.fields as Record<string, unknown>
    const hostile: Array<unknown> = [
      { ...m, fields: { ...fields, $title: null } },
      { ...m, fields: { ...fields, $title: { value: { nested: [1] }, valueType: "TEXT" } } },
      { ...m, fields: { ...fields, $attendeeEmails: { value: ["a@x.example", 1], valueType: "EMAIL" } } },
      { ...m, fields: { ...fields, hq: { value: { latitude: "north" }, valueType: "ADDRESS" } } },
      { ...m, fields: { ...fields, followUp: { value: "yes", valueType: "CHECKBOX" } } },
      { ...m, fields: { ...fields, x: { value: JSON.parse("[".repeat(100) + "]".repeat(100)), valueType: "HTML" } } },
      { ...m, fields: JSON.parse("{\"__proto__\": {\"value\": 1, \"valueType\": \"TEXT\"}}") },
      { ...m, relationships: { $transcript: { cardinality: "has_one", objectType: "file", values: "fil_1" } } },
      { ...m, id: ".." },
      { ...m, id: "mtg_1\r\nX-Evil: 1" },
      { ...m, accessLevel: "ADMIN" },
      { ...m, createdAt: "not a date" },
      { ...m, updatedAt: "2026-13-45T00:00:00.000Z" },
      { ...m, externalId: 5 },
      null,
      "meeting"
    ]
    for (const [i, u] of hostile.entries()) {
      assert.isFalse(WireDecode.isCanonicalMeeting(u), `hostile input #${i}`)
      const text = page([fixtures.fullMeeting, u])
      assert.isTrue(Either.isLeft(MeetingCodec.decodeWirePageJson(text)), `hostile input #${i}`)
      assertWireLikeDomain(text)
    }
    for (const text of ["{not json", "", "[]", JSON.stringify({ data: [], object: "list", totalCount: -1 })]) {
      assert.isTrue(Either.isLeft(MeetingCodec.decodeWirePageJson(text)))
      assertWireLikeDomain(text)
    }
  })

  it("agrees with the domain path on generated meetings broken in one place", () => {
    FastCheck.assert(
      FastCheck.property(brokenInOnePlace, (u) => {
        assertCanonicalSound(u)
        assertWireLikeDomain(page([u]))
      }),
      { numRuns: 300 }
    )
  })

  it("redactWire is redact on the wire form: the same JSON for either access", () => {
    FastCheck.assert(
      FastCheck.property(Arbitrary.make(Meeting), FastCheck.constantFrom<"FULL" | "METADATA">("FULL", "METADATA"), (m, access) => {
        const wire = json(MeetingCodec.encodeMeeting(m)) as MeetingCodec.WireMeeting
        assert.strictEqual(
          JSON.stringify(Redaction.redactWire(wire, access)),
          MeetingCodec.encodeMeetingJson(Redaction.redact(m, access))
        )
      }),
      { numRuns: 200 }
    )
    const full = json(fixtures.fullMeeting) as MeetingCodec.WireMeeting
    assert.strictEqual(Redaction.redactWire(full), full)
    const redacted = Redaction.redactWire(full, "METADATA")
    assert.strictEqual(redacted.accessLevel, "METADATA")
    assert.isNull(redacted.fields.$description!.value)
    assert.strictEqual(redacted.fields.$title!.value, "Customer Call")
    assert.isFalse("$transcript" in redacted.relationships)
    // The input is left as it was.
    assert.strictEqual(full.fields.$description!.value, "Quarterly review with the buying committee.")
  })
})

describe("MeetingListPage", () => {
  it("decodeWirePageJson keeps totalCount and drops the envelope's excess keys", () => {
    const text = JSON.stringify({ ...fixtures.listPage, extra: 1 })
    const wire = MeetingCodec.decodeWirePageJson(text)
    assert.isTrue(Either.isRight(wire))
    if (Either.isRight(wire)) {
      assert.deepStrictEqual(Object.keys(wire.right), ["data", "object", "totalCount"])
      assert.deepStrictEqual(wire.right, Schema.encodeSync(MeetingListPage)(Schema.decodeUnknownSync(MeetingListPage)(json(fixtures.listPage))))
    }
  })
})

describe("Meetings.streamWire", () => {
  layer(sandboxLayer({ meetings: 80, rateLimit: false }), { excludeTestServices: true })("against the sandbox", (it) => {
    it.effect("yields encodeMeeting of what stream yields, in the same order, for FULL and METADATA views", () =>
      Effect.gen(function*() {
        yield* reset
        for (const key of ["admin", "member"] as const) {
          const meetings = yield* clientFor(key)
          const domain = Chunk.toReadonlyArray(yield* Stream.runCollect(meetings.stream({ pageSize: 7, concurrency: 3 })))
          const wire = Chunk.toReadonlyArray(yield* Stream.runCollect(meetings.streamWire!({ pageSize: 7, concurrency: 3 })))
          assert.strictEqual(wire.length, 80)
          assert.strictEqual(JSON.stringify(wire), JSON.stringify(domain.map(MeetingCodec.encodeMeeting)))
        }
      }))

    it.effect("a hostile page is UndecodableResponse with the same path as stream's", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const meetings = yield* clientFor("admin")
        const [one] = yield* sandbox.meetings
        const wire = MeetingCodec.encodeMeeting(one!)
        const body = JSON.stringify({
          data: [wire, { ...wire, fields: { ...wire.fields, $title: { value: 1, valueType: "TEXT" } } }],
          object: "list",
          totalCount: 2
        })
        const failures = []
        const drains = [Stream.runDrain(meetings.stream({ concurrency: 1 })), Stream.runDrain(meetings.streamWire!({ concurrency: 1 }))]
        for (const drain of drains) {
          yield* sandbox.inject({ fault: { _tag: "Respond", status: 200, body }, match: "GET /v1/meetings", times: 1 })
          failures.push(yield* Effect.flip(drain))
        }
        const [domain, fromWire] = failures
        assert.strictEqual(fromWire!._tag, "UndecodableResponse")
        if (fromWire!._tag === "UndecodableResponse" && domain!._tag === "UndecodableResponse") {
          assert.strictEqual(fromWire!.path, domain!.path)
          assert.include(fromWire!.path ?? "", "data.1.fields")
        }
      }))
  })
})
