/**
 * `CacheError.match` is exhaustive over the cache's error union: type-checked by `pnpm check`
 * (tsconfig.test.json includes this file), so each `@ts-expect-error` below fails the build if the
 * line it marks compiles.
 */
import { assert, describe, it } from "@effect/vitest"
import { MeetingsError } from "@lightfield-effect/core"
import { Effect, Exit } from "effect"
import { join } from "node:path"
import { CacheError } from "../src/index.js"
import { makeFake, tempDir, withCache } from "./fixtures.js"

const handlers = {
  CacheError: (e: CacheError.CacheError) => `CacheError ${e.reason}`,
  CacheMiss: (e: CacheError.CacheMiss) => `CacheMiss ${e.id}`,
  InvalidParams: (e: MeetingsError.InvalidParams) => `InvalidParams ${e.param}`,
  BadRequest: () => "BadRequest",
  Unauthorized: () => "Unauthorized",
  Forbidden: () => "Forbidden",
  MeetingNotFound: () => "MeetingNotFound",
  Conflict: () => "Conflict",
  IdempotencyConflict: () => "IdempotencyConflict",
  Unprocessable: () => "Unprocessable",
  RateLimited: () => "RateLimited",
  MeetingsUnavailable: (e: MeetingsError.MeetingsUnavailable) => `MeetingsUnavailable ${e.reason}`,
  UndecodableResponse: () => "UndecodableResponse"
} as const

describe("CacheError.match", () => {
  it("dispatches each failure to the handler of its tag (data-first and data-last)", () => {
    const failures: ReadonlyArray<CacheError.CacheFailure> = [
      new CacheError.CacheError({ reason: "Full", message: "disk full" }),
      new CacheError.CacheMiss({ id: "mtg_1", message: "not cached" }),
      new MeetingsError.InvalidParams({ param: "limit", message: "bad", status: 400 }),
      new MeetingsError.MeetingsUnavailable({ reason: "Timeout", message: "slow" })
    ]
    const got = failures.map((e) => CacheError.match(e, handlers))
    assert.deepStrictEqual(got, ["CacheError Full", "CacheMiss mtg_1", "InvalidParams limit", "MeetingsUnavailable Timeout"])
    assert.deepStrictEqual(failures.map(CacheError.match(handlers)), got)
  })

  it.scopedLive("handles every failure of a cache call: with Effect.catchAll the error channel is never", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const exit = yield* withCache(join(dir, "c.db"), makeFake(), (cache) =>
        cache.retrieve("mtg_1", { policy: "CacheOnly" }).pipe(
          Effect.map(() => "found"),
          Effect.catchAll(CacheError.match({
            CacheError: (e) => Effect.succeed(e.reason),
            CacheMiss: (e) => Effect.succeed(`miss ${e.id}`),
            InvalidParams: (e) => Effect.succeed(e.param),
            BadRequest: (e) => Effect.succeed(e.type),
            Unauthorized: () => Effect.succeed("401"),
            Forbidden: () => Effect.succeed("403"),
            MeetingNotFound: () => Effect.succeed("404"),
            Conflict: () => Effect.succeed("409"),
            IdempotencyConflict: () => Effect.succeed("409"),
            Unprocessable: () => Effect.succeed("422"),
            RateLimited: () => Effect.succeed("429"),
            MeetingsUnavailable: (e) => Effect.succeed(e.reason),
            UndecodableResponse: (e) => Effect.succeed(e.path)
          })),
          Effect.exit
        ))
      const typed: Exit.Exit<string, never> = exit
      assert.deepStrictEqual(typed, Exit.succeed("miss mtg_1"))
    }))

  it("does not compile without every tag, or with a key that is not a tag", () => {
    const { CacheMiss: _dropped, ...missingOne } = handlers
    const failure: CacheError.CacheFailure = new CacheError.CacheMiss({ id: "x", message: "x" })
    // @ts-expect-error CacheMiss has no handler
    assert.throws(() => CacheError.match(failure, missingOne))
    // @ts-expect-error NotATag is not a tag of CacheFailure
    assert.strictEqual(CacheError.match(failure, { ...handlers, NotATag: () => "never" }), "CacheMiss x")
  })
})
