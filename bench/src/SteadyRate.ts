/**
 * Steady-state rate-limited sync (issue 14): a sync of 20k meetings (800 pages of 25) against the
 * sandbox limiting at 25/s, with the library's own client-side limiter at its default. Figures:
 * the achieved rate over the limit from the sandbox's request log (whole run, and after the
 * initial burst), the 429s, and the client's CPU time over the wall time of the sync (the API is
 * the bottleneck; the library should be a small share of it).
 */
import { join } from "node:path"
import { oursRuntime, syncOurs } from "./Ours.js"
import type { Figure } from "./Report.js"
import { withSandbox } from "./SandboxProcess.js"
import { cpuSince } from "./Stats.js"

export interface SteadyRateConfig {
  readonly meetings: number
  readonly rate: number
  readonly concurrency: number
  readonly log: (line: string) => void
}

export interface SteadyRateFigures {
  readonly meetings: number
  readonly limitPerSecond: number
  readonly concurrency: number
  readonly listRequests: number
  readonly status429: number
  readonly otherErrors: number
  readonly elapsedMs: number
  /** (requests − 1) / (last − first request) / limit, over the whole run (sandbox log). */
  readonly fractionWhole: number
  /**
   * The same after the first `skipped` requests: `limitPerSecond` (the server's bucket capacity,
   * the start-up burst), or half of them in a short run.
   */
  readonly fractionSteady: number
  readonly skipped: number
  /** Client CPU (user + sys of this process) over the sync's wall time. */
  readonly cpuShare: number
  readonly cpuMs: number
  readonly stored: number
}

const rateOf = (at: ReadonlyArray<number>) => {
  const span = (at[at.length - 1] ?? 0) - (at[0] ?? 0)
  return at.length > 1 && span > 0 ? ((at.length - 1) * 1000) / span : Number.NaN
}

export const measureSteadyRate = (config: SteadyRateConfig, dir: string): Promise<SteadyRateFigures> =>
  withSandbox({ meetings: config.meetings, rate: config.rate }, async (sandbox) => {
    const runtime = oursRuntime({
      baseUrl: sandbox.baseUrl,
      apiKey: sandbox.adminKey,
      filename: join(dir, "ours-steady-rate.db"),
      rate: config.rate
    })
    try {
      await runtime.runtime()
      await sandbox.clearRequests()
      // The server's bucket refills while idle: start from a full one, as a fresh client would.
      await new Promise((done) => setTimeout(done, 1100))
      const cpu0 = process.cpuUsage()
      const r = await syncOurs(runtime, config.concurrency)
      const cpuMs = cpuSince(cpu0)
      const log = (await sandbox.requests()).filter((q) => q.method === "GET" && q.path === "/v1/meetings")
      const at = log.map((q) => q.at)
      const skipped = Math.min(config.rate, Math.floor(at.length / 2))
      const figures: SteadyRateFigures = {
        meetings: config.meetings,
        limitPerSecond: config.rate,
        concurrency: config.concurrency,
        listRequests: log.length,
        status429: log.filter((q) => q.status === 429).length,
        otherErrors: log.filter((q) => q.status !== 200 && q.status !== 429).length,
        elapsedMs: r.elapsedMs,
        fractionWhole: rateOf(at) / config.rate,
        fractionSteady: rateOf(at.slice(skipped)) / config.rate,
        skipped,
        cpuShare: cpuMs / r.elapsedMs,
        cpuMs,
        stored: r.stored
      }
      config.log(
        `  steady rate: ${figures.listRequests} requests, ${figures.status429} × 429, ${figures.fractionWhole.toFixed(3)} of the limit ` +
          `(whole run), ${figures.fractionSteady.toFixed(3)} (after the first ${skipped}); client CPU ${(figures.cpuShare * 100).toFixed(1)} % of ` +
          `${(r.elapsedMs / 1000).toFixed(1)} s`
      )
      return figures
    } finally {
      await runtime.dispose()
    }
  })

/** The figures' rows. */
export const steadyRateRows = (s: SteadyRateFigures): Array<Figure> => {
  const within = (x: number) => x >= 0.97 && x <= 1
  const k = `${s.meetings / 1000}k`
  return [
    {
      figure: `9. Steady rate-limited sync, ${k} (${s.listRequests} requests, concurrency ${s.concurrency}) at ${s.limitPerSecond}/s: rate / limit, whole run`,
      unit: "",
      ours: s.fractionWhole,
      baseline: null,
      ratio: s.fractionWhole,
      target: "0.97–1.0",
      pass: within(s.fractionWhole)
    },
    {
      figure: `9. Steady rate-limited sync: rate / limit after the first ${s.skipped} requests`,
      unit: "",
      ours: s.fractionSteady,
      baseline: null,
      ratio: s.fractionSteady,
      target: "0.97–1.0",
      pass: within(s.fractionSteady)
    },
    {
      figure: `9. Steady rate-limited sync: 429 responses`,
      unit: "",
      ours: s.status429,
      baseline: null,
      ratio: null,
      target: "0",
      pass: s.status429 === 0
    },
    {
      figure: `9. Steady rate-limited sync: client CPU (user + sys) / wall time (${(s.elapsedMs / 1000).toFixed(1)} s)`,
      unit: "",
      ours: s.cpuShare,
      baseline: null,
      ratio: null,
      target: "context",
      pass: true
    }
  ]
}
