/**
 * Bad input, property-based (fast-check through `effect/FastCheck`, seeded from the run seed): a
 * valid create / update / list input with one random defect — a missing or wrong-typed field, an
 * unknown key at any level, a malformed date or e-mail, dates in the future or out of order, too many
 * transcripts, out-of-range paging — is refused with `InvalidParams` naming the field, by the HTTP
 * client and by the cache (online and offline), and the sandbox's request log proves that none of
 * them reached it (nor was any queued in the outbox). A control property checks that valid input
 * does reach the sandbox, so the log is a meaningful witness.
 */
import { assert, describe, layer } from "@effect/vitest"
import type { MeetingsCache } from "@lightfield-effect/cache"
import type { Meetings, MeetingsError } from "@lightfield-effect/core"
import type { Sandbox } from "@lightfield-effect/sandbox"
import { afterAll } from "vitest"
import { Cause, Context, Effect, Exit, FastCheck as fc, Layer, Logger, LogLevel, Option } from "effect"
import { join } from "node:path"
import * as Env from "./lib/Env.js"
import * as Run from "./lib/Run.js"
import { Tally } from "./lib/Summary.js"

const tally = new Tally("bad-input", "invalid params (property-based)")
afterAll(() => {
  Run.record(tally)
})

class BadInputEnv extends Context.Tag("reliability/BadInputEnv")<BadInputEnv, {
  readonly sb: Sandbox.SandboxShape
  readonly api: Meetings.MeetingsShape
  readonly cache: MeetingsCache.MeetingsCacheShape
  readonly syncedId: string
}>() {}

const EnvLive = Layer.scoped(
  BadInputEnv,
  Effect.gen(function*() {
    const dir = yield* Env.tempDir("bad-input")
    const sb = yield* Env.sandbox({ meetings: 30, seed: Run.prng("bad-input-env").int(1, 1_000_000) })
    const baseUrl = yield* sb.baseUrl
    const api = yield* Env.client(baseUrl, sb.keys.member)
    const cache = yield* Env.cache({ baseUrl, apiKey: sb.keys.member, db: join(dir, "cache.db") })
    yield* cache.sync()
    const syncedId = (yield* sb.meetings)[0]!.id
    return { sb, api, cache, syncedId }
  }).pipe(Effect.orDie, Logger.withMinimumLogLevel(LogLevel.Warning))
)

// ---------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------

type Json = Record<string, unknown>

/** One invalid input and the field its error must name (`prefix`: also accept `param.<index>`). */
interface Case {
  readonly input: Json
  readonly field: string
  readonly prefix?: boolean
  readonly mutation: string
}

const emails = ["alice@acme.test", "bob@acme.test", "pat@globex.test", "kim@umbrella.test"] as const
const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
const isoPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/

const forbiddenKeys = new Set(["__proto__", "constructor", "prototype"])
const keyArb = (known: ReadonlyArray<string>) =>
  fc.oneof(
    fc.string({ minLength: 1, maxLength: 12 }),
    fc.string({ minLength: 1, maxLength: 10 }).map((s) => `$${s}`),
    fc.constantFrom("$title", "$account", "$contact", "$opportunity", "bogus", "id", "accessLevel")
  ).filter((k) => !known.includes(k) && !forbiddenKeys.has(k) && !k.includes("."))

/** Any JSON value except the ones in `allowed` kinds. */
const wrongType = (allowNull: boolean) =>
  fc.oneof(
    fc.integer(),
    fc.double({ noNaN: false }),
    fc.boolean(),
    fc.array(fc.integer(), { maxLength: 2 }),
    fc.dictionary(fc.constantFrom("a", "b"), fc.integer(), { maxKeys: 2 }),
    ...(allowNull ? [] : [fc.constant(null)])
  )

const badEmail = fc.oneof(
  fc.constantFrom("no-at-sign", "a@b", "two@@x.test", "sp ace@x.test", "@x.test", "x@.test ", ""),
  fc.string({ maxLength: 20 }).filter((s) => !emailPattern.test(s))
)

const badIso = fc.oneof(
  fc.constantFrom("yesterday", "2026-01-01", "2026-01-01T10:00:00", "2026-13-01T10:00:00Z", "2026-01-01 10:00:00Z", ""),
  fc.string({ maxLength: 24 }).filter((s) => !isoPattern.test(s)),
  fc.integer(),
  fc.constant(null)
)

const minute = 60_000

const validCreate = fc.record({
  title: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim().length > 0),
  agoMinutes: fc.integer({ min: 120, max: 60 * 24 * 365 }),
  durationMinutes: fc.integer({ min: 0, max: 100 }),
  description: fc.option(fc.string({ maxLength: 60 }), { nil: undefined }),
  organizer: fc.option(fc.constantFrom(...emails), { nil: undefined }),
  attendees: fc.option(fc.subarray([...emails]), { nil: undefined }),
  privacy: fc.option(fc.constantFrom("FULL", "METADATA"), { nil: undefined }),
  transcript: fc.option(fc.constantFrom<string | ReadonlyArray<string>>("fil_1", ["fil_2"]), { nil: undefined })
}).map((r): Json => {
  const start = Date.now() - r.agoMinutes * minute
  const fields: Json = {
    $title: r.title,
    $startDate: new Date(start).toISOString(),
    $endDate: new Date(start + r.durationMinutes * minute).toISOString()
  }
  if (r.description !== undefined) fields.$description = r.description
  if (r.organizer !== undefined) fields.$organizerEmail = r.organizer
  if (r.attendees !== undefined) fields.$attendeeEmails = r.attendees
  if (r.privacy !== undefined) fields.$privacySetting = r.privacy
  return { fields, ...(r.transcript === undefined ? {} : { relationships: { $transcript: r.transcript } }) }
})

const createFieldKeys = [
  "$title",
  "$startDate",
  "$endDate",
  "$description",
  "$meetingUrl",
  "$organizerEmail",
  "$attendeeEmails",
  "$privacySetting"
]

const fieldsOf = (input: Json): Json => ({ ...(input.fields as Json) })

const withFields = (input: Json, f: (fields: Json) => void): Json => {
  const fields = fieldsOf(input)
  f(fields)
  return { ...input, fields }
}

const without = (o: Json, key: string): Json => {
  const copy = { ...o }
  delete copy[key]
  return copy
}

type Mutation<A> = fc.Arbitrary<(base: A) => Case>

const createMutations: ReadonlyArray<Mutation<Json>> = [
  fc.constant((b) => ({ mutation: "missing $title", field: "fields.$title", input: withFields(b, (f) => delete f.$title) })),
  fc.constantFrom("", " ", "\t\n", "   ").map((t) => (b: Json) => ({
    mutation: "blank $title",
    field: "fields.$title",
    input: withFields(b, (f) => (f.$title = t))
  })),
  wrongType(false).map((v) => (b: Json) => ({ mutation: "$title of a wrong type", field: "fields.$title", input: withFields(b, (f) => (f.$title = v)) })),
  badIso.map((v) => (b: Json) => ({ mutation: "malformed $startDate", field: "fields.$startDate", input: withFields(b, (f) => (f.$startDate = v)) })),
  badIso.map((v) => (b: Json) => ({ mutation: "malformed $endDate", field: "fields.$endDate", input: withFields(b, (f) => (f.$endDate = v)) })),
  fc.constantFrom("$startDate", "$endDate").map((k) => (b: Json) => ({
    mutation: `missing ${k}`,
    field: `fields.${k}`,
    input: withFields(b, (f) => delete f[k])
  })),
  fc.integer({ min: 1, max: 10_000 }).map((m) => (b: Json) => ({
    mutation: "$endDate before $startDate",
    field: "fields.$endDate",
    input: withFields(b, (f) => (f.$endDate = new Date(Date.parse(String(f.$startDate)) - m * minute).toISOString()))
  })),
  fc.tuple(fc.integer({ min: 10, max: 100_000 }), fc.integer({ min: 0, max: 600 })).map(([ahead, len]) => (b: Json) => ({
    mutation: "dates in the future",
    field: "fields.$startDate",
    input: withFields(b, (f) => {
      const start = Date.now() + ahead * minute
      f.$startDate = new Date(start).toISOString()
      f.$endDate = new Date(start + len * minute).toISOString()
    })
  })),
  fc.integer({ min: 10, max: 100_000 }).map((ahead) => (b: Json) => ({
    mutation: "$endDate in the future",
    field: "fields.$endDate",
    input: withFields(b, (f) => (f.$endDate = new Date(Date.now() + ahead * minute).toISOString()))
  })),
  fc.oneof(badEmail, fc.integer(), fc.array(fc.constantFrom(...emails), { minLength: 1, maxLength: 2 })).map((v) => (b: Json) => ({
    mutation: "bad $organizerEmail",
    field: "fields.$organizerEmail",
    input: withFields(b, (f) => (f.$organizerEmail = v))
  })),
  fc.oneof(fc.constant(null), fc.constantFrom(...emails), fc.integer(), fc.boolean()).map((v) => (b: Json) => ({
    mutation: "$attendeeEmails not an array",
    field: "fields.$attendeeEmails",
    input: withFields(b, (f) => (f.$attendeeEmails = v))
  })),
  fc.tuple(fc.subarray([...emails]), fc.oneof(badEmail, fc.integer(), fc.constant(null))).map(([good, bad]) => (b: Json) => ({
    mutation: "an invalid attendee",
    field: "fields.$attendeeEmails",
    prefix: true,
    input: withFields(b, (f) => (f.$attendeeEmails = [...good, bad]))
  })),
  fc.oneof(fc.string().filter((s) => s !== "FULL" && s !== "METADATA"), fc.integer(), fc.boolean()).map((v) => (b: Json) => ({
    mutation: "bad $privacySetting",
    field: "fields.$privacySetting",
    input: withFields(b, (f) => (f.$privacySetting = v))
  })),
  fc.tuple(fc.constantFrom("$description", "$meetingUrl"), wrongType(true)).map(([k, v]) => (b: Json) => ({
    mutation: `${k} of a wrong type`,
    field: `fields.${k}`,
    input: withFields(b, (f) => (f[k] = v))
  })),
  fc.tuple(keyArb(createFieldKeys), fc.jsonValue()).map(([k, v]) => (b: Json) => ({
    mutation: "unknown key in fields",
    field: `fields.${k}`,
    input: withFields(b, (f) => Object.defineProperty(f, k, { value: v, enumerable: true, writable: true, configurable: true }))
  })),
  fc.tuple(keyArb(["fields", "autoCreateRecords", "relationships"]), fc.jsonValue()).map(([k, v]) => (b: Json) => ({
    mutation: "unknown top-level key",
    field: k,
    input: Object.defineProperty({ ...b }, k, { value: v, enumerable: true, writable: true, configurable: true })
  })),
  fc.constant((b: Json) => ({ mutation: "missing fields", field: "fields", input: without(b, "fields") })),
  fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.integer(), { maxLength: 2 })).map((v) => (b: Json) => ({
    mutation: "fields not an object",
    field: "fields",
    input: { ...b, fields: v }
  })),
  fc.oneof(fc.string(), fc.integer(), fc.constant(null)).map((v) => (b: Json) => ({
    mutation: "autoCreateRecords not a boolean",
    field: "autoCreateRecords",
    input: { ...b, autoCreateRecords: v }
  })),
  fc.array(fc.string({ minLength: 1, maxLength: 8 }).map((s) => `fil_${s}`), { minLength: 2, maxLength: 4 }).map((ids) => (b: Json) => ({
    mutation: "more than one transcript",
    field: "relationships.$transcript",
    input: { ...b, relationships: { $transcript: ids } }
  })),
  fc.oneof(fc.constant(""), fc.integer(), fc.constant(null), fc.constant({ replace: "fil_1" })).map((v) => (b: Json) => ({
    mutation: "bad $transcript",
    field: "relationships.$transcript",
    input: { ...b, relationships: { $transcript: v } }
  })),
  fc.tuple(keyArb(["$transcript"]), fc.jsonValue()).map(([k, v]) => (b: Json) => ({
    mutation: "unknown relationship",
    field: `relationships.${k}`,
    input: { ...b, relationships: Object.defineProperty({ $transcript: "fil_1" }, k, { value: v, enumerable: true }) }
  })),
  fc.oneof(fc.string(), fc.integer(), fc.constant(null)).map((v) => (b: Json) => ({
    mutation: "relationships not an object",
    field: "relationships",
    input: { ...b, relationships: v }
  }))
]

const createCase = fc.tuple(validCreate, fc.oneof(...createMutations)).map(([base, mutate]) => mutate(base))

const validUpdate = fc.oneof(
  fc.constant<Json>({}),
  fc.constantFrom<Json>({ fields: { $privacySetting: "FULL" } }, { fields: { $privacySetting: "METADATA" } }, {
    fields: { $privacySetting: null }
  }),
  fc.constant<Json>({ relationships: { $transcript: { replace: "fil_9" } } })
)

const updateMutations: ReadonlyArray<Mutation<Json>> = [
  fc.tuple(keyArb(["$privacySetting"]), fc.jsonValue()).map(([k, v]) => (b: Json) => ({
    mutation: "a field update cannot write",
    field: `fields.${k}`,
    input: { ...b, fields: Object.defineProperty({ $privacySetting: "FULL" }, k, { value: v, enumerable: true }) }
  })),
  fc.constant((b: Json) => ({ mutation: "fields without $privacySetting", field: "fields.$privacySetting", input: { ...b, fields: {} } })),
  fc.oneof(fc.string().filter((s) => s !== "FULL" && s !== "METADATA"), fc.integer(), fc.boolean()).map((v) => (b: Json) => ({
    mutation: "bad $privacySetting",
    field: "fields.$privacySetting",
    input: { ...b, fields: { $privacySetting: v } }
  })),
  fc.oneof(fc.string(), fc.integer(), fc.constant(null)).map((v) => (b: Json) => ({
    mutation: "fields not an object",
    field: "fields",
    input: { ...b, fields: v }
  })),
  fc.oneof(fc.string(), fc.integer(), fc.constant(null)).map((v) => (b: Json) => ({
    mutation: "$transcript not an operation",
    field: "relationships.$transcript",
    input: { ...b, relationships: { $transcript: v } }
  })),
  fc.oneof(fc.constant(undefined), fc.constant(""), fc.integer(), fc.constant(null)).map((v) => (b: Json) => ({
    mutation: "bad $transcript.replace",
    field: "relationships.$transcript.replace",
    input: { ...b, relationships: { $transcript: v === undefined ? {} : { replace: v } } }
  })),
  fc.tuple(keyArb(["replace"]), fc.jsonValue()).map(([k, v]) => (b: Json) => ({
    mutation: "unknown $transcript operation",
    field: `relationships.$transcript.${k}`,
    input: { ...b, relationships: { $transcript: Object.defineProperty({ replace: "fil_1" }, k, { value: v, enumerable: true }) } }
  })),
  fc.tuple(keyArb(["$transcript"]), fc.jsonValue()).map(([k, v]) => (b: Json) => ({
    mutation: "unknown relationship",
    field: `relationships.${k}`,
    input: { ...b, relationships: Object.defineProperty({}, k, { value: v, enumerable: true }) }
  })),
  fc.tuple(keyArb(["fields", "relationships"]), fc.jsonValue()).map(([k, v]) => (b: Json) => ({
    mutation: "unknown top-level key",
    field: k,
    input: Object.defineProperty({ ...b }, k, { value: v, enumerable: true, writable: true, configurable: true })
  }))
]

const updateCase = fc.tuple(validUpdate, fc.oneof(...updateMutations)).map(([base, mutate]) => mutate(base))

const badLimit = fc.oneof(
  fc.integer({ max: 0 }),
  fc.integer({ min: 26 }),
  fc.double({ min: 1.01, max: 24.99, noInteger: true }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -1),
  fc.string(),
  fc.constant(null)
)
const badOffset = fc.oneof(
  fc.integer({ max: -1 }),
  fc.double({ min: 0.01, max: 1000, noInteger: true }),
  fc.constantFrom(Number.NaN, Number.MAX_SAFE_INTEGER + 2, -0.5),
  fc.string(),
  fc.constant(null)
)

const listCase: fc.Arbitrary<Case> = fc.oneof(
  fc.tuple(badLimit, fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined })).map(([limit, offset]) => ({
    mutation: "bad limit",
    field: "limit",
    input: { limit, ...(offset === undefined ? {} : { offset }) }
  })),
  fc.tuple(badOffset, fc.option(fc.integer({ min: 1, max: 25 }), { nil: undefined })).map(([offset, limit]) => ({
    mutation: "bad offset",
    field: "offset",
    input: { offset, ...(limit === undefined ? {} : { limit }) }
  })),
  fc.tuple(keyArb(["limit", "offset"]), fc.jsonValue()).map(([k, v]) => ({
    mutation: "unknown list parameter",
    field: k,
    input: Object.defineProperty({ limit: 10 }, k, { value: v, enumerable: true }) as Json
  }))
)

// ---------------------------------------------------------------------------------------------
// The check
// ---------------------------------------------------------------------------------------------

const names = (c: Case) => `${c.mutation}: ${JSON.stringify(c.input)}`

/**
 * `call` must fail with `InvalidParams` naming `c.field`, and the sandbox must not have received a
 * single request meanwhile.
 */
const refused = <A, E extends { readonly _tag: string }, R>(
  path: string,
  c: Case,
  call: Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    const { sb } = yield* BadInputEnv
    const before = (yield* sb.requests).length
    const exit = yield* Effect.exit(call)
    const after = (yield* sb.requests).length
    tally.trials++
    if (after !== before) {
      tally.outcome("reached the sandbox")
      assert.fail(`${path}: ${names(c)} reached the sandbox (${after - before} requests)`)
    }
    if (Exit.isSuccess(exit)) {
      tally.outcome("accepted")
      return assert.fail(`${path}: ${names(c)} was accepted`)
    }
    if (Cause.isDie(exit.cause) || Cause.isInterrupted(exit.cause)) {
      tally.defects++
      return assert.fail(`${path}: ${names(c)} died: ${Cause.pretty(exit.cause)}`)
    }
    const error = Option.getOrThrow(Cause.failureOption(exit.cause))
    if (error._tag !== "InvalidParams") {
      tally.outcome(`refused as ${error._tag}`)
      return assert.fail(`${path}: ${names(c)} failed with ${error._tag}, not InvalidParams`)
    }
    const param = (error as unknown as MeetingsError.InvalidParams).param
    const named = c.prefix === true ? param === c.field || param.startsWith(`${c.field}.`) : param === c.field
    tally.outcome(named ? "refused: InvalidParams naming the field" : "refused: InvalidParams naming another field")
    assert.isTrue(named, `${path}: ${names(c)} named '${param}', expected '${c.field}'`)
  })

const fastCheck = (label: string) => ({
  fastCheck: { seed: Run.prng(label).seed(), numRuns: Run.sizes().propertyRuns, endOnFailure: true }
})

const quiet = <A, E, R>(self: Effect.Effect<A, E, R>) => Logger.withMinimumLogLevel(self, LogLevel.Error)

describe("bad input", () => {
  layer(EnvLive, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
    it.effect.prop("create: refused before any request, naming the field", { c: createCase }, ({ c }) =>
      Effect.gen(function*() {
        const { api, cache } = yield* BadInputEnv
        const params = c.input as never
        yield* refused("MeetingsClient.create", c, api.create(params))
        yield* refused("MeetingsCache.create", c, cache.create(params))
        const queued = (yield* cache.outbox).length
        yield* refused("MeetingsCache.create offline", c, cache.create(params, { offline: true }))
        assert.strictEqual((yield* cache.outbox).length, queued, `${names(c)} was queued in the outbox`)
      }).pipe(quiet), fastCheck("bad-input-create"))

    it.effect.prop("update: refused before any request, naming the field", { c: updateCase }, ({ c }) =>
      Effect.gen(function*() {
        const { api, cache, syncedId } = yield* BadInputEnv
        const params = c.input as never
        yield* refused("MeetingsClient.update", c, api.update(syncedId, params))
        yield* refused("MeetingsCache.update", c, cache.update(syncedId, params))
        const queued = (yield* cache.outbox).length
        yield* refused("MeetingsCache.update offline", c, cache.update(syncedId, params, { offline: true }))
        assert.strictEqual((yield* cache.outbox).length, queued, `${names(c)} was queued in the outbox`)
      }).pipe(quiet), fastCheck("bad-input-update"))

    it.effect.prop(
      "update: an empty or blank id is refused before any request",
      { id: fc.constantFrom("", " ", "\t", "   \n") },
      ({ id }) =>
        Effect.gen(function*() {
          const { api, cache } = yield* BadInputEnv
          const c: Case = { mutation: "blank id", field: "id", input: { id } }
          yield* refused("MeetingsClient.update", c, api.update(id, { fields: { $privacySetting: "FULL" } }))
          yield* refused("MeetingsClient.retrieve", c, api.retrieve(id))
          yield* refused("MeetingsCache.update", c, cache.update(id, { fields: { $privacySetting: "FULL" } }))
        }).pipe(quiet),
      { fastCheck: { seed: Run.prng("bad-input-id").seed(), numRuns: 8 } }
    )

    it.effect.prop("list: refused before any request, naming the parameter", { c: listCase }, ({ c }) =>
      Effect.gen(function*() {
        const { api, cache } = yield* BadInputEnv
        const params = c.input as never
        yield* refused("MeetingsClient.list", c, api.list(params))
        yield* refused("MeetingsCache.list NetworkFirst", c, cache.list(params, { policy: "NetworkFirst" }))
      }).pipe(quiet), fastCheck("bad-input-list"))

    it.effect.prop(
      "control: valid creates do reach the sandbox, once each",
      { input: validCreate },
      ({ input }) =>
        Effect.gen(function*() {
          const { api, sb } = yield* BadInputEnv
          const before = (yield* sb.requests).length
          yield* api.create(input as never)
          const sent = (yield* sb.requests).slice(before)
          assert.strictEqual(sent.filter((r) => r.method === "POST" && r.status === 200).length, 1, JSON.stringify(input))
          tally.outcome("valid input sent (control)")
        }).pipe(quiet),
      { fastCheck: { seed: Run.prng("bad-input-control").seed(), numRuns: 10 } }
    )

    /**
     * Regression: a list page served from SQLite (CacheFirst/StaleWhileRevalidate after a completed
     * sync, CacheOnly) validates its params like the client. (It once did not: `limit` 0/-1/1000
     * returned rows — SQLite's `LIMIT -1` is "no limit" — and a fractional `offset` failed as a
     * `CacheError`.)
     */
    it.effect("list: a page served from SQLite is validated like the client's", () =>
      Effect.gen(function*() {
        const { cache } = yield* BadInputEnv
        const inputs: ReadonlyArray<Case> = [
          { mutation: "limit 0", field: "limit", input: { limit: 0 } },
          { mutation: "limit -1", field: "limit", input: { limit: -1 } },
          { mutation: "limit above the maximum", field: "limit", input: { limit: 1000 } },
          { mutation: "fractional offset", field: "offset", input: { limit: 10, offset: 2.5 } },
          { mutation: "string limit", field: "limit", input: { limit: "ten" } },
          { mutation: "unknown key", field: "cursor", input: { limit: 10, cursor: "x" } }
        ]
        const answers: Array<string> = []
        for (const c of inputs) {
          for (const policy of ["CacheFirst", "CacheOnly"] as const) {
            const exit = yield* Effect.exit(cache.list(c.input as never, { policy }))
            const got = Exit.isSuccess(exit)
              ? `accepted (${exit.value.data.length} rows)`
              : Option.match(Cause.failureOption(exit.cause), {
                onNone: () => "defect",
                onSome: (e) => e._tag === "InvalidParams" ? `InvalidParams(${e.param})` : e._tag
              })
            if (got !== `InvalidParams(${c.field})`) answers.push(`${policy} ${c.mutation}: ${got}`)
          }
        }
        if (answers.length > 0) tally.bugs.push("MeetingsCache.list does not validate params when served from SQLite")
        assert.deepStrictEqual(answers, [], "list params refused with InvalidParams on the local path")
      }).pipe(quiet))
  })
})
