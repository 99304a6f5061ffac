/**
 * One sync in a fresh process, reporting its own peak RSS: `sync-child.ts <ours|baseline> <baseUrl>
 * <apiKey> <dbFile> <concurrency>`. The parent reads the last `RESULT {json}` line of stdout.
 *
 * Each contender's modules are imported on demand, so the baseline child never loads Effect. The
 * parent runs this file as a plain-node esbuild bundle (see `ChildRunner.ts`), not through tsx.
 */

export type Contender = "ours" | "baseline"

export interface ChildResult {
  readonly mode: Contender
  readonly stored: number
  readonly pages: number
  readonly elapsedMs: number
  /** `process.resourceUsage().maxRSS`, bytes: the peak over the child's whole life. */
  readonly maxRssBytes: number
  /** Highest `process.memoryUsage().rss` sampled every 10 ms during the sync. */
  readonly sampledPeakRssBytes: number
  /** RSS after loading the modules (and, for ours, building the layer), just before the sync. */
  readonly rssBeforeSyncBytes: number
  /** CPU time of the sync itself (user + sys, `process.cpuUsage` around it), ms. */
  readonly cpuMs: number
  /** `cpuMs` per 1,000 meetings stored. */
  readonly cpuMsPer1000: number
  /** `process.memoryUsage()` at the sampled peak (bytes): where the memory was. */
  readonly atPeak: { readonly heapTotal: number; readonly heapUsed: number; readonly external: number; readonly arrayBuffers: number }
}

export const resultPrefix = "RESULT "

/** The child's body (called from `bench/sync-child.ts`). */
export const childMain = async (argv: ReadonlyArray<string>): Promise<void> => {
  const [mode, baseUrl, apiKey, filename, concurrencyArg] = argv
  if ((mode !== "ours" && mode !== "baseline") || !baseUrl || !apiKey || !filename) {
    throw new Error("usage: sync-child.ts <ours|baseline> <baseUrl> <apiKey> <dbFile> [concurrency]")
  }
  const concurrency = Number(concurrencyArg ?? 4)
  let peak = 0
  let atPeak: ChildResult["atPeak"] = { heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 }
  const sample = () => {
    const rss = process.memoryUsage.rss()
    if (rss <= peak) return
    peak = rss
    const m = process.memoryUsage()
    atPeak = { heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers }
  }
  sample()
  const sampler = setInterval(sample, 10)
  try {
    let result: { readonly pages: number; readonly stored: number; readonly elapsedMs: number }
    let before: number
    let cpu: NodeJS.CpuUsage
    if (mode === "ours") {
      const { oursRuntime, syncOurs } = await import("./Ours.js")
      const runtime = oursRuntime({ baseUrl, apiKey, filename, rate: false })
      try {
        await runtime.runtime()
        before = process.memoryUsage.rss()
        const cpu0 = process.cpuUsage()
        result = await syncOurs(runtime, concurrency)
        cpu = process.cpuUsage(cpu0)
      } finally {
        await runtime.dispose()
      }
    } else {
      const { syncBaseline } = await import("./Baseline.js")
      before = process.memoryUsage.rss()
      const cpu0 = process.cpuUsage()
      result = await syncBaseline({ baseUrl, apiKey, filename, concurrency })
      cpu = process.cpuUsage(cpu0)
    }
    sample()
    const cpuMs = (cpu.user + cpu.system) / 1000
    const out: ChildResult = {
      mode,
      stored: result.stored,
      pages: result.pages,
      elapsedMs: result.elapsedMs,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      sampledPeakRssBytes: peak,
      rssBeforeSyncBytes: before,
      cpuMs,
      cpuMsPer1000: result.stored === 0 ? 0 : (cpuMs * 1000) / result.stored,
      atPeak
    }
    process.stdout.write(`${resultPrefix}${JSON.stringify(out)}\n`)
  } finally {
    clearInterval(sampler)
  }
}

