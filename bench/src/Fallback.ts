/**
 * Fallback latency of a `NetworkFirst` read (issue 14): time from the call to a cached answer when
 * the API is slow (the sandbox's `Latency` fault, 5 s) with `networkTimeout`, and when it is down
 * (the sandbox process stopped: connections refused). Ours is the library with its default client
 * (2 retries with backoff, as the demo runs it); the baseline is plain code: `fetch` with an abort
 * after the same timeout, then the row from better-sqlite3. Runs interleaved, medians.
 */
import Database from "better-sqlite3"
import { MeetingsCache } from "@lightfield-effect/cache"
import { Effect } from "effect"
import { join } from "node:path"
import type { OursRuntime } from "./Ours.js"
import { oursRuntime } from "./Ours.js"
import type { SandboxProcess } from "./SandboxProcess.js"
import { startSandbox } from "./SandboxProcess.js"
import type { Figure } from "./Report.js"
import { median } from "./Stats.js"

export interface FallbackConfig {
  /** Timed reads per scenario and contender (after one warm-up each). */
  readonly runs: number
  /** The sandbox's delay in the slow scenario (5 s). */
  readonly slowMillis: number
  /** `networkTimeout` of the read (and the baseline's abort). */
  readonly networkTimeoutMillis: number
  readonly log: (line: string) => void
}

export interface FallbackScenario {
  readonly oursMs: ReadonlyArray<number>
  readonly baselineMs: ReadonlyArray<number>
  readonly oursMedianMs: number
  readonly baselineMedianMs: number
  /** Every one of ours answered from the cache. */
  readonly allFromCache: boolean
}

export interface FallbackFigures {
  readonly networkTimeoutMillis: number
  readonly slowMillis: number
  readonly slow: FallbackScenario
  readonly stopped: FallbackScenario
}

const oursRead = (runtime: OursRuntime, id: string, networkTimeoutMillis: number) =>
  runtime.runPromise(
    Effect.gen(function*() {
      const cache = yield* MeetingsCache.MeetingsCache
      const t0 = performance.now()
      const answer = yield* cache.retrieve(id, { policy: "NetworkFirst", networkTimeout: `${networkTimeoutMillis} millis` })
      return { ms: performance.now() - t0, source: answer.source }
    })
  )

/** Plain code: fetch with an abort after the timeout, else the stored row. */
const baselineRead = async (sandbox: SandboxProcess, db: Database.Database, id: string, timeoutMillis: number) => {
  const t0 = performance.now()
  let json: string
  try {
    const res = await fetch(`${sandbox.baseUrl}/v1/meetings/${id}`, {
      headers: { authorization: `Bearer ${sandbox.adminKey}`, "lightfield-version": "2026-03-01" },
      signal: AbortSignal.timeout(timeoutMillis)
    })
    json = await res.text()
    db.prepare("INSERT OR REPLACE INTO meetings (id, json) VALUES (?, ?)").run(id, json)
  } catch {
    json = (db.prepare("SELECT json FROM meetings WHERE id = ?").get(id) as { json: string }).json
  }
  JSON.parse(json)
  return performance.now() - t0
}

const scenario = (ours: ReadonlyArray<{ ms: number; source: string }>, baseline: ReadonlyArray<number>): FallbackScenario => ({
  oursMs: ours.map((o) => o.ms),
  baselineMs: baseline,
  oursMedianMs: median(ours.map((o) => o.ms)),
  baselineMedianMs: median(baseline),
  allFromCache: ours.every((o) => o.source === "cache")
})

export const measureFallback = async (config: FallbackConfig, dir: string): Promise<FallbackFigures> => {
  const sandbox = await startSandbox({ meetings: 20, rate: 0 })
  let stopped = false
  const runtime = oursRuntime({ baseUrl: sandbox.baseUrl, apiKey: sandbox.adminKey, filename: join(dir, "ours-fallback.db"), rate: false })
  const db = new Database(join(dir, "baseline-fallback.db"))
  db.exec("CREATE TABLE IF NOT EXISTS meetings (id TEXT PRIMARY KEY, json TEXT NOT NULL)")
  try {
    const listed = await (await fetch(`${sandbox.baseUrl}/v1/meetings?limit=1`, {
      headers: { authorization: `Bearer ${sandbox.adminKey}`, "lightfield-version": "2026-03-01" }
    })).json() as { readonly data: ReadonlyArray<{ readonly id: string }> }
    const id = listed.data[0]!.id
    // Online first: both have the row.
    await oursRead(runtime, id, 60_000)
    await baselineRead(sandbox, db, id, 60_000)

    /** One warm-up, then `runs` reads of each contender, alternating. */
    const interleaved = async (ours: Array<{ ms: number; source: string }>, baseline: Array<number>) => {
      for (let i = 0; i <= config.runs; i++) {
        const o = await oursRead(runtime, id, config.networkTimeoutMillis)
        const b = await baselineRead(sandbox, db, id, config.networkTimeoutMillis)
        if (i > 0) {
          ours.push(o)
          baseline.push(b)
        }
      }
    }
    const slowOurs: Array<{ ms: number; source: string }> = []
    const slowBase: Array<number> = []
    const faults = `${sandbox.baseUrl}/__sandbox/faults`
    await fetch(faults, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ fault: { _tag: "Latency", millis: config.slowMillis }, match: `GET /v1/meetings/${id}` })
    })
    await interleaved(slowOurs, slowBase)
    await fetch(faults, { method: "DELETE" })
    config.log(`  fallback, sandbox answering after ${config.slowMillis} ms: ours ${median(slowOurs.map((o) => o.ms)).toFixed(0)} ms, baseline ${median(slowBase).toFixed(0)} ms (networkTimeout ${config.networkTimeoutMillis} ms)`)

    await sandbox.stop()
    stopped = true
    const downOurs: Array<{ ms: number; source: string }> = []
    const downBase: Array<number> = []
    await interleaved(downOurs, downBase)
    config.log(`  fallback, sandbox stopped: ours ${median(downOurs.map((o) => o.ms)).toFixed(1)} ms, baseline ${median(downBase).toFixed(1)} ms`)
    return {
      networkTimeoutMillis: config.networkTimeoutMillis,
      slowMillis: config.slowMillis,
      slow: scenario(slowOurs, slowBase),
      stopped: scenario(downOurs, downBase)
    }
  } finally {
    db.close()
    await runtime.dispose()
    if (!stopped) await sandbox.stop()
  }
}

/** The figures' rows: time to a cached answer, ours beside plain code. */
export const fallbackRows = (f: FallbackFigures): Array<Figure> => {
  const budget = f.networkTimeoutMillis
  return [
    {
      figure: `8. NetworkFirst cached answer, sandbox stopped (refused), median of ${f.stopped.oursMs.length} (baseline: fetch, then SQLite)`,
      unit: "ms",
      ours: f.stopped.oursMedianMs,
      baseline: f.stopped.baselineMedianMs,
      ratio: f.stopped.oursMedianMs / f.stopped.baselineMedianMs,
      target: "≤ baseline + 50 ms",
      pass: f.stopped.allFromCache && f.stopped.oursMedianMs <= f.stopped.baselineMedianMs + 50
    },
    {
      figure: `8. NetworkFirst cached answer, sandbox answering after ${f.slowMillis / 1000} s, networkTimeout ${budget} ms, median of ${f.slow.oursMs.length}`,
      unit: "ms",
      ours: f.slow.oursMedianMs,
      baseline: f.slow.baselineMedianMs,
      ratio: f.slow.oursMedianMs / f.slow.baselineMedianMs,
      target: `≤ ${budget + 50} ms`,
      pass: f.slow.allFromCache && f.slow.oursMedianMs <= budget + 50
    }
  ]
}
