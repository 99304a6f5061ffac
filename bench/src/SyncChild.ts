/**
 * One sync in a fresh process, reporting its own peak RSS: `sync-child.ts <ours|baseline|baselineLoaded> <baseUrl>
 * <apiKey> <dbFile> <concurrency>`. The parent reads the last `RESULT {json}` line of stdout.
 *
 * Each contender's modules are imported on demand, so the baseline child never loads Effect. The
 * parent runs this file as a plain-node esbuild bundle (see `ChildRunner.ts`), not through tsx.
 */

import { constants as perfConstants, PerformanceObserver } from "node:perf_hooks"
import { getHeapSpaceStatistics } from "node:v8"

/**
 * `baselineLoaded`: the baseline's sync with our stack's modules (ours, effect, @effect/platform-node,
 * @effect/sql) imported first and never used: what loading them costs (their source strings,
 * bytecode, and a young generation grown while they load), so the gap between it and `ours` is
 * what the library's work during the sync adds.
 */
export type Contender = "ours" | "baseline" | "baselineLoaded"

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
  /** `process.memoryUsage()` and V8's two generations at the sampled peak (bytes): where the memory was. */
  readonly atPeak: {
    readonly heapTotal: number
    readonly heapUsed: number
    readonly external: number
    readonly arrayBuffers: number
    /** Bytes used in V8's other spaces (old, code, large-object, read-only) at the sampled peak. */
    readonly oldUsed: number
    /** Bytes used in V8's young generation (new and new large-object spaces) at the sampled peak. */
    readonly youngUsed: number
  }
  /**
   * Diagnostics (not a figure): garbage collections over the child's life, by kind. Many major GCs
   * with a high `oldUsed` at the peak mean short-lived objects outlived the young generation (were
   * promoted) and piled up in the old one until a mark-compact.
   */
  readonly gc: { readonly minor: number; readonly major: number }
}

export const resultPrefix = "RESULT "

/** The child's body (called from `bench/sync-child.ts`). */
export const childMain = async (argv: ReadonlyArray<string>): Promise<void> => {
  const [mode, baseUrl, apiKey, filename, concurrencyArg] = argv
  if ((mode !== "ours" && mode !== "baseline" && mode !== "baselineLoaded") || !baseUrl || !apiKey || !filename) {
    throw new Error("usage: sync-child.ts <ours|baseline|baselineLoaded> <baseUrl> <apiKey> <dbFile> [concurrency]")
  }
  const concurrency = Number(concurrencyArg ?? 4)
  let peak = 0
  let atPeak: ChildResult["atPeak"] = { heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0, oldUsed: 0, youngUsed: 0 }
  const sample = () => {
    const rss = process.memoryUsage.rss()
    if (rss <= peak) return
    peak = rss
    const m = process.memoryUsage()
    let oldUsed = 0
    let youngUsed = 0
    for (const space of getHeapSpaceStatistics()) {
      if (space.space_name.startsWith("new_")) youngUsed += space.space_used_size
      else oldUsed += space.space_used_size
    }
    atPeak = { heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, oldUsed, youngUsed }
  }
  const gc = { minor: 0, major: 0 }
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      // A "gc" entry carries `detail.kind` (Node's `NodeGCPerformanceDetail`); the type does not say so.
      const kind = (entry as { readonly detail?: { readonly kind?: number } }).detail?.kind
      if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) gc.minor++
      else if (kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) gc.major++
    }
  })
  gcObserver.observe({ entryTypes: ["gc"] })
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
      // Held in a global so that nothing can drop the import; it is never called.
      if (mode === "baselineLoaded") Object.assign(globalThis, { benchLoadedStack: (await import("./Ours.js")).oursLayer })
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
      atPeak,
      gc: { ...gc }
    }
    process.stdout.write(`${resultPrefix}${JSON.stringify(out)}\n`)
  } finally {
    clearInterval(sampler)
    gcObserver.disconnect()
  }
}

