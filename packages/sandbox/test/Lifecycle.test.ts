import { assert, describe, it } from "@effect/vitest"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Exit, Layer, Scope } from "effect"
import * as Sandbox from "../src/Sandbox.js"
import { createBody, meetingOf, pageOf, send, withSandbox } from "./utils.js"

const keys = Sandbox.keysFor(1)

describe("Lifecycle", () => {
  it.scopedLive("stop refuses connections and keeps state; start listens again on the same port", () =>
    withSandbox({ meetings: 10 }, (sandbox) =>
      Effect.gen(function*() {
        const baseUrl = yield* sandbox.baseUrl
        const created = yield* meetingOf(yield* send("POST", "/v1/meetings", { key: keys.member, body: createBody() }))
        yield* sandbox.stop
        const refused = yield* Effect.flip(send("GET", "/v1/meetings", { key: keys.member }))
        assert.strictEqual(refused._tag, "RequestError")
        yield* sandbox.start
        assert.strictEqual(yield* sandbox.baseUrl, baseUrl)
        const back = yield* send("GET", `/v1/meetings/${created.id}`, { key: keys.member })
        assert.strictEqual(back.status, 200)
        // Stop/start are idempotent.
        yield* sandbox.start
        yield* sandbox.stop
        yield* sandbox.stop
        yield* sandbox.start
        assert.strictEqual((yield* send("GET", "/v1/meetings", { key: keys.member })).status, 200)
      })))

  it.scopedLive("POST /__sandbox/restart goes down and comes back", () =>
    withSandbox({ meetings: 10 }, () =>
      Effect.gen(function*() {
        assert.strictEqual((yield* send("POST", "/__sandbox/restart", { body: { downMillis: 300 } })).status, 200)
        yield* Effect.sleep("150 millis")
        assert.strictEqual((yield* Effect.flip(send("GET", "/v1/meetings", { key: keys.member })))._tag, "RequestError")
        yield* Effect.sleep("400 millis")
        assert.strictEqual((yield* send("GET", "/v1/meetings", { key: keys.member })).status, 200)
      })))

  it.scopedLive("a taken port fails make and start with a typed SandboxError, not a defect", () =>
    Effect.gen(function*() {
      const first = yield* Sandbox.make({ meetings: 1 })
      const port = Number(new URL(yield* first.baseUrl).port)
      const error = yield* Effect.flip(Sandbox.make({ meetings: 1, port }))
      assert.instanceOf(error, Sandbox.SandboxError)
      assert.deepStrictEqual([error.reason, error.port], ["Listen", port])
      assert.strictEqual(error.message, `Sandbox port ${port} on 127.0.0.1 is already in use`)
      // The same through the layer.
      const viaLayer = yield* Effect.flip(Layer.build(Sandbox.layer({ meetings: 1, port })))
      assert.strictEqual(viaLayer._tag, "SandboxError")
      // start: another server takes the port while the first is stopped.
      yield* first.stop
      const squatter = yield* Sandbox.make({ meetings: 1, port })
      const restart = yield* Effect.flip(first.start)
      assert.deepStrictEqual([restart._tag, restart.reason, restart.port], ["SandboxError", "Listen", port])
      yield* squatter.stop
      yield* first.start
      assert.strictEqual((yield* send("GET", "/v1/meetings", { key: keys.member }).pipe(
        Effect.provideService(Sandbox.Sandbox, first),
        Effect.provide(NodeHttpClient.layerUndici)
      )).status, 200)
    }))

  it.scopedLive("closing the scope stops the server", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const sandbox = yield* Sandbox.make({ meetings: 1 }).pipe(Scope.extend(scope))
      const baseUrl = yield* sandbox.baseUrl
      yield* Scope.close(scope, Exit.void)
      const error = yield* Effect.flip(
        send("GET", "/v1/meetings", { key: keys.member }).pipe(
          Effect.provideService(Sandbox.Sandbox, { ...sandbox, baseUrl: Effect.succeed(baseUrl) }),
          Effect.provide(NodeHttpClient.layerUndici)
        )
      )
      assert.strictEqual(error._tag, "RequestError")
    }))

  it.scoped("runs on its own clock: Latency and the past-date rule work under a test's TestClock", () =>
    withSandbox({ meetings: 5 }, (sandbox) =>
      Effect.gen(function*() {
        yield* sandbox.inject({ fault: { _tag: "Latency", millis: 50 }, times: 1 })
        const res = yield* send("GET", "/v1/meetings", { key: keys.member }).pipe(Effect.timeout("5 seconds"))
        assert.strictEqual(res.status, 200)
        const created = yield* send("POST", "/v1/meetings", { key: keys.member, body: createBody() })
        assert.strictEqual(created.status, 200)
      })))

  it.scopedLive("the seed is deterministic; the meeting count is configurable", () =>
    Effect.gen(function*() {
      const a = yield* Sandbox.make({ seed: 42, meetings: 50 })
      const b = yield* Sandbox.make({ seed: 42, meetings: 50 })
      const c = yield* Sandbox.make({ seed: 43, meetings: 50 })
      const ids = (s: Sandbox.SandboxShape) => Effect.map(s.meetings, (ms) => ms.map((m) => m.id))
      assert.deepStrictEqual(yield* ids(a), yield* ids(b))
      assert.notDeepEqual(yield* ids(a), yield* ids(c))
      assert.strictEqual((yield* ids(a)).length, 50)
      const [am, bm] = [yield* a.meetings, yield* b.meetings]
      assert.deepStrictEqual(am[7]!.fields, bm[7]!.fields)
      const createdAts = am.map((m) => m.createdAt.epochMillis)
      assert.strictEqual(new Set(createdAts).size, createdAts.length)
      assert.isTrue(am.every((m) => m.createdAt.epochMillis < Date.now()))
    }))

  // Speed is the bench's to measure (a timed assertion here failed on a loaded machine); this checks
  // that deep offsets of a large store page correctly: full pages, the tail, and no gap or overlap.
  it.scopedLive("large stores page correctly at deep offsets: the last page of 50 000 and adjacent pages", () =>
    withSandbox({ meetings: 50_000, rateLimit: false }, () =>
      Effect.gen(function*() {
        const last = yield* pageOf(yield* send("GET", "/v1/meetings?offset=49990", { key: keys.member }))
        assert.strictEqual(last.totalCount, 50_000)
        assert.strictEqual(last.data.length, 10)
        const across = yield* pageOf(yield* send("GET", "/v1/meetings?offset=49980", { key: keys.member }))
        assert.deepStrictEqual(across.data.slice(10).map((m) => m.id), last.data.map((m) => m.id))
        for (let i = 0; i < 20; i++) {
          const page = yield* pageOf(yield* send("GET", `/v1/meetings?offset=${i * 2500}`, { key: keys.member }))
          assert.strictEqual(page.data.length, 25)
          const next = yield* pageOf(yield* send("GET", `/v1/meetings?offset=${i * 2500 + 25}&limit=1`, { key: keys.member }))
          assert.notInclude(page.data.map((m) => m.id), next.data[0]!.id)
        }
      })))
})
