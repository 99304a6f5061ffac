/**
 * `MeetingsError.match` is exhaustive: type-checked by `pnpm check` (tsconfig.test.json includes
 * this file), so each `@ts-expect-error` below fails the build if the line it marks compiles.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { MeetingsError } from "../src/index.js"

const handlers = {
  InvalidParams: (e: MeetingsError.InvalidParams) => `InvalidParams ${e.param}`,
  BadRequest: (e: MeetingsError.BadRequest) => `BadRequest ${e.status}`,
  Unauthorized: () => "Unauthorized",
  Forbidden: (e: MeetingsError.Forbidden) => `Forbidden ${e.scope ?? ""}`,
  MeetingNotFound: () => "MeetingNotFound",
  Conflict: () => "Conflict",
  IdempotencyConflict: () => "IdempotencyConflict",
  Unprocessable: () => "Unprocessable",
  RateLimited: () => "RateLimited",
  MeetingsUnavailable: (e: MeetingsError.MeetingsUnavailable) => `MeetingsUnavailable ${e.reason}`,
  UndecodableResponse: () => "UndecodableResponse"
} as const

const errors: ReadonlyArray<MeetingsError.MeetingsError> = [
  new MeetingsError.InvalidParams({ param: "id", message: "bad", status: 400 }),
  new MeetingsError.BadRequest({ status: 415, type: "unsupported_media_type", message: "no" }),
  new MeetingsError.Unauthorized({ message: "no" }),
  new MeetingsError.Forbidden({ message: "no", scope: "meetings:read" }),
  new MeetingsError.MeetingNotFound({ message: "no" }),
  new MeetingsError.Conflict({ message: "no" }),
  new MeetingsError.IdempotencyConflict({ message: "no" }),
  new MeetingsError.Unprocessable({ message: "no" }),
  new MeetingsError.RateLimited({ message: "no" }),
  new MeetingsError.MeetingsUnavailable({ reason: "NotCached", message: "no" }),
  new MeetingsError.UndecodableResponse({ status: 200, path: "", message: "no" })
]

describe("MeetingsError.match", () => {
  it("dispatches each error to the handler of its tag (data-first and data-last)", () => {
    const got = errors.map((e) => MeetingsError.match(e, handlers))
    assert.deepStrictEqual(got, [
      "InvalidParams id",
      "BadRequest 415",
      "Unauthorized",
      "Forbidden meetings:read",
      "MeetingNotFound",
      "Conflict",
      "IdempotencyConflict",
      "Unprocessable",
      "RateLimited",
      "MeetingsUnavailable NotCached",
      "UndecodableResponse"
    ])
    assert.deepStrictEqual(errors.map(MeetingsError.match(handlers)), got)
  })

  it.effect("as Effect.catchAll's handler it leaves no error, and its result type is the handlers' union", () =>
    Effect.gen(function*() {
      const recovered = Effect.fail(errors[5]!).pipe(
        Effect.catchAll(MeetingsError.match({
          InvalidParams: (e) => Effect.succeed(e.param),
          BadRequest: (e) => Effect.succeed(e.status),
          Unauthorized: () => Effect.succeed(401 as const),
          Forbidden: () => Effect.succeed(403 as const),
          MeetingNotFound: () => Effect.succeed(404 as const),
          Conflict: () => Effect.succeed(409 as const),
          IdempotencyConflict: () => Effect.succeed(409 as const),
          Unprocessable: () => Effect.succeed(422 as const),
          RateLimited: () => Effect.succeed(429 as const),
          MeetingsUnavailable: (e) => Effect.succeed(e.reason),
          UndecodableResponse: (e) => Effect.succeed(e.status)
        }))
      )
      // The error channel is `never` once every tag is handled.
      const exit: Exit.Exit<unknown, never> = yield* Effect.exit(recovered)
      assert.deepStrictEqual(exit, Exit.succeed(409))
    }))

  it("does not compile without every tag, or with a key that is not a tag", () => {
    const { UndecodableResponse: _dropped, ...missingOne } = handlers
    const error: MeetingsError.MeetingsError = errors[0]!
    const undecodable = errors[10]!
    // The compile-time errors below are the point; at run time an incomplete matcher fails on the
    // tag it lacks, which is what the compiler now prevents.
    // @ts-expect-error UndecodableResponse is missing
    assert.throws(() => MeetingsError.match(undecodable, missingOne))
    // @ts-expect-error UndecodableResponse is missing (data-last)
    assert.throws(() => MeetingsError.match(missingOne)(undecodable))
    // @ts-expect-error NotATag is not a tag of MeetingsError
    assert.strictEqual(MeetingsError.match(error, { ...handlers, NotATag: () => "x" }), "InvalidParams id")
    const mistyped = MeetingsError.match(error, {
      ...handlers,
      // @ts-expect-error `param` does not exist on Unauthorized
      Unauthorized: (e) => e.param
    })
    assert.strictEqual(mistyped, "InvalidParams id")
  })
})
