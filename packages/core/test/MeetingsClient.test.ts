import { assert, describe, layer } from "@effect/vitest"
import { Headers, HttpClient, type HttpClientRequest } from "@effect/platform"
import {
  Chunk,
  Clock,
  ConfigProvider,
  Duration,
  Effect,
  Exit,
  Fiber,
  FiberRef,
  Inspectable,
  Layer,
  Metric,
  MetricLabel,
  Option,
  Redacted,
  Stream,
  type Tracer
} from "effect"
import type { Meeting } from "../src/index.js"
import { Meetings, MeetingsClient, MeetingsError, MeetingsMetrics } from "../src/index.js"
import {
  awaitInFlight,
  clientFor,
  completedFile,
  filesFor,
  pastMeeting,
  quickRetries,
  reset,
  sandboxLayer,
  timed,
  uuidV4
} from "./helpers.js"

/** What a proxy or gateway answers instead of the API. */
const html = (title: string) => `<!DOCTYPE html><html><head><title>${title}</title></head><body><h1>${title}</h1></body></html>`

describe("MeetingsClient", () => {
  layer(sandboxLayer({ rateLimit: false }), { excludeTestServices: true })("against the sandbox", (it) => {
    describe("success paths", () => {
      it.effect("create sends the documented headers and one UUID v4 Idempotency-Key", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          const meetings = yield* clientFor("admin")
          const created = yield* meetings.create(yield* pastMeeting("Create works"))
          assert.deepStrictEqual(created.title, Option.some("Create works"))
          assert.strictEqual(created.accessLevel, "FULL")
          const [request] = yield* sandbox.requests
          // The sandbox refuses a missing version header (400) and a body without JSON content type (415).
          assert.strictEqual(request?.status, 200)
          assert.strictEqual(request?.method, "POST")
          assert.strictEqual(request?.apiKey, sandbox.keys.admin)
          assert.match(request?.idempotencyKey ?? "", uuidV4)
        }))

      it.effect("every request carries the documented headers, and the bearer token is redacted", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          const sent: Array<HttpClientRequest.HttpClientRequest> = []
          const meetings = yield* clientFor("admin", {
            userAgent: "lightfield-effect/test",
            transformClient: HttpClient.tapRequest((request) => Effect.sync(() => sent.push(request)))
          })
          yield* meetings.list({ limit: 1 })
          yield* meetings.create(yield* pastMeeting("Headers"))
          const [get, post] = sent
          assert.strictEqual(get?.headers["authorization"], `Bearer ${sandbox.keys.admin}`)
          assert.strictEqual(get?.headers["lightfield-version"], "2026-03-01")
          assert.strictEqual(get?.headers["accept"], "application/json")
          assert.strictEqual(get?.headers["user-agent"], "lightfield-effect/test")
          assert.isUndefined(get?.headers["idempotency-key"])
          // Content-Type comes from the body: none on GET, JSON on POST.
          assert.strictEqual(get?.body._tag, "Empty")
          assert.strictEqual(post?.body.contentType, "application/json")
          assert.match(post?.headers["idempotency-key"] ?? "", uuidV4)
          // What logs and spans see (the fiber's redacted header names).
          const shown = Headers.redact(get!.headers, yield* FiberRef.get(Headers.currentRedactedNames))
          assert.isTrue(Redacted.isRedacted(shown["authorization"]))
          assert.notInclude(Inspectable.format(shown), sandbox.keys.admin)
        }))

      it.effect("each call has a span named after the method, with route, attempt and status", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          yield* sandbox.inject({ fault: { _tag: "Status", status: 503 }, match: "GET /v1/meetings/*", times: 1 })
          const spans: Array<Tracer.Span> = []
          const meetings = yield* clientFor("admin", {
            ...quickRetries(),
            transformClient: HttpClient.tapRequest(() =>
              Effect.flatMap(Effect.currentSpan, (span) => Effect.sync(() => spans.push(span))).pipe(Effect.ignore)
            )
          })
          yield* meetings.retrieve((yield* sandbox.meetings)[0]!.id)
          const span = spans[0]!
          assert.strictEqual(span.name, "Meetings.retrieve")
          assert.strictEqual(spans.length, 2)
          assert.strictEqual(span.attributes.get("http.route"), "/v1/meetings/{id}")
          assert.strictEqual(span.attributes.get("http.request.method"), "GET")
          assert.strictEqual(span.attributes.get("attempt"), 2)
          assert.strictEqual(span.attributes.get("http.status_code"), 200)
        }))

      it.effect("an explicit idempotencyKey is sent as is, and a repeat replays the first answer", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          const meetings = yield* clientFor("admin")
          const params = yield* pastMeeting("Keyed create")
          const first = yield* meetings.create(params, { idempotencyKey: "key-keyed-create" })
          const again = yield* meetings.create(params, { idempotencyKey: "key-keyed-create" })
          assert.strictEqual(again.id, first.id)
          const log = yield* sandbox.requests
          assert.deepStrictEqual(log.map((r) => [r.idempotencyKey, r.replayed]), [
            ["key-keyed-create", false],
            ["key-keyed-create", true]
          ])
        }))

      it.effect("retrieve, update and list", () =>
        Effect.gen(function*() {
          yield* reset
          const meetings = yield* clientFor("admin")
          const transcript = yield* completedFile(yield* filesFor("admin"))
          const created = yield* meetings.create(yield* pastMeeting("Round trip"))
          const got = yield* meetings.retrieve(created.id)
          assert.strictEqual(got.id, created.id)
          assert.deepStrictEqual(got.title, Option.some("Round trip"))

          const updated = yield* meetings.update(created.id, {
            fields: { $privacySetting: "METADATA" },
            relationships: { $transcript: { replace: transcript } }
          })
          assert.deepStrictEqual(updated.privacySetting, Option.some("METADATA" as const))
          assert.deepStrictEqual(updated.transcriptFileId, Option.some(transcript))

          const page = yield* meetings.list({ limit: 5, offset: 0 })
          assert.strictEqual(page.data.length, 5)
          assert.isAtLeast(page.totalCount, 200)
          const everything = yield* meetings.list()
          assert.strictEqual(everything.data.length, 25)
        }))

      it.effect("a METADATA view decodes with content redacted", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          const meetings = yield* clientFor("member")
          const page = yield* meetings.list({ limit: 25 })
          const redacted = page.data.find((m) => m.isRedacted)
          assert.isDefined(redacted)
          assert.deepStrictEqual(redacted?.description, Option.none())
          assert.deepStrictEqual(redacted?.transcriptFileId, Option.none())
          assert.isTrue(Option.isSome(redacted?.title ?? Option.none()))
          assert.isAtLeast((yield* sandbox.meetings).length, 200)
        }))

      it.effect("an undocumented valueType (HTML) is kept", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          yield* sandbox.inject({ fault: { _tag: "UnknownValueType" }, match: "GET /v1/meetings/*", times: 1 })
          const meetings = yield* clientFor("admin")
          const [first] = yield* sandbox.meetings
          const got = yield* meetings.retrieve(first!.id)
          assert.deepStrictEqual(
            Option.map(got.field("summaryHtml"), (f) => [f.valueType, f.value]),
            Option.some(["HTML", "<p>x</p>"])
          )
        }))

      it.effect("stream yields every meeting once, with progress", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          const meetings = yield* clientFor("admin")
          const total = (yield* sandbox.meetings).length
          const progress: Array<Meetings.StreamProgress> = []
          const ids = yield* meetings.stream({
            pageSize: 20,
            concurrency: 3,
            onProgress: (p) => Effect.sync(() => progress.push(p))
          }).pipe(Stream.map((m) => m.id), Stream.runCollect, Effect.map(Chunk.toReadonlyArray))
          assert.strictEqual(ids.length, total)
          assert.strictEqual(new Set(ids).size, total)
          const pages = Math.ceil(total / 20) + (total % 20 === 0 ? 1 : 0)
          assert.deepStrictEqual(progress.at(-2), { pages, items: total, totalCount: total, complete: false })
          // The closing event: the whole listing was covered.
          assert.deepStrictEqual(progress.at(-1), { pages, items: total, totalCount: total, complete: true })
          const log = yield* sandbox.requests
          assert.isTrue(log.every((r) => r.query.includes("limit=20")))
        }))

      it.effect("layerConfig reads LIGHTFIELD_API_KEY and LIGHTFIELD_BASE_URL", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          const baseUrl = yield* sandbox.baseUrl
          const config = ConfigProvider.fromMap(
            new Map([["LIGHTFIELD_API_KEY", sandbox.keys.admin], ["LIGHTFIELD_BASE_URL", baseUrl], [
              "LIGHTFIELD_TIMEOUT",
              "5 seconds"
            ]])
          )
          const page = yield* Effect.flatMap(Meetings.Meetings, (m) => m.list({ limit: 1 })).pipe(
            Effect.provide(MeetingsClient.layerConfig().pipe(Layer.provide(Layer.setConfigProvider(config))))
          )
          assert.strictEqual(page.data.length, 1)
          const missing = yield* Effect.flatMap(Meetings.Meetings, (m) => m.list()).pipe(
            Effect.provide(MeetingsClient.layerConfig().pipe(
              Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map())))
            )),
            Effect.exit
          )
          assert.isTrue(Exit.isFailure(missing))
        }))

      it.effect("requests are counted in MeetingsMetrics", () =>
        Effect.gen(function*() {
          yield* reset
          const counter = Metric.taggedWithLabels(MeetingsMetrics.requests, [
            MetricLabel.make("method", "GET"),
            MetricLabel.make("route", "/v1/meetings"),
            MetricLabel.make("status", "200")
          ])
          const before = (yield* Metric.value(counter)).count
          const meetings = yield* clientFor("admin")
          yield* meetings.list({ limit: 1 })
          assert.strictEqual((yield* Metric.value(counter)).count, before + 1)
        }))
    })

    describe("errors", () => {
      it.effect("401 -> Unauthorized", () =>
        Effect.gen(function*() {
          yield* reset
          const meetings = yield* clientFor({ raw: "sk_lf_0_not_a_key" })
          const error = yield* Effect.flip(meetings.list())
          assert.strictEqual(error._tag, "Unauthorized")
          assert.strictEqual(error.message, "Invalid API key.")
        }))

      it.effect("403 on a read-only key's create -> Forbidden with the scope", () =>
        Effect.gen(function*() {
          yield* reset
          const meetings = yield* clientFor("readOnly")
          const error = yield* Effect.flip(meetings.create(yield* pastMeeting("Not allowed")))
          assert.strictEqual(error._tag, "Forbidden")
          if (error._tag === "Forbidden") assert.strictEqual(error.scope, "meetings:create")
        }))

      it.effect("404 -> MeetingNotFound with the id", () =>
        Effect.gen(function*() {
          yield* reset
          const meetings = yield* clientFor("admin")
          const error = yield* Effect.flip(meetings.retrieve("mtg_does_not_exist"))
          assert.strictEqual(error._tag, "MeetingNotFound")
          if (error._tag === "MeetingNotFound") {
            assert.strictEqual(error.id, "mtg_does_not_exist")
            assert.strictEqual(error.message, "No resource found in 'meetings' with the given ID.")
          }
          const onUpdate = yield* Effect.flip(meetings.update("mtg_gone", {}))
          assert.strictEqual(onUpdate._tag, "MeetingNotFound")
        }))

      it.effect("422 -> Unprocessable with param, not retried", () =>
        Effect.gen(function*() {
          const pending = yield* (yield* filesFor("admin")).create({ filename: "t.txt", mimeType: "text/plain", sizeBytes: 9 })
          const sandbox = yield* reset
          const meetings = yield* clientFor("admin")
          const params = yield* pastMeeting("Pending transcript")
          const error = yield* Effect.flip(
            meetings.create({ ...params, relationships: { $transcript: pending.id } })
          )
          assert.strictEqual(error._tag, "Unprocessable")
          if (error._tag === "Unprocessable") assert.strictEqual(error.param, "relationships.$transcript")
          assert.strictEqual((yield* sandbox.requests).length, 1)
        }))

      it.effect("422 from the server's clock (client clock ahead) -> Unprocessable", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          const meetings = yield* clientFor("admin", { maxRetries: 5 })
          // Dates half an hour ahead of real time pass the client's check under a clock two hours ahead.
          const now = yield* Clock.currentTimeMillis
          const live = Clock.make()
          const skew = 2 * 3600_000
          const skewed: Clock.Clock = {
            [Clock.ClockTypeId]: Clock.ClockTypeId,
            unsafeCurrentTimeMillis: () => live.unsafeCurrentTimeMillis() + skew,
            currentTimeMillis: Effect.sync(() => live.unsafeCurrentTimeMillis() + skew),
            unsafeCurrentTimeNanos: () => live.unsafeCurrentTimeNanos() + BigInt(skew) * 1_000_000n,
            currentTimeNanos: Effect.sync(() => live.unsafeCurrentTimeNanos() + BigInt(skew) * 1_000_000n),
            sleep: (duration) => live.sleep(duration)
          }
          const error = yield* Effect.flip(meetings.create({
            fields: {
              $title: "From the future",
              $startDate: new Date(now + 10 * 60_000).toISOString(),
              $endDate: new Date(now + 30 * 60_000).toISOString()
            }
          }).pipe(Effect.withClock(skewed)))
          assert.strictEqual(error._tag, "Unprocessable")
          if (error._tag === "Unprocessable") assert.strictEqual(error.param, "fields.$startDate")
          assert.strictEqual((yield* sandbox.requests).length, 1, "422 is never retried")
        }))

      it.effect("400 -> BadRequest with code and param, not retried", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          const meetings = yield* clientFor("admin")
          const params = yield* pastMeeting("Unknown transcript")
          const error = yield* Effect.flip(meetings.create({ ...params, relationships: { $transcript: "nope" } }))
          assert.strictEqual(error._tag, "BadRequest")
          if (error._tag === "BadRequest") {
            assert.strictEqual(error.status, 400)
            assert.strictEqual(error.type, "bad_request")
            assert.strictEqual(error.code, "relationship_entity_missing")
            assert.strictEqual(error.param, "relationships.$transcript")
          }
          assert.strictEqual((yield* sandbox.requests).length, 1)
        }))

      it.effect("409 idempotency_conflict -> IdempotencyConflict (no retries left)", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          yield* sandbox.inject({ fault: { _tag: "Latency", millis: 400 }, match: "POST /v1/meetings", times: 1 })
          const patient = yield* clientFor("admin")
          const impatient = yield* clientFor("admin", { maxRetries: 0 })
          const params = yield* pastMeeting("Slow create")
          const original = yield* Effect.fork(patient.create(params, { idempotencyKey: "key-in-flight" }))
          // The original is held by the Latency fault, its key reserved: no race with a sleep.
          yield* awaitInFlight(sandbox)
          const error = yield* Effect.flip(impatient.create(params, { idempotencyKey: "key-in-flight" }))
          assert.strictEqual(error._tag, "IdempotencyConflict")
          if (error._tag === "IdempotencyConflict") assert.strictEqual(error.idempotencyKey, "key-in-flight")
          const created = yield* Fiber.join(original)
          assert.deepStrictEqual(created.title, Option.some("Slow create"))
        }))

      it.effect("409 idempotency_conflict with retries left waits for the original and gets its answer", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          yield* sandbox.inject({ fault: { _tag: "Latency", millis: 400 }, match: "POST /v1/meetings", times: 1 })
          const meetings = yield* clientFor("admin", quickRetries(6))
          const params = yield* pastMeeting("Conflict then replay")
          const original = yield* Effect.fork(meetings.create(params, { idempotencyKey: "key-conflict-retry" }))
          // The original is held by the Latency fault, its key reserved: no race with a sleep.
          yield* awaitInFlight(sandbox)
          const second = yield* meetings.create(params, { idempotencyKey: "key-conflict-retry" })
          const first = yield* Fiber.join(original)
          assert.strictEqual(second.id, first.id)
          const statuses = (yield* sandbox.requests).map((r) => r.status)
          assert.include(statuses, 409)
          const stored = (yield* sandbox.meetings).filter((m) => Option.getOrNull(m.title) === "Conflict then replay")
          assert.strictEqual(stored.length, 1)
        }))

      it.effect("429 -> RateLimited with retryAfter/limit/remaining once retries are used up", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          yield* sandbox.inject({ fault: { _tag: "RateLimit", retryAfterSeconds: 1 }, match: "GET /v1/meetings" })
          const meetings = yield* clientFor("admin", { maxRetries: 1 })
          const [error, elapsed] = yield* timed(Effect.flip(meetings.list()))
          assert.strictEqual(error._tag, "RateLimited")
          if (error._tag === "RateLimited") {
            assert.deepStrictEqual(error.retryAfter, Duration.seconds(1))
            assert.strictEqual(error.remaining, 0)
            assert.isNumber(error.limit)
          }
          assert.strictEqual((yield* sandbox.requests).length, 2)
          assert.isAtLeast(elapsed, 950)
        }))

      it.effect("the sandbox's real token bucket answers 429 -> RateLimited", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          yield* sandbox.setRateLimit({ perSecond: 1, capacity: 1 })
          // Two clients: one client would wait for X-RateLimit-Reset after `Remaining: 0` (next test).
          const first = yield* clientFor("admin", { maxRetries: 0, rate: false })
          const second = yield* clientFor("admin", { maxRetries: 0, rate: false })
          yield* first.list({ limit: 1 })
          const error = yield* Effect.flip(second.list({ limit: 1 })).pipe(Effect.ensuring(sandbox.setRateLimit(false)))
          assert.strictEqual(error._tag, "RateLimited")
          if (error._tag === "RateLimited") {
            assert.strictEqual(error.limit, 1)
            assert.strictEqual(error.remaining, 0)
            assert.deepStrictEqual(error.retryAfter, Duration.seconds(1))
            assert.strictEqual(error.message, "Rate limit exceeded. Please try again later.")
          }
        }))

      it.effect("after X-RateLimit-Remaining: 0 the next request of that category waits for the reset", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          yield* sandbox.setRateLimit({ perSecond: 4, capacity: 1 })
          const meetings = yield* clientFor("admin", { maxRetries: 0, rate: false })
          const results = yield* Effect.all([meetings.list({ limit: 1 }), meetings.list({ limit: 1 })]).pipe(
            Effect.ensuring(sandbox.setRateLimit(false))
          )
          assert.strictEqual(results.length, 2)
          const log = yield* sandbox.requests
          assert.deepStrictEqual(log.map((r) => r.status), [200, 200])
          assert.isAtLeast(log[1]!.at - log[0]!.at, 240)
        }))

      it.effect("5xx -> MeetingsUnavailable{Server} after the retries", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          yield* sandbox.inject({ fault: { _tag: "Status", status: 500 }, match: "GET /v1/meetings/*" })
          const meetings = yield* clientFor("admin", quickRetries(1))
          const error = yield* Effect.flip(meetings.retrieve("mtg_any"))
          assert.strictEqual(error._tag, "MeetingsUnavailable")
          if (error._tag === "MeetingsUnavailable") {
            assert.strictEqual(error.reason, "Server")
            assert.strictEqual(error.status, 500)
          }
          assert.strictEqual((yield* sandbox.requests).length, 2)
        }))

      it.effect("timeout -> MeetingsUnavailable{Timeout}", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          yield* sandbox.inject({ fault: { _tag: "Latency", millis: 1500 }, match: "POST /v1/meetings/*" })
          const meetings = yield* clientFor("admin", { maxRetries: 0 })
          const [first] = yield* sandbox.meetings
          const [error, elapsed] = yield* timed(Effect.flip(meetings.update(first!.id, {}, { timeout: "200 millis" })))
          assert.strictEqual(error._tag, "MeetingsUnavailable")
          if (error._tag === "MeetingsUnavailable") assert.strictEqual(error.reason, "Timeout")
          assert.isBelow(elapsed, 1200)
        }))

      it.effect("connection refused -> MeetingsUnavailable{Transport}", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          const meetings = yield* clientFor("admin", { maxRetries: 0 })
          yield* sandbox.stop
          const error = yield* Effect.flip(meetings.list()).pipe(Effect.ensuring(Effect.orDie(sandbox.start)))
          assert.strictEqual(error._tag, "MeetingsUnavailable")
          if (error._tag === "MeetingsUnavailable") assert.strictEqual(error.reason, "Transport")
        }))

      it.effect("a body that breaks the schema -> UndecodableResponse with the failing path", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          const meetings = yield* clientFor("admin")
          yield* sandbox.inject({ fault: { _tag: "SchemaViolation" }, match: "GET /v1/meetings", times: 1 })
          const page = yield* Effect.flip(meetings.list({ limit: 3 }))
          assert.strictEqual(page._tag, "UndecodableResponse")
          if (page._tag === "UndecodableResponse") {
            assert.strictEqual(page.path, "data.0.objectType")
            assert.strictEqual(page.status, 200)
          }
          yield* sandbox.inject({ fault: { _tag: "MalformedJson" }, match: "GET /v1/meetings/*", times: 1 })
          const one = yield* Effect.flip(meetings.retrieve("mtg_any"))
          assert.strictEqual(one._tag, "UndecodableResponse")
          assert.strictEqual((yield* sandbox.requests).length, 2, "undecodable answers are not retried")
        }))

      it.effect("invalid params -> InvalidParams naming the field, nothing sent", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          const meetings = yield* clientFor("admin")
          const valid = yield* pastMeeting("Valid")
          const cases: ReadonlyArray<readonly [Effect.Effect<unknown, MeetingsError.MeetingsError>, string]> = [
            [meetings.create({ ...valid, fields: { ...valid.fields, $title: "" } }), "fields.$title"],
            [
              meetings.create({ ...valid, fields: { ...valid.fields, $organizerEmail: "nobody" } }),
              "fields.$organizerEmail"
            ],
            [meetings.create({ ...valid, relationships: { $transcript: ["fil_a", "fil_b"] } }), "relationships.$transcript"],
            [meetings.create(valid, { idempotencyKey: "k".repeat(256) }), "Idempotency-Key"],
            [meetings.update("", {}), "id"],
            // Excess keys only exist at runtime (e.g. data from JSON); the cast stands in for that.
            [meetings.update("mtg_1", { fields: { $title: "x" } } as unknown as { fields: { $privacySetting: null } }), "fields.$title"],
            [meetings.retrieve("  "), "id"],
            [meetings.list({ limit: 26 }), "limit"],
            [meetings.list({ offset: -1 }), "offset"]
          ]
          for (const [call, param] of cases) {
            const error = yield* Effect.flip(call)
            assert.strictEqual(error._tag, "InvalidParams")
            if (error._tag === "InvalidParams") assert.strictEqual(error.param, param)
          }
          const streamError = yield* Effect.flip(Stream.runDrain(meetings.stream({ pageSize: 0 })))
          assert.strictEqual(streamError._tag, "InvalidParams")
          assert.deepStrictEqual(yield* sandbox.requests, [])
        }))

      it.effect("a proxy's HTML 502 -> MeetingsUnavailable{Server, 502}, retried", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          yield* sandbox.inject({
            fault: { _tag: "Respond", status: 502, body: html("502 Bad Gateway"), contentType: "text/html" },
            match: "GET /v1/meetings"
          })
          const meetings = yield* clientFor("admin", quickRetries(1))
          const error = yield* Effect.flip(meetings.list())
          assert.strictEqual(error._tag, "MeetingsUnavailable")
          if (error._tag === "MeetingsUnavailable") {
            assert.strictEqual(error.reason, "Server")
            assert.strictEqual(error.status, 502)
            assert.strictEqual(error.message, "Bad Gateway")
          }
          assert.deepStrictEqual((yield* sandbox.requests).map((r) => [r.status, r.fault]), [[502, "Respond"], [502, "Respond"]])
        }))

      it.effect("a 404 with an HTML body -> MeetingNotFound (not UndecodableResponse), not retried", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          yield* sandbox.inject({
            fault: { _tag: "Respond", status: 404, body: html("404 Not Found"), contentType: "text/html" },
            match: "GET /v1/meetings/*"
          })
          const meetings = yield* clientFor("admin", quickRetries())
          const error = yield* Effect.flip(meetings.retrieve("mtg_behind_a_proxy"))
          assert.strictEqual(error._tag, "MeetingNotFound")
          if (error._tag === "MeetingNotFound") {
            assert.strictEqual(error.id, "mtg_behind_a_proxy")
            assert.strictEqual(error.message, "Not Found")
          }
          assert.strictEqual((yield* sandbox.requests).length, 1)
        }))

      it.effect("every error status maps by status when the body is not an API error, with the spec's message", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          const meetings = yield* clientFor("admin", { maxRetries: 0 })
          const cases: ReadonlyArray<readonly [number, MeetingsError.MeetingsError["_tag"], string]> = [
            [400, "BadRequest", "Bad Request"],
            [401, "Unauthorized", "Unauthorized"],
            [403, "Forbidden", "Forbidden"],
            [404, "MeetingNotFound", "Not Found"],
            [408, "BadRequest", "Request Timeout"],
            [409, "Conflict", "Conflict"],
            [415, "BadRequest", "Unsupported Media Type"],
            [422, "Unprocessable", "Unprocessable Content"],
            [429, "RateLimited", "Too Many Requests"],
            [418, "BadRequest", "HTTP 418"],
            [500, "MeetingsUnavailable", "Internal Server Error"],
            [504, "MeetingsUnavailable", "Gateway Timeout"]
          ]
          for (const [status, tag, message] of cases) {
            yield* sandbox.inject({
              fault: { _tag: "Respond", status, body: html(`${status}`), contentType: "text/html" },
              match: "GET /v1/meetings/*",
              times: 1
            })
            const error = yield* Effect.flip(meetings.retrieve("mtg_any"))
            assert.strictEqual(error._tag, tag, `HTTP ${status}`)
            assert.strictEqual(error.message, message, `HTTP ${status}`)
            if (error._tag === "BadRequest") assert.strictEqual(error.status, status)
          }
          // A 2xx body that does not match stays UndecodableResponse.
          yield* sandbox.inject({ fault: { _tag: "Respond", status: 200, body: html("OK") }, match: "GET /v1/meetings/*", times: 1 })
          assert.strictEqual((yield* Effect.flip(meetings.retrieve("mtg_any")))._tag, "UndecodableResponse")
          // A decodable body still wins for the message (the default envelope of a 415).
          yield* sandbox.inject({ fault: { _tag: "Respond", status: 415 }, match: "GET /v1/meetings/*", times: 1 })
          const unsupported = yield* Effect.flip(meetings.retrieve("mtg_any"))
          assert.strictEqual(unsupported._tag, "BadRequest")
          if (unsupported._tag === "BadRequest") {
            assert.strictEqual(unsupported.status, 415)
            assert.strictEqual(unsupported.type, "unsupported_media_type")
          }
        }))

      it.effect("catchTags over every MeetingsError tag leaves never", () =>
        Effect.gen(function*() {
          yield* reset
          const meetings = yield* clientFor("admin")
          const handled: Effect.Effect<Meeting.Meeting | string, never> = meetings.retrieve("mtg_nope").pipe(
            Effect.catchTags({
              InvalidParams: (e) => Effect.succeed(`invalid ${e.param}`),
              BadRequest: (e) => Effect.succeed(`bad ${e.status}`),
              Unauthorized: () => Effect.succeed("unauthorized"),
              Forbidden: () => Effect.succeed("forbidden"),
              MeetingNotFound: (e) => Effect.succeed(`missing ${e.id}`),
              Conflict: () => Effect.succeed("conflict"),
              IdempotencyConflict: () => Effect.succeed("idempotency"),
              Unprocessable: () => Effect.succeed("unprocessable"),
              RateLimited: () => Effect.succeed("rate limited"),
              MeetingsUnavailable: (e) => Effect.succeed(`unavailable ${e.reason}`),
              UndecodableResponse: (e) => Effect.succeed(`undecodable ${e.path}`)
            })
          )
          assert.strictEqual(yield* handled, "missing mtg_nope")
        }))
    })

    describe("retries", () => {
      it.effect("503 then success is retried", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          yield* sandbox.inject({ fault: { _tag: "Status", status: 503 }, match: "GET /v1/meetings", times: 1 })
          const meetings = yield* clientFor("admin", quickRetries())
          const page = yield* meetings.list({ limit: 2 })
          assert.strictEqual(page.data.length, 2)
          assert.deepStrictEqual((yield* sandbox.requests).map((r) => r.status), [503, 200])
        }))

      it.effect("408 (an HTML page from a proxy) then success is retried", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          yield* sandbox.inject({
            fault: { _tag: "Respond", status: 408, body: html("408 Request Timeout"), contentType: "text/html" },
            match: "GET /v1/meetings",
            times: 1
          })
          const meetings = yield* clientFor("admin", quickRetries())
          const page = yield* meetings.list({ limit: 2 })
          assert.strictEqual(page.data.length, 2)
          assert.deepStrictEqual((yield* sandbox.requests).map((r) => r.status), [408, 200])
        }))

      it.effect("a plain 409 conflict (JSON, then HTML) then success is retried with the same Idempotency-Key", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          yield* sandbox.inject(
            { fault: { _tag: "Respond", status: 409 }, match: "POST /v1/meetings", times: 1 },
            { fault: { _tag: "Respond", status: 409, body: html("409 Conflict") }, match: "POST /v1/meetings", times: 1 }
          )
          const meetings = yield* clientFor("admin", quickRetries())
          const created = yield* meetings.create(yield* pastMeeting("Conflict then created"))
          const log = yield* sandbox.requests
          assert.deepStrictEqual(log.map((r) => r.status), [409, 409, 200])
          assert.match(log[0]!.idempotencyKey ?? "", uuidV4)
          assert.deepStrictEqual(log.map((r) => r.idempotencyKey), Array(3).fill(log[0]!.idempotencyKey))
          const stored = (yield* sandbox.meetings).filter((m) => Option.getOrNull(m.title) === "Conflict then created")
          assert.deepStrictEqual(stored.map((m) => m.id), [created.id])
        }))

      it.effect("Retry-After is honoured", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          yield* sandbox.inject({ fault: { _tag: "RateLimit", retryAfterSeconds: 1 }, match: "GET /v1/meetings", times: 1 })
          const meetings = yield* clientFor("admin")
          const [page, elapsed] = yield* timed(meetings.list({ limit: 1 }))
          assert.strictEqual(page.data.length, 1)
          assert.isAtLeast(elapsed, 950)
          const log = yield* sandbox.requests
          assert.deepStrictEqual(log.map((r) => r.status), [429, 200])
          assert.isAtLeast(log[1]!.at - log[0]!.at, 950)
        }))

      it.effect("a dropped connection is retried; the timeout applies per attempt", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          yield* sandbox.inject({ fault: { _tag: "Drop" }, match: "GET /v1/meetings", times: 1 })
          yield* sandbox.inject({ fault: { _tag: "Latency", millis: 1000 }, match: "POST /v1/meetings/*", times: 1 })
          const meetings = yield* clientFor("admin", quickRetries())
          const page = yield* meetings.list({ limit: 1 })
          assert.strictEqual(page.data.length, 1)
          const [first] = yield* sandbox.meetings
          const [updated, elapsed] = yield* timed(meetings.update(first!.id, {}, { timeout: "300 millis" }))
          assert.strictEqual(updated.id, first!.id)
          assert.isAtLeast(elapsed, 300)
          // The timed-out first update is logged as abandoned by its client (499), then the retry.
          const log = yield* sandbox.requests
          assert.deepStrictEqual(log.map((r) => r.status), [0, 200, 499, 200])
          assert.strictEqual(log[2]!.fault, "Latency")
          assert.strictEqual(log[2]!.note, "client closed the connection")
        }))

      it.effect("a create whose answer was dropped after commit is retried with the same key: one meeting", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          yield* sandbox.inject({ fault: { _tag: "DropAfterCommit" }, match: "POST /v1/meetings", times: 1 })
          const meetings = yield* clientFor("admin", quickRetries())
          const created = yield* meetings.create(yield* pastMeeting("Dropped after commit"))
          const log = yield* sandbox.requests
          assert.strictEqual(log.length, 2)
          assert.strictEqual(log[0]!.idempotencyKey, log[1]!.idempotencyKey)
          assert.match(log[0]!.idempotencyKey ?? "", uuidV4)
          assert.deepStrictEqual(log.map((r) => r.replayed), [false, true])
          const stored = (yield* sandbox.meetings).filter((m) => Option.getOrNull(m.title) === "Dropped after commit")
          assert.deepStrictEqual(stored.map((m) => m.id), [created.id])
        }))

      it.effect("a replaced retrySchedule is used (no retries)", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          yield* sandbox.inject({ fault: { _tag: "Status", status: 503 }, match: "GET /v1/meetings", times: 1 })
          const meetings = yield* clientFor("admin", { retrySchedule: MeetingsClient.retrySchedule({ maxRetries: 0 }) })
          const error = yield* Effect.flip(meetings.list())
          assert.strictEqual(error._tag, "MeetingsUnavailable")
          assert.strictEqual((yield* sandbox.requests).length, 1)
        }))
    })
  })

  layer(sandboxLayer({ rateLimit: false }), { excludeTestServices: true })("client-side rate limiting", (it) => {
    it.effect("a 429's pause also holds the requests already waiting for their slot", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        yield* sandbox.inject({ fault: { _tag: "RateLimit", retryAfterSeconds: 1 }, match: "GET /v1/meetings", times: 1 })
        // 4/s with a burst of 2: two requests leave at once, the other two wait for 250 and 500 ms.
        const meetings = yield* clientFor("admin", { rate: 4, ...quickRetries() })
        yield* Effect.all(Array.from({ length: 4 }, () => meetings.list({ limit: 1 })), { concurrency: "unbounded" })
        const log = yield* sandbox.requests
        assert.strictEqual(log.length, 5)
        const limited = log.filter((r) => r.status === 429)
        assert.strictEqual(limited.length, 1)
        const pausedAt = limited[0]!.at
        // The two of the first burst arrive together; nothing else is sent during the second asked for.
        const during = log.filter((r) => r.at > pausedAt + 100 && r.at < pausedAt + 950)
        assert.deepStrictEqual(during.map((r) => r.at - pausedAt), [])
        assert.strictEqual(log.filter((r) => r.at >= pausedAt + 950).length, 3)
      }))

    it.effect("an X-RateLimit-Limit below the configured rate lowers it: a stream and a burst get no 429", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        yield* sandbox.setRateLimit({ perSecond: 5 })
        // The default 25/s (burst 12); the first answer says the bucket holds 5.
        const meetings = yield* clientFor("admin")
        const total = (yield* sandbox.meetings).length
        const [count, burst] = yield* Effect.all([
          Stream.runCount(meetings.stream({ pageSize: 25, concurrency: 4 })),
          Effect.all(Array.from({ length: 8 }, () => meetings.list({ limit: 1 })), { concurrency: "unbounded" })
        ]).pipe(
          // The stream's first page goes alone and teaches the limit; the burst follows it.
          Effect.map(([count, pages]) => [count, pages.length] as const),
          Effect.ensuring(sandbox.setRateLimit(false))
        )
        assert.strictEqual(count, total)
        assert.strictEqual(burst, 8)
        const log = yield* sandbox.requests
        assert.deepStrictEqual(log.filter((r) => r.status === 429).map((r) => r.at - log[0]!.at), [])
      }))
  })

  layer(sandboxLayer({ rateLimit: false, meetings: 1000 }), { excludeTestServices: true })("offset drift", (it) => {
    it.effect("a stream over 1,000 meetings yields each id once while meetings are inserted", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const meetings = yield* clientFor("admin", { rate: false })
        const initial = (yield* sandbox.meetings).map((m) => m.id)
        assert.strictEqual(initial.length, 1000)
        // Insert at the front while the scan runs, shifting every later offset.
        const seeder = yield* sandbox.seedMore(5).pipe(
          Effect.zipRight(Effect.sleep("5 millis")),
          Effect.forever,
          Effect.fork
        )
        const ids = yield* meetings.stream({ concurrency: 4 }).pipe(
          Stream.map((m) => m.id),
          Stream.runCollect,
          Effect.map(Chunk.toReadonlyArray)
        )
        yield* Fiber.interrupt(seeder)
        const log = yield* sandbox.requests
        // More pages than the 40 planned: the scan followed the drift.
        assert.isAbove(log.length, 40)
        assert.strictEqual(new Set(ids).size, ids.length, "no id twice")
        const seen = new Set(ids)
        assert.deepStrictEqual(initial.filter((id) => !seen.has(id)), [], "every initial id")
        assert.isAbove((yield* sandbox.meetings).length, 1000)
      }))
  })

  layer(sandboxLayer({ meetings: 2000 }), { excludeTestServices: true })("rate limit", (it) => {
    it.effect("a stream of 2,000 meetings at the documented 25 req/s gets zero 429s", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const meetings = yield* clientFor("admin")
        const [count, elapsed] = yield* timed(Stream.runCount(meetings.stream()))
        assert.strictEqual(count, 2000)
        const log = yield* sandbox.requests
        assert.strictEqual(log.length, 80)
        assert.deepStrictEqual(log.filter((r) => r.status === 429), [])
        yield* Effect.logInfo("2,000 meetings streamed").pipe(Effect.annotateLogs({ elapsed, pages: log.length }))
      }))
  })
})
