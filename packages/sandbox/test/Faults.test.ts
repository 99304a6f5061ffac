import { assert, describe, layer } from "@effect/vitest"
import { Meeting } from "@lightfield-effect/core"
import { Effect, Either, Fiber, Option, Schema } from "effect"
import * as Sandbox from "../src/Sandbox.js"
import { createBody, errorOf, json, meetingOf, pageOf, pollUntil, send, testLayer } from "./utils.js"

const keys = Sandbox.keysFor(5)

const firstId = Effect.gen(function*() {
  const sandbox = yield* Sandbox.Sandbox
  const [first] = yield* sandbox.meetings
  return first!.id
})

layer(testLayer({ seed: 5, meetings: 30, rateLimit: false }), { excludeTestServices: true })("Faults", (it) => {
  const clean = Effect.flatMap(Sandbox.Sandbox, (s) => Effect.zipRight(s.clearFaults, s.setIndexLag(0)))

  it.effect("Latency delays one matching request", () =>
    Effect.gen(function*() {
      yield* clean
      const sandbox = yield* Sandbox.Sandbox
      yield* sandbox.clearRequests
      yield* sandbox.inject({ fault: { _tag: "Latency", millis: 300 }, match: "GET /v1/meetings", times: 1 })
      const started = Date.now()
      assert.strictEqual((yield* send("GET", "/v1/meetings", { key: keys.admin })).status, 200)
      assert.isAtLeast(Date.now() - started, 280)
      assert.strictEqual((yield* send("GET", "/v1/meetings", { key: keys.admin })).status, 200)
      // The second one met no fault (the log says so; a time bound would fail on a loaded machine).
      assert.deepStrictEqual((yield* sandbox.requests).map((r) => r.fault ?? null), ["Latency", null])
    }))

  it.effect("Status 5xx for `times` requests, then normal; wrapped body and rate-limit headers", () =>
    Effect.gen(function*() {
      yield* clean
      const sandbox = yield* Sandbox.Sandbox
      yield* sandbox.inject({ fault: { _tag: "Status", status: 503 }, times: 2 })
      for (let i = 0; i < 2; i++) {
        const res = yield* send("GET", "/v1/meetings", { key: keys.admin })
        assert.strictEqual(res.status, 503)
        assert.strictEqual((yield* errorOf(res)).type, "service_unavailable")
        assert.isDefined(res.headers["x-ratelimit-limit"])
      }
      assert.strictEqual((yield* send("GET", "/v1/meetings", { key: keys.admin })).status, 200)
    }))

  it.effect("match restricts a rule to its method and path", () =>
    Effect.gen(function*() {
      yield* clean
      const sandbox = yield* Sandbox.Sandbox
      yield* sandbox.inject({ fault: { _tag: "Status", status: 500 }, match: "GET /v1/meetings/*" })
      assert.strictEqual((yield* send("GET", "/v1/meetings", { key: keys.admin })).status, 200)
      const id = yield* firstId
      assert.strictEqual((yield* send("GET", `/v1/meetings/${id}`, { key: keys.admin })).status, 500)
      assert.strictEqual((yield* send("GET", `/v1/meetings/${id}`, { key: keys.admin })).status, 500)
      yield* sandbox.clearFaults
      assert.strictEqual((yield* send("GET", `/v1/meetings/${id}`, { key: keys.admin })).status, 200)
    }))

  it.effect("RateLimit storm: 429 with the given Retry-After", () =>
    Effect.gen(function*() {
      yield* clean
      const sandbox = yield* Sandbox.Sandbox
      yield* sandbox.inject({ fault: { _tag: "RateLimit", retryAfterSeconds: 7 }, times: 1 })
      const res = yield* send("GET", "/v1/meetings", { key: keys.admin })
      assert.strictEqual(res.status, 429)
      assert.strictEqual(res.headers["retry-after"], "7")
      assert.strictEqual((yield* errorOf(res)).type, "too_many_requests")
      assert.strictEqual((yield* send("GET", "/v1/meetings", { key: keys.admin })).status, 200)
    }))

  it.effect("Drop closes the connection without an answer and logs status 0", () =>
    Effect.gen(function*() {
      yield* clean
      const sandbox = yield* Sandbox.Sandbox
      yield* sandbox.clearRequests
      yield* sandbox.inject({ fault: { _tag: "Drop" }, times: 1 })
      const error = yield* Effect.flip(send("GET", "/v1/meetings", { key: keys.admin }))
      assert.strictEqual(error._tag, "RequestError")
      const [logged] = yield* sandbox.requests
      assert.strictEqual(logged!.status, 0)
      assert.strictEqual(logged!.fault, "Drop")
      assert.strictEqual((yield* send("GET", "/v1/meetings", { key: keys.admin })).status, 200)
    }))

  it.effect("DropAfterCommit stores the create and caches its idempotent result", () =>
    Effect.gen(function*() {
      yield* clean
      const sandbox = yield* Sandbox.Sandbox
      yield* sandbox.inject({ fault: { _tag: "DropAfterCommit" }, match: "POST /v1/meetings", times: 1 })
      const headers = { "Idempotency-Key": "commit-then-drop" }
      const body = createBody({ $title: "committed but unanswered" })
      const error = yield* Effect.flip(send("POST", "/v1/meetings", { key: keys.member, headers, body }))
      assert.strictEqual(error._tag, "RequestError")
      const stored = (yield* sandbox.meetings).filter((m) => Option.getOrNull(m.title) === "committed but unanswered")
      assert.strictEqual(stored.length, 1)
      // The client's retry with the same key gets the committed result, not a second meeting.
      const retry = yield* meetingOf(yield* send("POST", "/v1/meetings", { key: keys.member, headers, body }))
      assert.strictEqual(retry.id, stored[0]!.id)
      const logged = (yield* sandbox.requests).filter((r) => r.idempotencyKey === "commit-then-drop")
      assert.deepStrictEqual(logged.map((r) => [r.status, r.replayed]), [[0, false], [200, true]])
    }))

  it.effect("MalformedJson answers 200 with a body that is not JSON", () =>
    Effect.gen(function*() {
      yield* clean
      const sandbox = yield* Sandbox.Sandbox
      yield* sandbox.inject({ fault: { _tag: "MalformedJson" }, times: 1 })
      const res = yield* send("GET", "/v1/meetings", { key: keys.admin })
      assert.strictEqual(res.status, 200)
      assert.throws(() => JSON.parse(res.text))
    }))

  it.effect("SchemaViolation answers 200 with JSON the meeting schema refuses", () =>
    Effect.gen(function*() {
      yield* clean
      const sandbox = yield* Sandbox.Sandbox
      const id = yield* firstId
      yield* sandbox.inject({ fault: { _tag: "SchemaViolation" }, times: 2 })
      const one = yield* send("GET", `/v1/meetings/${id}`, { key: keys.admin })
      assert.strictEqual(one.status, 200)
      assert.isTrue(Either.isLeft(Schema.decodeUnknownEither(Meeting.Meeting)(json(one))))
      const page = yield* send("GET", "/v1/meetings", { key: keys.admin })
      assert.isTrue(Either.isLeft(Schema.decodeUnknownEither(Meeting.MeetingListPage)(json(page))))
    }))

  it.effect("UnknownValueType adds an HTML field that core still decodes", () =>
    Effect.gen(function*() {
      yield* clean
      const sandbox = yield* Sandbox.Sandbox
      const id = yield* firstId
      yield* sandbox.inject({ fault: { _tag: "UnknownValueType" } })
      const meeting = yield* meetingOf(yield* send("GET", `/v1/meetings/${id}`, { key: keys.admin }))
      assert.deepStrictEqual(meeting.fields.summaryHtml, { value: "<p>x</p>", valueType: "HTML" } as Meeting.Meeting["fields"][string])
      const page = yield* pageOf(yield* send("GET", "/v1/meetings", { key: keys.admin }))
      assert.isTrue(page.data.every((m) => m.fields.summaryHtml?.valueType === "HTML"))
      yield* sandbox.clearFaults
      const plain = yield* meetingOf(yield* send("GET", `/v1/meetings/${id}`, { key: keys.admin }))
      assert.isUndefined(plain.fields.summaryHtml)
    }))

  it.effect("X-Sandbox-Fault header: a one-off fault; an invalid one is a 400", () =>
    Effect.gen(function*() {
      yield* clean
      const res = yield* send("GET", "/v1/meetings", {
        key: keys.admin,
        headers: { "X-Sandbox-Fault": JSON.stringify({ _tag: "Status", status: 502 }) }
      })
      assert.strictEqual(res.status, 502)
      const bad = yield* send("GET", "/v1/meetings", { key: keys.admin, headers: { "X-Sandbox-Fault": "{nope" } })
      assert.strictEqual(bad.status, 400)
      assert.strictEqual((yield* errorOf(bad)).param, "X-Sandbox-Fault")
      assert.strictEqual((yield* send("GET", "/v1/meetings", { key: keys.admin })).status, 200)
    }))

  it.effect("Respond answers a status with a raw body (e.g. a proxy's HTML page) before anything runs", () =>
    Effect.gen(function*() {
      yield* clean
      const sandbox = yield* Sandbox.Sandbox
      yield* sandbox.clearRequests
      const page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
      yield* sandbox.inject({
        fault: { _tag: "Respond", status: 502, body: page, contentType: "text/html", headers: { "x-proxy": "edge-1" } },
        match: "GET /v1/meetings",
        times: 1
      })
      // No key: nothing runs, not even auth.
      const res = yield* send("GET", "/v1/meetings")
      assert.strictEqual(res.status, 502)
      assert.strictEqual(res.text, page)
      assert.match(res.headers["content-type"] ?? "", /^text\/html/)
      assert.strictEqual(res.headers["x-proxy"], "edge-1")
      assert.isDefined(res.headers["x-ratelimit-limit"])
      const [logged] = yield* sandbox.requests
      assert.deepStrictEqual([logged!.status, logged!.fault], [502, "Respond"])
      assert.strictEqual((yield* send("GET", "/v1/meetings", { key: keys.admin })).status, 200)
    }))

  it.effect("Respond without a body answers the wrapped envelope of the status (409 conflict, 408, 415)", () =>
    Effect.gen(function*() {
      yield* clean
      const sandbox = yield* Sandbox.Sandbox
      yield* sandbox.inject(
        { fault: { _tag: "Respond", status: 409 }, match: "POST /v1/meetings", times: 1 },
        { fault: { _tag: "Respond", status: 408 }, match: "POST /v1/meetings", times: 1 },
        { fault: { _tag: "Respond", status: 415, body: "nope" }, match: "POST /v1/meetings", times: 1 }
      )
      const body = createBody({ $title: "not created by a Respond fault" })
      const conflict = yield* send("POST", "/v1/meetings", { key: keys.admin, body })
      assert.strictEqual(conflict.status, 409)
      assert.match(conflict.headers["content-type"] ?? "", /^application\/json/)
      assert.deepStrictEqual(yield* errorOf(conflict), { type: "conflict", message: "Conflict" })
      const timeout = yield* send("POST", "/v1/meetings", { key: keys.admin, body })
      assert.strictEqual(timeout.status, 408)
      assert.strictEqual((yield* errorOf(timeout)).type, "request_timeout")
      const unsupported = yield* send("POST", "/v1/meetings", { key: keys.admin, body })
      assert.strictEqual(unsupported.status, 415)
      assert.strictEqual(unsupported.text, "nope")
      assert.match(unsupported.headers["content-type"] ?? "", /^text\/plain/)
      const stored = (yield* sandbox.meetings).filter((m) => Option.getOrNull(m.title) === "not created by a Respond fault")
      assert.strictEqual(stored.length, 0)
    }))

  it.effect("Respond works from the admin endpoint and the X-Sandbox-Fault header; a bad status is refused", () =>
    Effect.gen(function*() {
      yield* clean
      const injected = yield* send("POST", "/__sandbox/faults", {
        body: { fault: { _tag: "Respond", status: 404, body: "<h1>Not Found</h1>", contentType: "text/html" }, times: 1 }
      })
      assert.strictEqual(injected.status, 200)
      const res = yield* send("GET", "/v1/meetings", { key: keys.admin })
      assert.deepStrictEqual([res.status, res.text], [404, "<h1>Not Found</h1>"])
      const viaHeader = yield* send("GET", "/v1/meetings", {
        key: keys.admin,
        headers: { "X-Sandbox-Fault": JSON.stringify({ _tag: "Respond", status: 418, body: "teapot" }) }
      })
      assert.deepStrictEqual([viaHeader.status, viaHeader.text], [418, "teapot"])
      const refused = yield* send("POST", "/__sandbox/faults", { body: { fault: { _tag: "Respond", status: 700 } } })
      assert.strictEqual(refused.status, 400)
      assert.strictEqual((yield* send("GET", "/v1/meetings", { key: keys.admin })).status, 200)
    }))

  it.effect("a request whose client leaves mid-handling is still logged (499, with a note)", () =>
    Effect.gen(function*() {
      yield* clean
      const sandbox = yield* Sandbox.Sandbox
      yield* sandbox.clearRequests
      yield* sandbox.inject({ fault: { _tag: "Latency", millis: 2000 }, match: "GET /v1/meetings", times: 1 })
      const gaveUp = yield* send("GET", "/v1/meetings?limit=3", { key: keys.admin }).pipe(Effect.timeout("200 millis"), Effect.flip)
      assert.strictEqual(gaveUp._tag, "TimeoutException")
      // The server notices the closed connection asynchronously: poll the log (bounded).
      const logged = yield* pollUntil(sandbox.requests, (log) => log.length > 0)
      assert.strictEqual(logged.length, 1)
      assert.deepStrictEqual(
        [logged[0]!.status, logged[0]!.fault, logged[0]!.note, logged[0]!.query],
        [499, "Latency", "client closed the connection", "limit=3"]
      )
      assert.strictEqual(yield* sandbox.inFlight, 0)
    }))

  it.effect("inFlight counts the requests being handled", () =>
    Effect.gen(function*() {
      yield* clean
      const sandbox = yield* Sandbox.Sandbox
      assert.strictEqual(yield* sandbox.inFlight, 0)
      yield* sandbox.inject({ fault: { _tag: "Latency", millis: 300 }, match: "GET /v1/meetings", times: 2 })
      const slow = yield* Effect.fork(
        Effect.all([send("GET", "/v1/meetings", { key: keys.admin }), send("GET", "/v1/meetings", { key: keys.admin })], {
          concurrency: "unbounded"
        })
      )
      const seen = yield* pollUntil(sandbox.inFlight, (n) => n >= 2)
      assert.strictEqual(seen, 2)
      const answers = yield* Fiber.join(slow)
      assert.deepStrictEqual(answers.map((r) => r.status), [200, 200])
      assert.strictEqual(yield* sandbox.inFlight, 0)
    }))

  it.effect("index lag: a new meeting is retrievable at once but listed only after the lag", () =>
    Effect.gen(function*() {
      yield* clean
      const sandbox = yield* Sandbox.Sandbox
      yield* sandbox.setIndexLag("300 millis")
      const before = yield* pageOf(yield* send("GET", "/v1/meetings", { key: keys.admin }))
      const created = yield* meetingOf(
        yield* send("POST", "/v1/meetings", { key: keys.admin, body: createBody({ $title: "lagging" }) })
      )
      assert.strictEqual((yield* send("GET", `/v1/meetings/${created.id}`, { key: keys.admin })).status, 200)
      const during = yield* pageOf(yield* send("GET", "/v1/meetings", { key: keys.admin }))
      assert.strictEqual(during.totalCount, before.totalCount)
      assert.isFalse(during.data.some((m) => m.id === created.id))
      yield* Effect.sleep("350 millis")
      const after = yield* pageOf(yield* send("GET", "/v1/meetings", { key: keys.admin }))
      assert.strictEqual(after.totalCount, before.totalCount + 1)
      assert.strictEqual(after.data[0]!.id, created.id)
    }))

  describe("admin endpoints", () => {
    it.effect("faults, requests, index lag, meetings, seed and privacy over HTTP", () =>
      Effect.gen(function*() {
        yield* clean
        const sandbox = yield* Sandbox.Sandbox
        const keysRes = json(yield* send("GET", "/__sandbox/keys")) as { keys: Sandbox.SandboxKeys }
        assert.deepStrictEqual(keysRes.keys, keys)

        const injected = yield* send("POST", "/__sandbox/faults", {
          body: { fault: { _tag: "Status", status: 504 }, match: "GET /v1/meetings", times: 1 }
        })
        assert.strictEqual(injected.status, 200)
        assert.strictEqual((yield* send("GET", "/v1/meetings", { key: keys.admin })).status, 504)
        yield* send("POST", "/__sandbox/faults", { body: [{ fault: { _tag: "Status", status: 500 } }] })
        assert.strictEqual((yield* send("GET", "/v1/meetings", { key: keys.admin })).status, 500)
        assert.strictEqual((yield* send("DELETE", "/__sandbox/faults")).status, 200)
        assert.strictEqual((yield* send("GET", "/v1/meetings", { key: keys.admin })).status, 200)
        assert.strictEqual((yield* send("POST", "/__sandbox/faults", { body: { fault: { _tag: "Nope" } } })).status, 400)

        yield* send("DELETE", "/__sandbox/requests")
        yield* send("GET", "/v1/meetings?limit=2", { key: keys.member })
        const logged = json(yield* send("GET", "/__sandbox/requests")) as { requests: Array<Sandbox.LoggedRequest> }
        assert.deepStrictEqual(
          logged.requests.map((r) => [r.method, r.path, r.query, r.status, r.apiKey]),
          [["GET", "/v1/meetings", "limit=2", 200, keys.member]]
        )

        const total = (yield* sandbox.meetings).length
        assert.strictEqual((yield* send("POST", "/__sandbox/meetings/seed", { body: { count: 3 } })).status, 200)
        const listed = json(yield* send("GET", "/__sandbox/meetings?limit=2")) as { data: Array<unknown>; totalCount: number }
        assert.strictEqual(listed.totalCount, total + 3)
        assert.strictEqual(listed.data.length, 2)

        const id = yield* firstId
        yield* send("POST", `/__sandbox/meetings/${id}/privacy`, { body: { privacy: "METADATA" } })
        const after = (yield* sandbox.meetings).find((m) => m.id === id)!
        assert.deepStrictEqual(Option.getOrNull(after.privacySetting), "METADATA")
        yield* send("DELETE", `/__sandbox/meetings/${id}`)
        assert.strictEqual((yield* send("GET", `/v1/meetings/${id}`, { key: keys.admin })).status, 404)

        assert.strictEqual((yield* send("POST", "/__sandbox/index-lag", { body: { millis: 0 } })).status, 200)
        assert.strictEqual((yield* send("POST", "/__sandbox/clock/advance", { body: { millis: 1000 } })).status, 200)
      }))

    it.effect("seedMore puts new meetings on top, so offsets drift; setPrivacy downgrades a view", () =>
      Effect.gen(function*() {
        yield* clean
        const sandbox = yield* Sandbox.Sandbox
        const before = yield* pageOf(yield* send("GET", "/v1/meetings?limit=5", { key: keys.member2 }))
        yield* sandbox.seedMore(2)
        const after = yield* pageOf(yield* send("GET", "/v1/meetings?limit=5&offset=2", { key: keys.member2 }))
        assert.strictEqual(after.totalCount, before.totalCount + 2)
        assert.deepStrictEqual(after.data.slice(0, 3).map((m) => m.id), before.data.slice(0, 3).map((m) => m.id))
        const all = yield* sandbox.meetings
        const target = all.find((m) =>
          Option.getOrNull(m.organizerEmail) !== "bob@acme.test" &&
          !Option.getOrElse(m.attendeeEmails, (): ReadonlyArray<string> => []).includes("bob@acme.test")
        )!
        yield* sandbox.setPrivacy(target.id, "FULL")
        assert.strictEqual((yield* meetingOf(yield* send("GET", `/v1/meetings/${target.id}`, { key: keys.member2 }))).accessLevel, "FULL")
        yield* sandbox.setPrivacy(target.id, "METADATA")
        assert.strictEqual(
          (yield* meetingOf(yield* send("GET", `/v1/meetings/${target.id}`, { key: keys.member2 }))).accessLevel,
          "METADATA"
        )
      }))
  })
})
