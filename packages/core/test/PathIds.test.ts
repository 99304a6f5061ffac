/**
 * Issue 10 against the real sandbox on loopback (its `Respond` fault answers any status, body and headers).
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { clientFor, reset, sandboxLayer } from "./helpers.js"

describe("issue 10 #8: path-like ids", () => {
  layer(sandboxLayer({ rateLimit: false }), { excludeTestServices: true })("against the sandbox", (it) => {
    it.effect("[regression] #8 path-like ids are refused before any request, for every id-taking call", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const meetings = yield* clientFor("admin")
        for (const id of [".", "..", "a/b", "", " ", "../v1/meetings", "a?b", "a#b", "%2e%2e"]) {
          const got = yield* Effect.flip(meetings.retrieve(id))
          assert.strictEqual(got._tag, "InvalidParams", JSON.stringify(id))
          if (got._tag === "InvalidParams") assert.strictEqual(got.param, "id")
          const updated = yield* Effect.flip(meetings.update(id, { fields: { $privacySetting: "METADATA" } }))
          assert.strictEqual(updated._tag, "InvalidParams", JSON.stringify(id))
        }
        assert.deepStrictEqual(yield* sandbox.requests, [], "nothing was sent")
      }))

  })
})
