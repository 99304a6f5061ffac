/**
 * What a sync may conclude from a scan (issue 10): only a scan that covered the listing's
 * `totalCount` may mark meetings gone.
 */
import { assert, describe, it } from "@effect/vitest"
import { Meeting } from "@lightfield-effect/core"
import { Sandbox } from "@lightfield-effect/sandbox"
import { Effect, Schema } from "effect"
import { join } from "node:path"
import { makeFake, many, tempDir, withCache } from "./fixtures.js"
import { withCache as withSandboxCache } from "./sandbox.js"

describe("a short page never ends a scan as complete", () => {
  it.scopedLive("[regression] a page with fewer items than totalCount says exist: nothing is marked gone (fake network)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const fake = makeFake(many(60))
      yield* withCache(join(dir, "c.db"), fake, (cache) =>
        Effect.gen(function*() {
          assert.isTrue((yield* cache.sync()).complete)
          fake.state.shortPage = 3
          const short = yield* cache.sync()
          assert.isFalse(short.complete)
          assert.deepStrictEqual(short.gone, [])
          assert.strictEqual(yield* cache.count(), 60)
          // The next full scan completes normally.
          const next = yield* cache.sync()
          assert.isTrue(next.complete)
          assert.strictEqual(yield* cache.count(), 60)
        }))
    }))

  it.scopedLive("[regression] a short first page from the server (sandbox Respond fault, real HTTP): nothing is marked gone", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const sandbox = yield* Sandbox.make({ meetings: 60, rateLimit: false })
      const three = (yield* sandbox.meetings).slice(0, 3)
      const body = JSON.stringify({
        data: three.map((m) => Schema.encodeSync(Meeting.Meeting)(m)),
        object: "list",
        totalCount: 60
      })
      yield* withSandboxCache(sandbox, "admin", join(dir, "c.db"), (cache) =>
        Effect.gen(function*() {
          assert.isTrue((yield* cache.sync()).complete)
          yield* sandbox.inject({ fault: { _tag: "Respond", status: 200, body }, match: "GET /v1/meetings", times: 1 })
          const short = yield* cache.sync()
          assert.deepStrictEqual(short.gone, [])
          assert.strictEqual(yield* cache.count(), 60)
          // A client that fills the rest of the listing may call the scan complete: then it saw all 60.
          if (short.complete) assert.strictEqual(short.meetings, 60)
        }))
    }))
})
