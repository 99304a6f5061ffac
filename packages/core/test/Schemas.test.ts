import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Either, Option, ParseResult, Schema, TestClock } from "effect"
import { ErrorBody, Meeting, MeetingParams, ParamsProblem } from "../src/index.js"
import * as fixtures from "./fixtures.js"

const decodeMeeting = Schema.decodeUnknownSync(Meeting.Meeting)
const roundTrip = <A, I>(schema: Schema.Schema<A, I>, input: unknown) =>
  Schema.encodeSync(schema)(Schema.decodeUnknownSync(schema)(input))

/** Validate like the client does and return what the API would answer. */
const problemOf = <A, I>(schema: Schema.Schema<A, I>, input: unknown) =>
  Schema.decodeUnknown(schema, MeetingParams.strictParse)(input).pipe(
    Effect.flip,
    Effect.map(ParamsProblem.fromParseError)
  )

/** "Now" for the past-date rule: after every fixture date. */
const now = Date.parse("2026-05-01T00:00:00.000Z")

describe("Meeting", () => {
  it("decodes a FULL meeting and its accessors", () => {
    const m = decodeMeeting(fixtures.fullMeeting)
    assert.strictEqual(m.id, "mtg_01HZX5Q8")
    assert.deepStrictEqual(m.title, Option.some("Customer Call"))
    assert.deepStrictEqual(m.startDate, Option.some(DateTime.unsafeMake("2026-04-07T21:00:00.000Z")))
    assert.deepStrictEqual(
      Option.map(m.endDate, DateTime.formatIso),
      Option.some("2026-04-07T21:30:00.000Z")
    )
    assert.deepStrictEqual(m.description, Option.some("Quarterly review with the buying committee."))
    assert.deepStrictEqual(m.organizerEmail, Option.some("ada@acme.example"))
    assert.deepStrictEqual(m.attendeeEmails, Option.some(["ada@acme.example", "bob@globex.example"]))
    assert.deepStrictEqual(m.privacySetting, Option.some("FULL" as const))
    assert.deepStrictEqual(m.transcriptFileId, Option.some("fil_01HZX5T2"))
    assert.isFalse(m.isRedacted)
    assert.strictEqual(m.externalId, "crm-42")
    assert.isTrue(DateTime.isDateTime(m.createdAt))
    assert.deepStrictEqual(Option.map(m.field("champion"), (f) => f.value), Option.some({ firstName: "Ada", lastName: null }))
  })

  it("decodes the METADATA view: null description, no $transcript, externalId absent", () => {
    const m = decodeMeeting(fixtures.redactedMeeting)
    assert.isTrue(m.isRedacted)
    assert.deepStrictEqual(m.description, Option.none())
    assert.deepStrictEqual(m.meetingUrl, Option.none())
    assert.deepStrictEqual(m.transcriptFileId, Option.none())
    assert.deepStrictEqual(m.attendeeEmails, Option.some([]))
    assert.deepStrictEqual(m.title, Option.some("Board prep"))
    assert.isFalse("externalId" in m)
    assert.isNull(m.httpLink)
    assert.isNull(m.updatedAt)
  })

  it("keeps externalId null apart from absent", () => {
    const m = decodeMeeting(fixtures.htmlMeeting)
    assert.isTrue("externalId" in m)
    assert.isNull(m.externalId)
    assert.isFalse("externalId" in Schema.encodeSync(Meeting.Meeting)(decodeMeeting(fixtures.redactedMeeting)))
  })

  it("keeps a field of an unknown valueType (HTML) as it came", () => {
    const m = decodeMeeting(fixtures.htmlMeeting)
    const field = Option.getOrThrow(m.field("summaryHtml"))
    assert.strictEqual(field.valueType, "HTML")
    assert.strictEqual(field.value, "<p>Agreed on <b>pricing</b></p>")
    assert.deepStrictEqual(
      Schema.encodeSync(Meeting.Meeting)(m).fields["summaryHtml"],
      fixtures.htmlMeeting.fields.summaryHtml
    )
  })

  it("rejects a known valueType carrying the wrong value", () => {
    const bad = { ...fixtures.fullMeeting, fields: { n: { value: "many", valueType: "NUMBER" } } }
    assert.isTrue(Either.isLeft(Schema.decodeUnknownEither(Meeting.Meeting)(bad)))
  })

  it("encode(decode(x)) === x for a meeting, the METADATA view and a list page", () => {
    assert.deepStrictEqual(roundTrip(Meeting.Meeting, fixtures.fullMeeting), fixtures.fullMeeting)
    assert.deepStrictEqual(roundTrip(Meeting.Meeting, fixtures.redactedMeeting), fixtures.redactedMeeting)
    assert.deepStrictEqual(roundTrip(Meeting.Meeting, fixtures.htmlMeeting), fixtures.htmlMeeting)
    assert.deepStrictEqual(roundTrip(Meeting.MeetingListPage, fixtures.listPage), fixtures.listPage)
  })

  it("names the failing path of a list page that breaks the contract", () => {
    const bad = { ...fixtures.listPage, data: [fixtures.fullMeeting, { ...fixtures.fullMeeting, objectType: 42 }] }
    const result = Schema.decodeUnknownEither(Meeting.MeetingListPage)(bad)
    assert.isTrue(Either.isLeft(result))
    if (Either.isLeft(result)) {
      const [first] = ParseResult.ArrayFormatter.formatErrorSync(result.left)
      assert.deepStrictEqual(first?.path, ["data", 1, "objectType"])
    }
  })
})

describe("ErrorBody", () => {
  it("decodes wrapped and flat bodies to the same detail", () => {
    const wrapped = Schema.decodeUnknownSync(ErrorBody.ErrorBody)(fixtures.wrappedError)
    const flat = Schema.decodeUnknownSync(ErrorBody.ErrorBody)(fixtures.flatError)
    assert.deepStrictEqual(ErrorBody.detail(wrapped), fixtures.wrappedError.error)
    assert.deepStrictEqual(ErrorBody.detail(flat), fixtures.flatError)
  })

  it("encode(decode(x)) === x for wrapped and flat bodies", () => {
    assert.deepStrictEqual(roundTrip(ErrorBody.ErrorBody, fixtures.wrappedError), fixtures.wrappedError)
    assert.deepStrictEqual(roundTrip(ErrorBody.ErrorBody, fixtures.flatError), fixtures.flatError)
  })
})

describe("MeetingParams", () => {
  const create = (patch: (body: typeof fixtures.validCreate) => unknown) => {
    const body = structuredClone(fixtures.validCreate)
    return patch(body)
  }
  const createProblem = (input: unknown) =>
    Effect.zipRight(TestClock.setTime(now), problemOf(MeetingParams.CreateMeetingParams, input))

  it.effect("accepts a documented create body", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(now)
      const body = yield* Schema.decodeUnknown(MeetingParams.CreateMeetingParams, MeetingParams.strictParse)(
        fixtures.validCreate
      )
      assert.deepStrictEqual(body, fixtures.validCreate)
    }))

  it.effect("missing $title -> 422 fields.$title", () =>
    Effect.gen(function*() {
      const p = yield* createProblem(create(({ fields: { $title: _, ...fields }, ...b }) => ({ ...b, fields })))
      assert.strictEqual(p.param, "fields.$title")
      assert.strictEqual(p.status, 422)
      assert.include(p.message, "fields.$title")
    }))

  it.effect("empty $title -> 422 fields.$title", () =>
    Effect.gen(function*() {
      const p = yield* createProblem(create((b) => ({ ...b, fields: { ...b.fields, $title: "  " } })))
      assert.strictEqual(p.param, "fields.$title")
      assert.strictEqual(p.status, 422)
    }))

  it.effect("a date in the future -> 422 fields.$startDate / fields.$endDate", () =>
    Effect.gen(function*() {
      const start = yield* createProblem(create((b) => ({
        ...b,
        fields: { ...b.fields, $startDate: "2026-06-01T10:00:00.000Z", $endDate: "2026-06-01T11:00:00.000Z" }
      })))
      assert.strictEqual(start.param, "fields.$startDate")
      assert.strictEqual(start.status, 422)
      const end = yield* createProblem(create((b) => ({
        ...b,
        fields: { ...b.fields, $endDate: "2026-06-01T11:00:00.000Z" }
      })))
      assert.strictEqual(end.param, "fields.$endDate")
      assert.strictEqual(end.status, 422)
    }))

  it.effect("end before start -> 422 fields.$endDate", () =>
    Effect.gen(function*() {
      const p = yield* createProblem(create((b) => ({
        ...b,
        fields: { ...b.fields, $endDate: "2026-04-07T20:00:00.000Z" }
      })))
      assert.strictEqual(p.param, "fields.$endDate")
      assert.strictEqual(p.status, 422)
    }))

  it.effect("a malformed date -> 400 invalid_type", () =>
    Effect.gen(function*() {
      const p = yield* createProblem(create((b) => ({ ...b, fields: { ...b.fields, $startDate: "yesterday" } })))
      assert.strictEqual(p.param, "fields.$startDate")
      assert.strictEqual(p.status, 400)
      assert.deepStrictEqual(p.code, Option.some("invalid_type"))
    }))

  it.effect("a bad e-mail -> 400 naming the field", () =>
    Effect.gen(function*() {
      const organizer = yield* createProblem(create((b) => ({
        ...b,
        fields: { ...b.fields, $organizerEmail: "not-an-email" }
      })))
      assert.strictEqual(organizer.param, "fields.$organizerEmail")
      assert.strictEqual(organizer.status, 400)
      const attendee = yield* createProblem(create((b) => ({
        ...b,
        fields: { ...b.fields, $attendeeEmails: ["ok@acme.example", "nope"] }
      })))
      assert.strictEqual(attendee.param, "fields.$attendeeEmails.1")
    }))

  it.effect("an unknown key -> 400 unknown_field", () =>
    Effect.gen(function*() {
      const inFields = yield* createProblem(create((b) => ({ ...b, fields: { ...b.fields, bogus: 1 } })))
      assert.strictEqual(inFields.param, "fields.bogus")
      assert.strictEqual(inFields.status, 400)
      assert.deepStrictEqual(inFields.code, Option.some("unknown_field"))
      const topLevel = yield* createProblem(create((b) => ({ ...b, extra: true })))
      assert.strictEqual(topLevel.param, "extra")
      assert.deepStrictEqual(topLevel.code, Option.some("unknown_field"))
    }))

  it.effect("missing fields -> 400 parameter_missing", () =>
    Effect.gen(function*() {
      const p = yield* createProblem({})
      assert.strictEqual(p.param, "fields")
      assert.strictEqual(p.status, 400)
      assert.deepStrictEqual(p.code, Option.some("parameter_missing"))
    }))

  it.effect("more than one transcript -> 422 relationships.$transcript", () =>
    Effect.gen(function*() {
      const p = yield* createProblem(create((b) => ({ ...b, relationships: { $transcript: ["fil_1", "fil_2"] } })))
      assert.strictEqual(p.param, "relationships.$transcript")
      assert.strictEqual(p.status, 422)
    }))

  it.effect("update: $privacySetting and $transcript.replace are accepted", () =>
    Effect.gen(function*() {
      const body = { fields: { $privacySetting: "METADATA" }, relationships: { $transcript: { replace: "fil_9" } } } as const
      const decoded = yield* Schema.decodeUnknown(MeetingParams.UpdateMeetingParams, MeetingParams.strictParse)(body)
      assert.deepStrictEqual(decoded, body)
      assert.deepStrictEqual(
        yield* Schema.decodeUnknown(MeetingParams.UpdateMeetingParams, MeetingParams.strictParse)({}),
        {}
      )
    }))

  it.effect("update with $title -> 400 unknown_field fields.$title", () =>
    Effect.gen(function*() {
      const p = yield* problemOf(MeetingParams.UpdateMeetingParams, { fields: { $title: "New" } })
      assert.strictEqual(p.param, "fields.$title")
      assert.strictEqual(p.status, 400)
      assert.deepStrictEqual(p.code, Option.some("unknown_field"))
    }))

  it.effect("list: limit 0 and 26, offset -1 -> 400 naming the param", () =>
    Effect.gen(function*() {
      for (const [input, param] of [[{ limit: 0 }, "limit"], [{ limit: 26 }, "limit"], [{ offset: -1 }, "offset"], [
        { limit: 2.5 },
        "limit"
      ]] as const) {
        const p = yield* problemOf(MeetingParams.ListMeetingsParams, input)
        assert.strictEqual(p.param, param)
        assert.strictEqual(p.status, 400)
        assert.deepStrictEqual(p.code, Option.some("invalid_type"))
      }
      assert.deepStrictEqual(
        yield* Schema.decodeUnknown(MeetingParams.ListMeetingsParams, MeetingParams.strictParse)({ limit: 25, offset: 0 }),
        { limit: 25, offset: 0 }
      )
    }))
})
