/**
 * What a test file knows about the run: its seed (one per run, printed, reproducible), the scale
 * (`ci` by default, `large` by flag) with the sizes it implies, the results folder, and a counter of
 * unhandled promise rejections in this worker process.
 */
import { inject } from "vitest"
import * as Prng from "./Prng.js"
import type { ScenarioRecord } from "./Summary.js"
import * as Summary from "./Summary.js"

export type Scale = "ci" | "large"

export const seed = (): number => inject("reliabilitySeed")
export const scale = (): Scale => inject("reliabilityScale")

/** A PRNG stream for one scenario, derived from the run seed. */
export const prng = (label: string): Prng.Prng => Prng.derive(seed(), label)

export interface Sizes {
  /** SIGKILLs of a syncing child. */
  readonly syncKills: number
  /** Meetings on the sandbox for the crash-during-sync scenario. */
  readonly syncMeetings: number
  /** Outbox trials (each: one enqueue child, then replay children killed at random points). */
  readonly outboxTrials: number
  /** Replay kills per outbox trial. */
  readonly outboxKillsPerTrial: number
  /** Queued writes per outbox trial. */
  readonly outboxWrites: number
  /** Repetitions of the fault matrix (each with fresh random fault parameters). */
  readonly faultRounds: number
  /** fast-check runs per bad-input property. */
  readonly propertyRuns: number
  /** Steps of the privacy interleaving. */
  readonly privacySteps: number
  readonly privacyMeetings: number
}

export const sizes = (): Sizes =>
  scale() === "large"
    ? {
      syncKills: 100,
      syncMeetings: 800,
      outboxTrials: 25,
      outboxKillsPerTrial: 4,
      outboxWrites: 16,
      faultRounds: 4,
      propertyRuns: 3000,
      privacySteps: 1500,
      privacyMeetings: 150
    }
    : {
      syncKills: 20,
      syncMeetings: 300,
      outboxTrials: 5,
      outboxKillsPerTrial: 2,
      outboxWrites: 8,
      faultRounds: 1,
      propertyRuns: 300,
      privacySteps: 400,
      privacyMeetings: 60
    }

export const record = (tally: Summary.Tally): ScenarioRecord => {
  const r = tally.toRecord()
  Summary.write(inject("reliabilityResults"), r)
  return r
}

/** Unhandled rejections seen by this worker process since the module loaded. */
let unhandledRejections = 0
process.on("unhandledRejection", () => {
  unhandledRejections++
})
export const unhandled = (): number => unhandledRejections
