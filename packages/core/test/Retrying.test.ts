/**
 * `retrying` (internal) is `Effect.retry` whose driver is built after the first failure: the same
 * outcomes, the same inputs to the policy, the same iteration metadata in each retry, and nothing
 * built when the first attempt succeeds.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { retrying } from "../src/internal/retry.js"

/** An effect failing with `e1`, `e2`, … for its first `failures` runs, recording what each run saw. */
const flaky = (failures: number) => {
  const seen: Array<number> = []
  let runs = 0
  const effect = Effect.flatMap(Schedule.CurrentIterationMetadata, (meta) => {
    seen.push(meta.recurrence)
    runs++
    return runs <= failures ? Effect.fail(`e${runs}`) : Effect.succeed(`ok after ${runs}`)
  })
  return { effect, seen }
}

/** Runs `f` with `Effect.retry` and with `retrying`; both results, and what each effect saw. */
const both = (failures: number, policy: () => Schedule.Schedule<unknown, string>) =>
  Effect.gen(function*() {
    const inputs: Record<"retry" | "retrying", Array<string>> = { retry: [], retrying: [] }
    const logged = (into: Array<string>) => () => Schedule.tapInput(policy(), (e: string) => Effect.sync(() => into.push(e)))
    const a = flaky(failures)
    const b = flaky(failures)
    const viaRetry = yield* Effect.either(Effect.retry(a.effect, logged(inputs.retry)()))
    const viaRetrying = yield* Effect.either(retrying(b.effect, logged(inputs.retrying)))
    return { viaRetry, viaRetrying, seen: [a.seen, b.seen], inputs }
  })

describe("retrying", () => {
  it.effect("succeeds after failures as Effect.retry does, with the same inputs and iteration metadata", () =>
    Effect.gen(function*() {
      const r = yield* both(2, () => Schedule.recurs(5))
      assert.deepStrictEqual(r.viaRetrying, r.viaRetry)
      assert.strictEqual(r.viaRetrying._tag === "Right" && r.viaRetrying.right, "ok after 3")
      assert.deepStrictEqual(r.seen[1], r.seen[0])
      assert.deepStrictEqual(r.seen[1], [0, 1, 2])
      assert.deepStrictEqual(r.inputs.retrying, r.inputs.retry)
      assert.deepStrictEqual(r.inputs.retrying, ["e1", "e2"])
    }))

  it.effect("fails with the last error once the policy gives up, as Effect.retry does", () =>
    Effect.gen(function*() {
      const r = yield* both(10, () => Schedule.recurs(2))
      assert.deepStrictEqual(r.viaRetrying, r.viaRetry)
      assert.strictEqual(r.viaRetrying._tag === "Left" && r.viaRetrying.left, "e3")
      assert.deepStrictEqual(r.inputs.retrying, ["e1", "e2", "e3"])
    }))

  it.effect("a policy that never retries returns the first error", () =>
    Effect.gen(function*() {
      const r = yield* both(1, () => Schedule.stop)
      assert.deepStrictEqual(r.viaRetrying, r.viaRetry)
      assert.strictEqual(r.viaRetrying._tag === "Left" && r.viaRetrying.left, "e1")
    }))

  it.effect("builds no policy when the first attempt succeeds", () =>
    Effect.gen(function*() {
      let built = 0
      const result = yield* retrying(Effect.succeed(1), () => {
        built++
        return Schedule.recurs(3)
      })
      assert.strictEqual(result, 1)
      assert.strictEqual(built, 0)
    }))
})
