import { assert, describe, it, layer } from "@effect/vitest"
import { Duration, Effect, Either, Schema } from "effect"
import {
  Endpoint,
  IdempotencyKey,
  Meeting,
  MeetingsError,
  ParamsProblem,
  MeetingParams,
  Redaction
} from "../src/index.js"
import * as fixtures from "./fixtures.js"
import { clientFor, pastMeeting, reset, sandboxLayer } from "./helpers.js"

const decodeMeeting = Schema.decodeUnknownSync(Meeting.Meeting)

describe("Endpoint", () => {
  it("declares the five meeting operations (§2) and the five files operations (§11) as the spec's tables", () => {
    const rows = Endpoint.all.map((e) => [e.name, e.method, e.path, e.category, e.scope, e.idempotent])
    assert.deepStrictEqual(rows, [
      ["create", "POST", "/v1/meetings", "Write", "meetings:create", true],
      ["update", "POST", "/v1/meetings/{id}", "Write", "meetings:update", true],
      ["retrieve", "GET", "/v1/meetings/{id}", "Read", "meetings:read", false],
      ["list", "GET", "/v1/meetings", "Search", "meetings:read", false],
      ["delete", "DELETE", "/v1/meetings/{id}", "Write", "meetings:delete", true],
      ["create", "POST", "/v1/files", "Write", "files:create", true],
      ["complete", "POST", "/v1/files/{id}/complete", "Write", "files:create", true],
      ["cancel", "POST", "/v1/files/{id}/cancel", "Write", "files:create", true],
      ["retrieve", "GET", "/v1/files/{id}", "Read", "files:read", false],
      ["downloadUrl", "GET", "/v1/files/{id}/url", "Read", "files:read", false]
    ])
    // Idempotency keys are scoped per operation type: a meeting create and a file create differ.
    assert.notStrictEqual(Endpoint.operationKey(Endpoint.Meetings.create), Endpoint.operationKey(Endpoint.Files.create))
    assert.strictEqual(Endpoint.pathFor(Endpoint.Meetings.update, "mtg_1"), "/v1/meetings/mtg_1")
    assert.strictEqual(Endpoint.pathFor(Endpoint.Meetings.list), "/v1/meetings")
    assert.strictEqual(Endpoint.routerPath(Endpoint.Meetings.retrieve), "/v1/meetings/:id")
    assert.isTrue(Schema.is(Endpoint.Category)("Search"))
    assert.isFalse(Schema.is(Endpoint.Category)("Delete"))
  })
})

describe("IdempotencyKey", () => {
  it("accepts 1..255 printable ASCII characters, refuses the rest as InvalidParams", () => {
    assert.isTrue(Either.isRight(IdempotencyKey.validate("k".repeat(255))))
    assert.isTrue(Either.isRight(IdempotencyKey.validate("order 42/retry-1")))
    for (const [key, needle] of [
      ["", "must not be empty"],
      ["k".repeat(256), "at most 255"],
      ["a\r\nX-Evil: 1", "printable ASCII"],
      ["tab\there", "printable ASCII"],
      ["ключ", "printable ASCII"]
    ] as const) {
      const result = IdempotencyKey.validate(key)
      assert.isTrue(Either.isLeft(result), key)
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left._tag, "InvalidParams")
        assert.strictEqual(result.left.param, "Idempotency-Key")
        assert.include(result.left.message, needle)
      }
    }
  })

  it.effect("resolve generates a fresh UUID v4 when none is given", () =>
    Effect.gen(function*() {
      const a = yield* IdempotencyKey.resolve(undefined)
      const b = yield* IdempotencyKey.resolve(undefined)
      assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      assert.notStrictEqual(a, b)
      assert.strictEqual(yield* IdempotencyKey.resolve("mine"), "mine")
    }))
})

describe("Meeting id grammar", () => {
  it("refuses empty, dot segments, slashes, spaces, control characters, '%', '?', '#' and > 255 chars", () => {
    for (const id of ["mtg_01HZX5Q8", "local_3f2a", "a.b", "...", "x~y", "A-Z_09:@"]) {
      assert.isTrue(Either.isRight(Meeting.validateId(id)), id)
      assert.isTrue(Schema.is(Meeting.MeetingId)(id), id)
    }
    for (const id of ["", " ", ".", "..", "a/b", "/", "mtg 1", "mtg_1\r\n", "a%2Fb", "a?b", "a#b", "m".repeat(256), "é"]) {
      const result = Meeting.validateId(id)
      assert.isTrue(Either.isLeft(result), JSON.stringify(id))
      if (Either.isLeft(result)) assert.strictEqual(result.left.param, "id")
      assert.isFalse(Schema.is(Meeting.MeetingId)(id), JSON.stringify(id))
    }
  })
})

describe("ParamsProblem.validator", () => {
  it.effect("fails with InvalidParams naming the param and the API's status", () =>
    Effect.gen(function*() {
      const validate = ParamsProblem.validator(MeetingParams.UpdateMeetingParams)
      const error = yield* Effect.flip(validate({ fields: { $title: "x" } }))
      assert.strictEqual(error._tag, "InvalidParams")
      assert.strictEqual(error.param, "fields.$title")
      assert.strictEqual(error.status, 400)
      const ok = yield* validate({ fields: { $privacySetting: "METADATA" } })
      assert.deepStrictEqual(ok, { fields: { $privacySetting: "METADATA" } })
    }))
})

describe("Redaction.redact", () => {
  it("nulls every field outside the METADATA set, drops $transcript, keeps contacts; FULL stays as it is", () => {
    const full = decodeMeeting(fixtures.fullMeeting)
    assert.strictEqual(Redaction.redact(full), full)
    const view = Redaction.redact(full, "METADATA")
    assert.strictEqual(view.accessLevel, "METADATA")
    assert.isTrue(Redaction.isRedacted(view))
    assert.isFalse(Redaction.isRedacted(full))
    for (const [key, field] of Object.entries(view.fields)) {
      const before = full.fields[key]!
      assert.strictEqual(field.valueType, before.valueType)
      assert.deepStrictEqual(field.value, Redaction.metadataFields.has(key) ? before.value : null, key)
    }
    assert.deepStrictEqual(Object.keys(view.relationships), ["$contact", "$account", "$opportunity"])
    assert.isTrue(view.description._tag === "None" && view.transcriptFileId._tag === "None")
    assert.deepStrictEqual(view.title, full.title)
    // The result is a valid Meeting whose encoding is the redacted wire JSON.
    assert.deepStrictEqual(decodeMeeting(Schema.encodeSync(Meeting.Meeting)(view)), view)
  })

  it("a METADATA meeting that carries content (a hostile server) is redacted by its own access level", () => {
    const leaky = decodeMeeting({
      ...fixtures.redactedMeeting,
      fields: { ...fixtures.redactedMeeting.fields, $description: { value: "secret", valueType: "TEXT" } },
      relationships: { $transcript: { cardinality: "has_one", objectType: "file", values: ["fil_1"] } }
    })
    const view = Redaction.redact(leaky)
    assert.isNull(view.fields.$description!.value)
    assert.isUndefined(view.relationships.$transcript)
    // A METADATA meeting is never turned back into FULL.
    assert.strictEqual(Redaction.redact(leaky, "FULL").accessLevel, "METADATA")
  })
})

describe("MeetingsError schema", () => {
  const members: ReadonlyArray<MeetingsError.MeetingsError> = [
    new MeetingsError.InvalidParams({ param: "fields.$title", message: "fields.$title is required", status: 422 }),
    new MeetingsError.BadRequest({ status: 400, type: "bad_request", message: "Bad", code: "unknown_field", param: "x" }),
    new MeetingsError.BadRequest({ status: 415, type: "unsupported_media_type", message: "Unsupported Media Type" }),
    new MeetingsError.Unauthorized({ message: "Invalid API key." }),
    new MeetingsError.Forbidden({ message: "no", scope: "meetings:create" }),
    new MeetingsError.MeetingNotFound({ id: "mtg_1", message: "Not Found" }),
    new MeetingsError.MeetingNotFound({ message: "Not Found" }),
    new MeetingsError.Conflict({ message: "Conflict", retryAfter: Duration.seconds(2) }),
    new MeetingsError.IdempotencyConflict({ message: "in progress", idempotencyKey: "k", retryAfter: Duration.millis(250) }),
    new MeetingsError.Unprocessable({ message: "must be in the past", param: "fields.$startDate" }),
    new MeetingsError.RateLimited({ message: "slow down", retryAfter: Duration.seconds(1), limit: 25, remaining: 0 }),
    new MeetingsError.MeetingsUnavailable({ reason: "Server", message: "HTTP 503", status: 503, retryAfter: Duration.seconds(3) }),
    new MeetingsError.MeetingsUnavailable({ reason: "Timeout", message: "No answer within 1s" }),
    new MeetingsError.MeetingsUnavailable({ reason: "Transport", message: "ECONNREFUSED" }),
    new MeetingsError.MeetingsUnavailable({ reason: "LocalCache", message: "disk full" }),
    new MeetingsError.MeetingsUnavailable({ reason: "NotCached", message: "mtg_1 is not cached" }),
    new MeetingsError.UndecodableResponse({ status: 200, path: "data.0.id", message: "Expected string" })
  ]

  it("encodes every member to JSON and decodes it back to an equal error of the same class", () => {
    const encode = Schema.encodeSync(MeetingsError.MeetingsError)
    const decode = Schema.decodeUnknownSync(MeetingsError.MeetingsError)
    const tags = new Set<string>()
    for (const error of members) {
      tags.add(error._tag)
      const text = JSON.stringify(encode(error))
      const back = decode(JSON.parse(text))
      assert.strictEqual(Object.getPrototypeOf(back), Object.getPrototypeOf(error))
      assert.deepStrictEqual(back, error)
    }
    // Every member of the union is covered.
    assert.strictEqual(tags.size, MeetingsError.MeetingsError.members.length)
  })

  it("keeps a cause through the round trip as an Error with its message", () => {
    const error = new MeetingsError.MeetingsUnavailable({ reason: "LocalCache", message: "disk", cause: new Error("SQLITE_FULL") })
    const encoded = JSON.parse(JSON.stringify(Schema.encodeSync(MeetingsError.MeetingsError)(error)))
    const back = Schema.decodeUnknownSync(MeetingsError.MeetingsError)(encoded)
    assert.strictEqual(back._tag, "MeetingsUnavailable")
    if (back._tag === "MeetingsUnavailable") {
      assert.strictEqual(back.reason, "LocalCache")
      assert.instanceOf(back.cause, Error)
      assert.strictEqual((back.cause as Error).message, "SQLITE_FULL")
    }
  })
})

describe("the client follows the endpoint table", () => {
  layer(sandboxLayer({ rateLimit: false }), { excludeTestServices: true })("against the sandbox", (it) => {
    it.effect("each call's method and path come from its Endpoint", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const meetings = yield* clientFor("admin")
        const created = yield* meetings.create(yield* pastMeeting("Table"))
        yield* meetings.update(created.id, { fields: { $privacySetting: "METADATA" } })
        yield* meetings.retrieve(created.id)
        yield* meetings.list({ limit: 1 })
        const sent = (yield* sandbox.requests).map((r) => `${r.method} ${r.path} ${r.idempotencyKey !== undefined}`)
        const expected = [
          [Endpoint.Meetings.create, undefined],
          [Endpoint.Meetings.update, created.id],
          [Endpoint.Meetings.retrieve, created.id],
          [Endpoint.Meetings.list, undefined]
        ] as const
        assert.deepStrictEqual(
          sent,
          expected.map(([e, id]) => `${e.method} ${Endpoint.pathFor(e, id)} ${e.idempotent}`)
        )
      }))
  })
})
