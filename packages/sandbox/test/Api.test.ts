import { assert, describe, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import * as Sandbox from "../src/Sandbox.js"
import { completedFile, createBody, createFile, errorOf, json, meetingOf, pageOf, send, testLayer } from "./utils.js"

const keys = Sandbox.keysFor(7)

layer(testLayer({ seed: 7, meetings: 60, rateLimit: false }), { excludeTestServices: true })("API", (it) => {
  describe("auth and version header", () => {
    it.effect("missing or unknown key -> 401 unauthorized, wrapped", () =>
      Effect.gen(function*() {
        for (const key of [undefined, "sk_lf_0_nope"]) {
          const res = yield* send("GET", "/v1/meetings", key === undefined ? {} : { key })
          assert.strictEqual(res.status, 401)
          const error = yield* errorOf(res)
          assert.strictEqual(error.type, "unauthorized")
          assert.strictEqual(error.message, "Invalid API key.")
          assert.isDefined(res.headers["x-ratelimit-limit"])
        }
      }))

    it.effect("keys are deterministic from the seed", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        assert.deepStrictEqual(sandbox.keys, keys)
        assert.isTrue(keys.admin.startsWith("sk_lf_"))
        assert.notStrictEqual(Sandbox.keysFor(8).admin, keys.admin)
      }))

    it.effect("missing or wrong Lightfield-Version -> 400 version_header", () =>
      Effect.gen(function*() {
        for (const version of [null, "2025-01-01"]) {
          const res = yield* send("GET", "/v1/meetings", { key: keys.admin, version })
          assert.strictEqual(res.status, 400)
          const error = yield* errorOf(res)
          assert.deepStrictEqual(
            { type: error.type, code: error.code, param: error.param },
            { type: "bad_request", code: "version_header", param: "Lightfield-Version" }
          )
        }
      }))

    it.effect("readOnly key: list works, create and update answer 403 naming the scope", () =>
      Effect.gen(function*() {
        assert.strictEqual((yield* send("GET", "/v1/meetings", { key: keys.readOnly })).status, 200)
        const created = yield* send("POST", "/v1/meetings", { key: keys.readOnly, body: createBody() })
        assert.strictEqual(created.status, 403)
        const error = yield* errorOf(created)
        assert.strictEqual(error.type, "forbidden")
        assert.strictEqual(error.message, "Token does not have the 'meetings:create' scope.")
        const sandbox = yield* Sandbox.Sandbox
        const [first] = yield* sandbox.meetings
        const updated = yield* send("POST", `/v1/meetings/${first!.id}`, { key: keys.readOnly, body: {} })
        assert.strictEqual(updated.status, 403)
        assert.strictEqual((yield* errorOf(updated)).message, "Token does not have the 'meetings:update' scope.")
      }))

    it.effect("unknown route -> 404 not_found", () =>
      Effect.gen(function*() {
        const res = yield* send("GET", "/v1/accounts", { key: keys.admin })
        assert.strictEqual(res.status, 404)
        assert.strictEqual((yield* errorOf(res)).type, "not_found")
      }))
  })

  describe("create validation", () => {
    const expectProblem = (
      body: unknown,
      expected: { status: number; param?: string; code?: string },
      options: { rawBody?: string; contentType?: string } = {}
    ) =>
      Effect.gen(function*() {
        const res = yield* send("POST", "/v1/meetings", { key: keys.member, body, ...options })
        assert.strictEqual(res.status, expected.status, res.text)
        const error = yield* errorOf(res)
        if (expected.param !== undefined) assert.strictEqual(error.param, expected.param, res.text)
        if (expected.code !== undefined) assert.strictEqual(error.code, expected.code, res.text)
        if (expected.status === 422) {
          assert.strictEqual(error.type, "unprocessable_content")
          assert.isUndefined(error.code)
        }
        return error
      })

    it.effect("missing $title -> 422 param fields.$title", () =>
      Effect.asVoid(expectProblem(
        { fields: { $startDate: "2026-01-01T10:00:00Z", $endDate: "2026-01-01T11:00:00Z" } },
        { status: 422, param: "fields.$title" }
      )))

    it.effect("missing fields -> 400 parameter_missing", () =>
      Effect.asVoid(expectProblem({}, { status: 400, param: "fields", code: "parameter_missing" })))

    it.effect("unknown field -> 400 unknown_field", () =>
      Effect.asVoid(expectProblem(createBody({ bogus: 1 }), { status: 400, param: "fields.bogus", code: "unknown_field" })))

    it.effect("unknown top-level key -> 400 unknown_field", () =>
      Effect.asVoid(expectProblem(createBody({}, { extra: true }), { status: 400, param: "extra", code: "unknown_field" })))

    it.effect("wrong type -> 400 invalid_type", () =>
      Effect.asVoid(expectProblem(createBody({ $title: 42 }), { status: 400, param: "fields.$title", code: "invalid_type" })))

    it.effect("bad e-mail -> 400 invalid_type", () =>
      Effect.asVoid(
        expectProblem(createBody({ $organizerEmail: "nope" }), {
          status: 400,
          param: "fields.$organizerEmail",
          code: "invalid_type"
        })
      ))

    it.effect("future date -> 422 (and the sandbox clock decides what is future)", () =>
      Effect.gen(function*() {
        yield* expectProblem(
          createBody({ $startDate: "2099-01-01T10:00:00Z", $endDate: "2099-01-01T11:00:00Z" }),
          { status: 422, param: "fields.$startDate" }
        )
        // Ten minutes ahead is future now, and past once the sandbox clock moves an hour on.
        const body = createBody({
          $startDate: new Date(Date.now() - 5 * 60_000).toISOString(),
          $endDate: new Date(Date.now() + 10 * 60_000).toISOString()
        })
        yield* expectProblem(body, { status: 422, param: "fields.$endDate" })
        const sandbox = yield* Sandbox.Sandbox
        yield* sandbox.advanceClock("1 hour")
        const res = yield* send("POST", "/v1/meetings", { key: keys.member, body })
        assert.strictEqual(res.status, 200, res.text)
      }))

    it.effect("end before start -> 422 param fields.$endDate", () =>
      Effect.asVoid(
        expectProblem(createBody({ $endDate: "2026-01-05T09:00:00.000Z" }), { status: 422, param: "fields.$endDate" })
      ))

    it.effect("more than one transcript -> 422", () =>
      Effect.asVoid(
        expectProblem(createBody({}, { relationships: { $transcript: ["fil_a", "fil_b"] } }), {
          status: 422,
          param: "relationships.$transcript"
        })
      ))

    it.effect("transcript file unknown -> 400 relationship_entity_missing; pending -> 422", () =>
      Effect.gen(function*() {
        for (const unknown of ["doc_123", "fil_never_issued"]) {
          yield* expectProblem(createBody({}, { relationships: { $transcript: unknown } }), {
            status: 400,
            param: "relationships.$transcript",
            code: "relationship_entity_missing"
          })
        }
        const pending = yield* createFile(keys.member, "not uploaded yet")
        yield* expectProblem(createBody({}, { relationships: { $transcript: pending.id } }), {
          status: 422,
          param: "relationships.$transcript"
        })
      }))

    it.effect("non-JSON body or content type -> 415", () =>
      Effect.gen(function*() {
        const error = yield* expectProblem(undefined, { status: 415 }, { rawBody: "{not json" })
        assert.strictEqual(error.type, "unsupported_media_type")
        yield* expectProblem(undefined, { status: 415 }, { rawBody: "title=x", contentType: "text/plain" })
      }))

    it.effect("valid create -> 200 FULL for the creator with every system field, null when unset", () =>
      Effect.gen(function*() {
        const transcript = yield* completedFile(keys.member2)
        const res = yield* send("POST", "/v1/meetings", {
          key: keys.member2,
          body: createBody({ $privacySetting: "METADATA", $description: "secret notes" }, {
            relationships: { $transcript: transcript }
          })
        })
        assert.strictEqual(res.status, 200, res.text)
        const meeting = yield* meetingOf(res)
        assert.strictEqual(meeting.accessLevel, "FULL")
        assert.isTrue(meeting.id.startsWith("mtg_"))
        assert.deepStrictEqual(Option.getOrNull(meeting.transcriptFileId), transcript)
        const wire = json(res) as { fields: Record<string, { value: unknown }>; relationships: Record<string, unknown> }
        assert.deepStrictEqual(Object.keys(wire.fields).sort(), [
          "$attendeeEmails",
          "$description",
          "$endDate",
          "$meetingUrl",
          "$organizerEmail",
          "$privacySetting",
          "$startDate",
          "$title"
        ])
        assert.strictEqual(wire.fields.$meetingUrl!.value, null)
        assert.deepStrictEqual(Object.keys(wire).sort(), [
          "accessLevel",
          "createdAt",
          "externalId",
          "fields",
          "httpLink",
          "id",
          "objectType",
          "relationships",
          "updatedAt"
        ])
        assert.deepStrictEqual(wire.relationships.$transcript, {
          cardinality: "has_one",
          objectType: "file",
          values: [transcript]
        })
        // member (alice) is not a participant: METADATA view of a METADATA meeting.
        const seen = yield* send("GET", `/v1/meetings/${meeting.id}`, { key: keys.member })
        const redacted = yield* meetingOf(seen)
        assert.strictEqual(redacted.accessLevel, "METADATA")
        assert.isTrue(Option.isNone(redacted.description))
        assert.isUndefined(redacted.relationships.$transcript)
      }))
  })

  describe("retrieve, redaction and list", () => {
    it.effect("same meeting: FULL for admin, METADATA for a non-participant member", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const all = yield* sandbox.meetings
        const target = all.find((m) =>
          Option.getOrNull(m.privacySetting) === "METADATA" &&
          Option.isSome(m.description) &&
          m.relationships.$transcript?.values.length === 1 &&
          Option.getOrNull(m.organizerEmail) !== "alice@acme.test" &&
          !Option.getOrElse(m.attendeeEmails, (): ReadonlyArray<string> => []).includes("alice@acme.test")
        )
        assert.isDefined(target, "the seed has a private meeting with a transcript that alice does not attend")
        const asAdmin = yield* meetingOf(yield* send("GET", `/v1/meetings/${target!.id}`, { key: keys.admin }))
        assert.strictEqual(asAdmin.accessLevel, "FULL")
        assert.isTrue(Option.isSome(asAdmin.description))
        assert.isTrue(Option.isSome(asAdmin.transcriptFileId))
        const res = yield* send("GET", `/v1/meetings/${target!.id}`, { key: keys.member })
        const asMember = yield* meetingOf(res)
        assert.strictEqual(asMember.accessLevel, "METADATA")
        const wire = json(res) as { fields: Record<string, { value: unknown }>; relationships: Record<string, unknown> }
        assert.strictEqual(wire.fields.$description!.value, null)
        assert.isFalse("$transcript" in wire.relationships)
        assert.deepStrictEqual(asMember.title, asAdmin.title)
        assert.deepStrictEqual(asMember.attendeeEmails, asAdmin.attendeeEmails)
      }))

    it.effect("members see a mix of FULL and METADATA; admin sees FULL only", () =>
      Effect.gen(function*() {
        const levels = (key: string) =>
          Effect.gen(function*() {
            const out = new Set<string>()
            for (let offset = 0; offset < 60; offset += 25) {
              const page = yield* pageOf(yield* send("GET", `/v1/meetings?offset=${offset}`, { key }))
              for (const m of page.data) out.add(m.accessLevel)
            }
            return [...out].sort()
          })
        assert.deepStrictEqual(yield* levels(keys.admin), ["FULL"])
        assert.deepStrictEqual(yield* levels(keys.member), ["FULL", "METADATA"])
        assert.deepStrictEqual(yield* levels(keys.member2), ["FULL", "METADATA"])
      }))

    it.effect("unknown id -> 404 with the documented message; other org cannot see it", () =>
      Effect.gen(function*() {
        const res = yield* send("GET", "/v1/meetings/mtg_doesnotexist", { key: keys.admin })
        assert.strictEqual(res.status, 404)
        const error = yield* errorOf(res)
        assert.deepStrictEqual(error, { type: "not_found", message: "No resource found in 'meetings' with the given ID." })
        const sandbox = yield* Sandbox.Sandbox
        const [first] = yield* sandbox.meetings
        assert.strictEqual((yield* send("GET", `/v1/meetings/${first!.id}`, { key: keys.otherOrg })).status, 404)
        const other = yield* pageOf(yield* send("GET", "/v1/meetings", { key: keys.otherOrg }))
        assert.strictEqual(other.totalCount, 20)
        assert.isFalse(other.data.some((m) => m.id === first!.id))
      }))

    it.effect("pagination: pages of 25, totalCount, createdAt desc then id, no duplicates", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const total = (yield* sandbox.meetings).length
        const seen: Array<{ id: string; createdAt: number }> = []
        let offset = 0
        for (;;) {
          const page = yield* pageOf(yield* send("GET", `/v1/meetings?offset=${offset}&limit=25`, { key: keys.admin }))
          assert.strictEqual(page.totalCount, total)
          assert.isAtMost(page.data.length, 25)
          seen.push(...page.data.map((m) => ({ id: m.id, createdAt: m.createdAt.epochMillis })))
          if (page.data.length < 25) break
          offset += 25
        }
        assert.strictEqual(seen.length, total)
        assert.strictEqual(new Set(seen.map((s) => s.id)).size, total)
        for (let i = 1; i < seen.length; i++) {
          const [a, b] = [seen[i - 1]!, seen[i]!]
          assert.isTrue(a.createdAt > b.createdAt || (a.createdAt === b.createdAt && a.id < b.id))
        }
      }))

    it.effect("limit 0, offset -1 and non-integers -> 400 invalid_type; limit 100 clamped to 25; default 25", () =>
      Effect.gen(function*() {
        for (const [query, param] of [["limit=0", "limit"], ["offset=-1", "offset"], ["limit=2.5", "limit"], ["limit=abc", "limit"]] as const) {
          const res = yield* send("GET", `/v1/meetings?${query}`, { key: keys.admin })
          assert.strictEqual(res.status, 400, query)
          const error = yield* errorOf(res)
          assert.deepStrictEqual({ code: error.code, param: error.param }, { code: "invalid_type", param }, query)
        }
        const clamped = yield* pageOf(yield* send("GET", "/v1/meetings?limit=100", { key: keys.admin }))
        assert.strictEqual(clamped.data.length, 25)
        const byDefault = yield* pageOf(yield* send("GET", "/v1/meetings", { key: keys.admin }))
        assert.strictEqual(byDefault.data.length, 25)
        const small = yield* pageOf(yield* send("GET", "/v1/meetings?limit=3&offset=2", { key: keys.admin }))
        assert.deepStrictEqual(small.data.map((m) => m.id), byDefault.data.slice(2, 5).map((m) => m.id))
      }))
  })

  describe("update", () => {
    const createOwn = Effect.gen(function*() {
      const res = yield* send("POST", "/v1/meetings", { key: keys.member, body: createBody() })
      return yield* meetingOf(res)
    })

    it.effect("privacy and transcript replace; {} leaves it unchanged", () =>
      Effect.gen(function*() {
        const created = yield* createOwn
        const transcript = yield* completedFile(keys.member)
        assert.isNull(created.updatedAt)
        const same = yield* meetingOf(yield* send("POST", `/v1/meetings/${created.id}`, { key: keys.member, body: {} }))
        assert.isNull(same.updatedAt)
        const res = yield* send("POST", `/v1/meetings/${created.id}`, {
          key: keys.member,
          body: { fields: { $privacySetting: "METADATA" }, relationships: { $transcript: { replace: transcript } } }
        })
        assert.strictEqual(res.status, 200, res.text)
        const updated = yield* meetingOf(res)
        assert.deepStrictEqual(Option.getOrNull(updated.privacySetting), "METADATA")
        assert.deepStrictEqual(Option.getOrNull(updated.transcriptFileId), transcript)
        assert.isNotNull(updated.updatedAt)
        // null resets to the workspace default, served as FULL.
        const reset = yield* meetingOf(
          yield* send("POST", `/v1/meetings/${created.id}`, { key: keys.member, body: { fields: { $privacySetting: null } } })
        )
        assert.deepStrictEqual(Option.getOrNull(reset.privacySetting), "FULL")
      }))

    it.effect("$title -> 400 unknown_field; empty body -> 400; unknown id -> 404; bad file -> 400", () =>
      Effect.gen(function*() {
        const created = yield* createOwn
        const title = yield* send("POST", `/v1/meetings/${created.id}`, { key: keys.member, body: { fields: { $title: "x" } } })
        assert.strictEqual(title.status, 400)
        const error = yield* errorOf(title)
        assert.deepStrictEqual({ code: error.code, param: error.param }, { code: "unknown_field", param: "fields.$title" })
        const empty = yield* send("POST", `/v1/meetings/${created.id}`, { key: keys.member })
        assert.strictEqual(empty.status, 400)
        assert.strictEqual((yield* errorOf(empty)).code, "parameter_missing")
        const missing = yield* send("POST", "/v1/meetings/mtg_nope", { key: keys.member, body: {} })
        assert.strictEqual(missing.status, 404)
        const file = yield* send("POST", `/v1/meetings/${created.id}`, {
          key: keys.member,
          body: { relationships: { $transcript: { replace: "xyz" } } }
        })
        assert.strictEqual(file.status, 400)
        assert.strictEqual((yield* errorOf(file)).code, "relationship_entity_missing")
      }))
  })
})
