/**
 * How the checks under scripts/ report: one line per finding, a final `name: N passed, N failed`
 * line, and with `--json <file>` the counts in the shape vitest's JSON reporter uses, which
 * .ci/run adds up into its final line.
 */
import { writeFileSync } from "node:fs"

export interface Outcome {
  readonly name: string
  readonly ok: boolean
}

/** Print the summary, write `--json <file>` if asked, and set the exit code (failure when nothing ran). */
export const finish = (check: string, outcomes: ReadonlyArray<Outcome>, argv: ReadonlyArray<string> = process.argv.slice(2)) => {
  const passed = outcomes.filter((o) => o.ok).length
  const failed = outcomes.length - passed
  const at = argv.indexOf("--json")
  const file = at === -1 ? undefined : argv[at + 1]
  if (file !== undefined) {
    writeFileSync(file, JSON.stringify({ numPassedTests: passed, numFailedTests: failed, numFailedTestSuites: 0 }))
  }
  console.log(`${check}: ${passed} passed, ${failed} failed`)
  process.exitCode = failed === 0 && passed > 0 ? 0 : 1
}
