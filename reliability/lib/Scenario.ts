/**
 * The frame of a scenario that collects its problems instead of stopping at the first: a tally
 * recorded into the run's summary when the scope closes, a list of failures asserted empty at the
 * end (so one run shows every problem), unhandled rejections counted as defects, and the three ways
 * a call can end (success, typed failure, defect) told apart.
 */
import { assert } from "@effect/vitest"
import { Cause, Effect, Exit, Option } from "effect"
import type { Scope } from "effect"
import * as Run from "./Run.js"
import { Tally } from "./Summary.js"

export interface Scenario {
  readonly tally: Tally
  /** Note a problem; the scenario goes on and fails at `finish`. */
  readonly fail: (message: string) => void
  readonly failures: () => ReadonlyArray<string>
  /** Count unhandled rejections, name `bug` in the summary if anything failed, assert nothing did. */
  readonly finish: (bug: string) => Effect.Effect<void>
}

export const start = (suite: string, name: string): Effect.Effect<Scenario, never, Scope.Scope> =>
  Effect.gen(function*() {
    const tally = new Tally(suite, name)
    yield* Effect.addFinalizer(() => Effect.sync(() => Run.record(tally)))
    const failures: Array<string> = []
    const unhandledBefore = Run.unhandled()
    return {
      tally,
      fail: (message) => {
        failures.push(message)
      },
      failures: () => failures,
      finish: (bug) =>
        Effect.sync(() => {
          const unhandled = Run.unhandled() - unhandledBefore
          tally.defects += unhandled
          if (failures.length > 0) tally.bugs.push(bug)
          assert.deepStrictEqual(failures.slice(0, 60), [], `${failures.length} failure(s)`)
          assert.strictEqual(unhandled, 0, "unhandled rejections in the test process")
        })
    }
  })

/** A typed failure as the scenarios see it. */
export interface Failed {
  readonly _tag: string
  readonly message?: string
  readonly reason?: string
}

export type Ended<A> =
  | { readonly _tag: "Success"; readonly value: A }
  | { readonly _tag: "Failure"; readonly error: Failed; readonly label: string }
  | { readonly _tag: "Defect"; readonly label: string }

/** How a call ended; a defect (or an interruption) is counted in the tally. */
export const ended = <A, E>(tally: Tally, exit: Exit.Exit<A, E>): Ended<A> => {
  if (Exit.isSuccess(exit)) return { _tag: "Success", value: exit.value }
  if (Cause.isDie(exit.cause) || Cause.isInterruptedOnly(exit.cause)) {
    tally.defects++
    return { _tag: "Defect", label: `DEFECT ${Cause.pretty(exit.cause).split("\n").slice(0, 2).join(" ")}`.slice(0, 300) }
  }
  const error = Option.getOrElse(
    Cause.failureOption(exit.cause) as Option.Option<Failed>,
    (): Failed => ({ _tag: "?", message: Cause.pretty(exit.cause) })
  )
  return { _tag: "Failure", error, label: error.reason === undefined ? error._tag : `${error._tag}/${error.reason}` }
}
