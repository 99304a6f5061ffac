/**
 * The faults that rewrite an answer the handler gave: a short list page, extra (hostile) headers,
 * a huge streamed body.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import { Meeting } from "@lightfield-effect/core"
import { Chunk, Effect, Schema, Stream } from "effect"
import * as Sandbox from "../src/Sandbox.js"
import { json, meetingOf, pageOf, send, testLayer } from "./utils.js"

const keys = Sandbox.keysFor(6)

const firstId = Effect.map(Effect.flatMap(Sandbox.Sandbox, (s) => s.meetings), (all) => all[0]!.id)

/** The first `atLeast` bytes of an answer's body (the rest is never read: the request is abandoned). */
const headOf = (path: string, atLeast: number) =>
  Effect.gen(function*() {
    const sandbox = yield* Sandbox.Sandbox
    const client = yield* HttpClient.HttpClient
    const request = HttpClientRequest.get((yield* sandbox.baseUrl) + path).pipe(
      HttpClientRequest.bearerToken(keys.admin),
      HttpClientRequest.setHeader("Lightfield-Version", Sandbox.apiVersion)
    )
    const response = yield* client.execute(request)
    let seen = 0
    const chunks = yield* response.stream.pipe(
      Stream.takeUntil((chunk) => (seen += chunk.length) >= atLeast),
      Stream.runCollect
    )
    return { status: response.status, headers: response.headers, bytes: seen, first: Chunk.unsafeHead(chunks) }
  }).pipe(Effect.scoped)

layer(testLayer({ seed: 6, meetings: 40, rateLimit: false }), { excludeTestServices: true })("Answer faults", (it) => {
  const clean = Effect.flatMap(Sandbox.Sandbox, (s) => s.clearFaults)

  it.effect("ShortPage cuts the list page to `keep` items while totalCount still counts them all", () =>
    Effect.gen(function*() {
      yield* clean
      const sandbox = yield* Sandbox.Sandbox
      const full = yield* pageOf(yield* send("GET", "/v1/meetings?limit=10&offset=5", { key: keys.admin }))
      assert.strictEqual(full.data.length, 10)
      yield* sandbox.inject({ fault: { _tag: "ShortPage", keep: 3 }, times: 2 })
      const short = yield* pageOf(yield* send("GET", "/v1/meetings?limit=10&offset=5", { key: keys.admin }))
      assert.deepStrictEqual(short.data.map((m) => m.id), full.data.slice(0, 3).map((m) => m.id))
      assert.strictEqual(short.totalCount, full.totalCount)
      // Not a list: the answer is left alone (and the rule's second hit is used up).
      const id = yield* firstId
      assert.strictEqual((yield* meetingOf(yield* send("GET", `/v1/meetings/${id}`, { key: keys.admin }))).id, id)
      const after = yield* pageOf(yield* send("GET", "/v1/meetings?limit=10&offset=5", { key: keys.admin }))
      assert.strictEqual(after.data.length, 10)
      const logged = (yield* sandbox.requests).slice(-3).map((r) => r.fault)
      assert.deepStrictEqual(logged, ["ShortPage", "ShortPage", undefined])
    }))

  it.effect("ShortPage with keep 0 answers an empty page that still claims every item", () =>
    Effect.gen(function*() {
      yield* clean
      const sandbox = yield* Sandbox.Sandbox
      yield* sandbox.inject({ fault: { _tag: "ShortPage", keep: 0 }, match: "GET /v1/meetings", times: 1 })
      const page = yield* pageOf(yield* send("GET", "/v1/meetings", { key: keys.admin }))
      assert.deepStrictEqual([page.data.length, page.totalCount], [0, (yield* sandbox.meetings).length])
    }))

  it.effect("Headers adds hostile headers to an ordinary answer, over the rate-limit headers", () =>
    Effect.gen(function*() {
      yield* clean
      const sandbox = yield* Sandbox.Sandbox
      yield* sandbox.inject({
        fault: { _tag: "Headers", headers: { "X-RateLimit-Limit": "0.001", "retry-after": "NaN", "x-ratelimit-reset": "-5" } },
        match: "GET /v1/meetings",
        times: 1
      })
      const res = yield* send("GET", "/v1/meetings?limit=2", { key: keys.admin })
      assert.strictEqual(res.status, 200)
      assert.deepStrictEqual(
        [res.headers["x-ratelimit-limit"], res.headers["retry-after"], res.headers["x-ratelimit-reset"]],
        ["0.001", "NaN", "-5"]
      )
      assert.isDefined(res.headers["x-ratelimit-remaining"])
      assert.strictEqual((yield* pageOf(res)).data.length, 2)
      const plain = yield* send("GET", "/v1/meetings?limit=2", { key: keys.admin })
      assert.strictEqual(plain.headers["x-ratelimit-limit"], "25")
    }))

  it.effect("HugeBody pads a meeting to exactly `bytes` bytes of valid JSON, chunked", () =>
    Effect.gen(function*() {
      yield* clean
      const sandbox = yield* Sandbox.Sandbox
      const id = yield* firstId
      yield* sandbox.inject({ fault: { _tag: "HugeBody", bytes: 3_000_000 }, match: "GET /v1/meetings/*", times: 1 })
      const res = yield* send("GET", `/v1/meetings/${id}`, { key: keys.admin })
      assert.strictEqual(res.status, 200)
      assert.strictEqual(Buffer.byteLength(res.text), 3_000_000)
      assert.isUndefined(res.headers["content-length"])
      assert.strictEqual(res.headers["transfer-encoding"], "chunked")
      const meeting = yield* meetingOf(res)
      assert.strictEqual(meeting.id, id)
      const padding = meeting.fields.sandboxPadding?.value
      assert.isTrue(typeof padding === "string" && /^x+$/.test(padding) && padding.length > 2_990_000)
      const [logged] = (yield* sandbox.requests).slice(-1)
      assert.deepStrictEqual([logged!.status, logged!.fault], [200, "HugeBody"])
    }))

  it.effect("HugeBody on a list pads its first meeting; on a list without meetings, a top-level key", () =>
    Effect.gen(function*() {
      yield* clean
      const sandbox = yield* Sandbox.Sandbox
      yield* sandbox.inject({ fault: { _tag: "HugeBody", bytes: 200_000, declareLength: true }, times: 2 })
      const res = yield* send("GET", "/v1/meetings?limit=3", { key: keys.admin })
      assert.strictEqual(res.headers["content-length"], "200000")
      assert.strictEqual(res.text.length, 200_000)
      const page = yield* pageOf(res)
      assert.deepStrictEqual(page.data.map((m) => m.fields.sandboxPadding !== undefined), [true, false, false])
      const empty = yield* send("GET", "/v1/meetings?offset=1000", { key: keys.admin })
      assert.strictEqual(empty.text.length, 200_000)
      const body = json(empty) as { readonly padding: string; readonly data: ReadonlyArray<unknown> }
      assert.match(body.padding, /^x+$/)
      assert.deepStrictEqual(body.data, [])
    }))

  it.effect("HugeBody is never built whole: a 1 GB body (over V8's longest string) streams, and the client can leave", () =>
    Effect.gen(function*() {
      yield* clean
      const sandbox = yield* Sandbox.Sandbox
      const id = yield* firstId
      const bytes = 1_000_000_000
      yield* sandbox.inject({ fault: { _tag: "HugeBody", bytes, declareLength: true }, match: "GET /v1/meetings/*", times: 1 })
      const head = yield* headOf(`/v1/meetings/${id}`, 4_000_000)
      assert.strictEqual(head.status, 200)
      assert.strictEqual(head.headers["content-length"], String(bytes))
      assert.isAtLeast(head.bytes, 4_000_000)
      assert.isTrue(new TextDecoder().decode(head.first).startsWith(`{"id":"${id}"`))
      // The abandoned stream stops; the sandbox serves the next request as usual.
      assert.strictEqual((yield* meetingOf(yield* send("GET", `/v1/meetings/${id}`, { key: keys.admin }))).id, id)
    }))

  it.effect("the new faults decode from the admin endpoint; out-of-range values are refused", () =>
    Effect.gen(function*() {
      yield* clean
      const ok = yield* send("POST", "/__sandbox/faults", {
        body: [
          { fault: { _tag: "ShortPage", keep: 1 }, times: 1 },
          { fault: { _tag: "HugeBody", bytes: 10 }, times: 1 },
          { fault: { _tag: "Headers", headers: { "x-a": "b" } }, times: 1 }
        ]
      })
      assert.strictEqual(ok.status, 200)
      const listed = json(yield* send("GET", "/__sandbox/faults")) as { readonly rules: ReadonlyArray<{ readonly fault: { readonly _tag: string } }> }
      assert.deepStrictEqual(listed.rules.map((r) => r.fault._tag), ["ShortPage", "HugeBody", "Headers"])
      yield* clean
      for (const fault of [{ _tag: "ShortPage", keep: -1 }, { _tag: "HugeBody", bytes: 0 }, { _tag: "HugeBody", bytes: 1.5 }, { _tag: "Headers" }]) {
        assert.strictEqual((yield* send("POST", "/__sandbox/faults", { body: { fault } })).status, 400)
      }
      // One-off via the header too.
      const viaHeader = yield* send("GET", "/v1/meetings?limit=4", {
        key: keys.admin,
        headers: { "X-Sandbox-Fault": JSON.stringify({ _tag: "ShortPage", keep: 1 }) }
      })
      const page = Schema.decodeUnknownSync(Schema.parseJson(Meeting.MeetingListPage))(viaHeader.text)
      assert.strictEqual(page.data.length, 1)
    }))
})
