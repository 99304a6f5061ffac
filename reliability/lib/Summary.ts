/**
 * The run's summary: every scenario writes one record (JSON file) into the results folder the
 * global setup created; the global teardown reads them all and prints one table.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"

export interface ScenarioRecord {
  /** Test file, e.g. `crash-sync`. */
  readonly suite: string
  /** One line of the table, e.g. `SIGKILL during sync`. */
  readonly scenario: string
  readonly trials: number
  /** Outcome → count (e.g. `killed mid-scan: 14`). */
  readonly outcomes: Readonly<Record<string, number>>
  /** Queued or acknowledged writes that never reached the server and are not held for the user (or rows missing after a resumed sync). */
  readonly lost: number
  /** Writes the server executed more than once (the sandbox's request log and store). */
  readonly duplicated?: number
  /** Rows or answers a principal must not see. */
  readonly leaks: number
  /** Defects (`Cause.isDie`), unhandled rejections, crashed children, failed integrity checks. */
  readonly defects: number
  /** Known package bugs this scenario hit (reported, not counted as lost/leak/defect). */
  readonly bugs?: ReadonlyArray<string>
  readonly notes?: ReadonlyArray<string>
  readonly millis: number
}

/** Outcome counter used while a scenario runs. */
export class Tally {
  readonly outcomes: Record<string, number> = {}
  trials = 0
  lost = 0
  duplicated = 0
  leaks = 0
  defects = 0
  readonly notes: Array<string> = []
  readonly bugs: Array<string> = []
  private readonly started = Date.now()

  constructor(readonly suite: string, readonly scenario: string) {}

  outcome(label: string, n = 1): void {
    this.outcomes[label] = (this.outcomes[label] ?? 0) + n
  }

  toRecord(): ScenarioRecord {
    return {
      suite: this.suite,
      scenario: this.scenario,
      trials: this.trials,
      outcomes: { ...this.outcomes },
      lost: this.lost,
      duplicated: this.duplicated,
      leaks: this.leaks,
      defects: this.defects,
      ...(this.bugs.length === 0 ? {} : { bugs: [...new Set(this.bugs)] }),
      ...(this.notes.length === 0 ? {} : { notes: [...this.notes] }),
      millis: Date.now() - this.started
    }
  }
}

let counter = 0

export const write = (dir: string, record: ScenarioRecord): void => {
  mkdirSync(dir, { recursive: true })
  const name = `${record.suite}-${process.pid}-${Date.now()}-${counter++}.json`
  writeFileSync(join(dir, name), JSON.stringify(record, null, 2))
}

export const readAll = (dir: string): ReadonlyArray<ScenarioRecord> => {
  let files: Array<string>
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".json")).sort()
  } catch {
    return []
  }
  return files.map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as ScenarioRecord)
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length))
const padLeft = (s: string, n: number) => (s.length >= n ? s : " ".repeat(n - s.length) + s)

const wrap = (text: string, width: number): Array<string> => {
  const words = text.split(/(?<=,) /)
  const lines: Array<string> = []
  let line = ""
  for (const w of words) {
    if (line !== "" && line.length + 1 + w.length > width) {
      lines.push(line)
      line = w
    } else {
      line = line === "" ? w : `${line} ${w}`
    }
  }
  if (line !== "") lines.push(line)
  return lines.length === 0 ? [""] : lines
}

/** The table printed at the end of the run. */
export const format = (
  records: ReadonlyArray<ScenarioRecord>,
  header: { readonly seed: number; readonly scale: string; readonly millis: number; readonly unhandledRejections: number }
): string => {
  const order = [
    "crash-sync",
    "crash-outbox",
    "crash-attach",
    "crash-delete",
    "outbox-expiry",
    "dead-letters",
    "faults",
    "hostile-headers",
    "hostile-bodies",
    "full-disk",
    "hostile-queries",
    "bad-input",
    "path-ids",
    "privacy"
  ]
  const sorted = [...records].sort((a, b) =>
    (order.indexOf(a.suite) + 1 || 99) - (order.indexOf(b.suite) + 1 || 99) || a.scenario.localeCompare(b.scenario)
  )
  const scenarioWidth = Math.max(22, ...sorted.map((r) => r.scenario.length))
  const outcomeWidth = 58
  const lines: Array<string> = []
  const rule = "-".repeat(scenarioWidth + outcomeWidth + 50)
  lines.push("")
  lines.push(`Reliability summary  (seed ${header.seed}, scale ${header.scale}, ${(header.millis / 1000).toFixed(1)} s)`)
  lines.push(`Reproduce: RELIABILITY_SEED=${header.seed}${header.scale === "large" ? " RELIABILITY_SCALE=large" : ""} pnpm test:reliability`)
  lines.push(rule)
  lines.push(
    `${pad("scenario", scenarioWidth)}  ${padLeft("trials", 6)}  ${pad("outcomes", outcomeWidth)}  ${padLeft("lost", 4)}  ${
      padLeft("dup", 4)
    }  ${padLeft("leaks", 5)}  ${padLeft("defects", 7)}  ${padLeft("time", 7)}`
  )
  lines.push(rule)
  let trials = 0
  let lost = 0
  let duplicated = 0
  let leaks = 0
  let defects = 0
  const bugs = new Set<string>()
  for (const r of sorted) {
    trials += r.trials
    lost += r.lost
    duplicated += r.duplicated ?? 0
    leaks += r.leaks
    defects += r.defects
    for (const b of r.bugs ?? []) bugs.add(b)
    const outcomes = Object.entries(r.outcomes).map(([k, v]) => `${k} ${v}`).join(", ")
    const wrapped = wrap(outcomes, outcomeWidth)
    lines.push(
      `${pad(r.scenario, scenarioWidth)}  ${padLeft(String(r.trials), 6)}  ${pad(wrapped[0]!, outcomeWidth)}  ${
        padLeft(String(r.lost), 4)
      }  ${padLeft(String(r.duplicated ?? 0), 4)}  ${padLeft(String(r.leaks), 5)}  ${padLeft(String(r.defects), 7)}  ${padLeft(`${(r.millis / 1000).toFixed(1)}s`, 7)}`
    )
    for (const more of wrapped.slice(1)) lines.push(`${pad("", scenarioWidth)}  ${pad("", 6)}  ${more}`)
  }
  lines.push(rule)
  lines.push(
    `${pad("TOTAL", scenarioWidth)}  ${padLeft(String(trials), 6)}  ${
      pad(`unhandled rejections (runner) ${header.unhandledRejections}`, outcomeWidth)
    }  ${padLeft(String(lost), 4)}  ${padLeft(String(duplicated), 4)}  ${padLeft(String(leaks), 5)}  ${padLeft(String(defects), 7)}`
  )
  lines.push(rule)
  if (bugs.size > 0) {
    lines.push("Package bugs hit (see the failing [regression] tests):")
    for (const b of bugs) lines.push(`  - ${b}`)
  }
  const ok = lost === 0 && duplicated === 0 && leaks === 0 && defects === 0 && records.length > 0
  const known = bugs.size === 0 ? "" : `; ${bugs.size} package bug(s) hit by the failing [regression] tests`
  lines.push(
    (ok
      ? "RESULT: zero lost writes, zero duplicated writes, zero leaks, zero defects"
      : `RESULT: ${lost} lost, ${duplicated} duplicated, ${leaks} leaks, ${defects} defects`) + known
  )
  lines.push("")
  return lines.join("\n")
}
