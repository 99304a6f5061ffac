/**
 * The six measurements, parameterised by size so the smoke test can run them tiny. Every
 * measurement talks to a sandbox in its own process; RSS is measured in fresh child processes.
 */
import Database from "better-sqlite3"
import { rmSync } from "node:fs"
import { join } from "node:path"
import { baselineReader, syncBaseline } from "./Baseline.js"
import type { BaselineSyncResult } from "./Baseline.js"
import type { OfflineFigures } from "./Offline.js"
import { measureOffline } from "./Offline.js"
import { oursRuntime, principalOf, syncOurs, timeGets, timeQueries } from "./Ours.js"
import type { OursSyncResult } from "./Ours.js"
import { makeTempDir, removeDb } from "./Paths.js"
import type { SandboxProcess } from "./SandboxProcess.js"
import { startSandbox, withSandbox } from "./SandboxProcess.js"
import { cpuSince, median, percentile, sample } from "./Stats.js"
import type { ChildResult, Contender } from "./SyncChild.js"
import { runSyncChild } from "./ChildRunner.js"
import { measureColdStart } from "./ColdStart.js"
import type { ColdStartFigures } from "./ColdStart.js"
import { measureUpload } from "./UploadRss.js"
import { measureFallback } from "./Fallback.js"
import type { FallbackFigures } from "./Fallback.js"
import { measureSteadyRate } from "./SteadyRate.js"
import type { SteadyRateFigures } from "./SteadyRate.js"
import type { UploadFigures } from "./UploadRss.js"

export interface BenchConfig {
  /** Meetings in the sandbox for the sync and retrieve figures (20,000). */
  readonly syncMeetings: number
  /** Pages in flight, for both contenders (the cache's default is 4). */
  readonly concurrency: number
  /** Timed syncs per contender after one warm-up sync each. */
  readonly syncReps: number
  readonly retrieveWarmupOps: number
  readonly retrieveOps: number
  readonly retrieveReps: number
  /** Ids in the second, skewed retrieve workload (every get hits one of these; 0 skips it). */
  readonly retrieveHotSet: number
  /** Sizes for peak RSS, each in a fresh child (20k, 50k, 100k). The largest also feeds the query figure. */
  readonly rssSizes: ReadonlyArray<number>
  /** Also measure the baseline's peak RSS at each size (context only). */
  readonly rssBaseline: boolean
  readonly queryWarmup: number
  readonly queryIterations: number
  /** Results per query (100). */
  readonly queryLimit: number
  readonly rateLimitedMeetings: number
  /** The sandbox's documented limit: 25 requests per second. */
  readonly rate: number
  /** Timed runs of each CLI command for the cold-start figure (after one warm-up each). */
  readonly cliRuns: number
  /** Bytes of the transcript for the upload RSS figure (50 MB); unset or 0 skips it. */
  readonly uploadBytes?: number
  /** Timed reads per scenario of the fallback-latency figure (`Fallback.ts`); unset or 0 skips it. */
  readonly fallbackRuns?: number
  /** Meetings of the steady rate-limited sync (`SteadyRate.ts`, 20,000); unset or 0 skips it. */
  readonly steadyRateMeetings?: number
  /**
   * Only these parts (`pnpm bench --only sync,retrieve,rss`); all when unset. `retrieve` reads the
   * files the sync figure leaves, so it runs the syncs too; `query` reads the largest RSS file, so it
   * runs the RSS children too.
   */
  readonly only?: ReadonlyArray<BenchPart>
  /** Extra node flags for the RSS children (e.g. `--cpu-prof`). */
  readonly childNodeFlags?: ReadonlyArray<string>
  /** Progress lines (to stderr). */
  readonly log: (line: string) => void
}

/** The parts of the suite, as `--only` names them. */
export const benchParts = ["sync", "retrieve", "rss", "query", "rate", "cold", "upload", "fallback", "steady"] as const
export type BenchPart = (typeof benchParts)[number]

/** Whether `config` runs `part` (the parts a chosen part needs are run as well). */
export const runs = (config: Pick<BenchConfig, "only">, part: BenchPart): boolean => {
  const only = config.only
  if (only === undefined) return true
  if (only.includes(part)) return true
  if (part === "sync") return only.includes("retrieve")
  if (part === "rss") return only.includes("query")
  return false
}

export const fullConfig: Omit<BenchConfig, "log"> = {
  syncMeetings: 20_000,
  concurrency: 4,
  syncReps: 3,
  retrieveWarmupOps: 5_000,
  retrieveOps: 10_000,
  retrieveReps: 3,
  retrieveHotSet: 1_000,
  rssSizes: [20_000, 50_000, 100_000],
  uploadBytes: 50 * 1024 * 1024,
  rssBaseline: true,
  queryWarmup: 50,
  queryIterations: 500,
  queryLimit: 100,
  rateLimitedMeetings: 2_000,
  rate: 25,
  cliRuns: 9,
  fallbackRuns: 7,
  steadyRateMeetings: 20_000
}

export interface SyncFigures {
  readonly meetings: number
  readonly concurrency: number
  readonly ours: ReadonlyArray<OursSyncResult>
  readonly baseline: ReadonlyArray<BaselineSyncResult>
  readonly oursMedianMs: number
  readonly baselineMedianMs: number
  /** CPU time of the bench process during each sync (user + sys, `process.cpuUsage`), ms. */
  readonly oursCpuMs: ReadonlyArray<number>
  readonly baselineCpuMs: ReadonlyArray<number>
  /** Medians of the above per 1,000 meetings stored. */
  readonly oursCpuMsPer1000: number
  readonly baselineCpuMsPer1000: number
  /** The same sync without the network (`Offline.ts`). */
  readonly offline: OfflineFigures
  readonly serverCount: number
}

export interface LatencyFigures {
  readonly p50Ms: number
  readonly p99Ms: number
  readonly meanMs: number
}

export interface RetrieveFigures {
  readonly opsPerRep: number
  readonly reps: number
  /** Uniformly random ids over the whole cache. */
  readonly ours: LatencyFigures
  readonly baseline: LatencyFigures
  /** Random ids from a small working set (what an in-memory hot cache can serve). */
  readonly hotSet: { readonly size: number; readonly ours: LatencyFigures; readonly baseline: LatencyFigures } | null
}

export interface QueryFigures {
  readonly cachedMeetings: number
  readonly iterations: number
  readonly queries: ReadonlyArray<{ readonly organizer: string; readonly from: string; readonly to: string }>
  readonly resultSizes: ReadonlyArray<number>
  readonly ours: LatencyFigures
  /** The same SQL straight through better-sqlite3 + JSON.parse of each row, on the same file. */
  readonly rawSql: LatencyFigures
}

export interface RssFigures {
  readonly meetings: number
  readonly sandboxStartupMs: number
  readonly ours: ChildResult
  readonly baseline: ChildResult | null
  /** The baseline with our modules loaded and unused (`SyncChild.Contender`), when the baseline runs. */
  readonly baselineLoaded: ChildResult | null
}

export interface RateLimitedFigures {
  readonly meetings: number
  readonly limitPerSecond: number
  readonly listRequests: number
  readonly status429: number
  readonly otherErrors: number
  readonly elapsedMs: number
  /** (requests − 1) / (last − first request, sandbox log) / limit. */
  readonly fractionFromLog: number
  /** pages / wall time of the sync / limit. */
  readonly fractionFromWall: number
  /** Like `fractionFromLog` over the second half of the requests only (after the initial burst). */
  readonly fractionSteady: number
  readonly stored: number
}

/** Each part is `null` (`rss` empty) when `--only` left it out. */
export interface SuiteResults {
  readonly sync: SyncFigures | null
  readonly retrieve: RetrieveFigures | null
  readonly query: QueryFigures | null
  readonly rss: ReadonlyArray<RssFigures>
  readonly rateLimited: RateLimitedFigures | null
  readonly coldStart: ColdStartFigures | null
  /** `null` when `uploadBytes` is unset. */
  readonly upload: UploadFigures | null
  /** `null` when `fallbackRuns` is unset. */
  readonly fallback: FallbackFigures | null
  /** `null` when `steadyRateMeetings` is unset. */
  readonly steadyRate: SteadyRateFigures | null
  readonly sandboxStartupMs: Readonly<Record<string, number>>
}

const latency = (samples: ArrayLike<number>): LatencyFigures => {
  const xs = Array.from(samples)
  return {
    p50Ms: percentile(xs, 50),
    p99Ms: percentile(xs, 99),
    meanMs: xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
  }
}

/** Median of each figure over repetitions. */
const medianLatency = (reps: ReadonlyArray<LatencyFigures>): LatencyFigures => ({
  p50Ms: median(reps.map((r) => r.p50Ms)),
  p99Ms: median(reps.map((r) => r.p99Ms)),
  meanMs: median(reps.map((r) => r.meanMs))
})


// ---------------------------------------------------------------------------------------------
// 1. Full sync
// ---------------------------------------------------------------------------------------------

/**
 * Warm-up sync of each contender, then `reps` timed syncs each, alternating, every one into a fresh
 * file. Leaves the last files in place for the retrieve figure and returns their names.
 */
export const measureSync = async (
  config: BenchConfig,
  sandbox: SandboxProcess,
  dir: string
): Promise<{ readonly figures: SyncFigures; readonly oursDb: string; readonly baselineDb: string }> => {
  const ours: Array<OursSyncResult> = []
  const baseline: Array<BaselineSyncResult> = []
  const oursCpu: Array<number> = []
  const baselineCpu: Array<number> = []
  let oursDb = ""
  let baselineDb = ""
  for (let rep = 0; rep <= config.syncReps; rep++) {
    const warm = rep === 0
    if (oursDb !== "") removeDb(oursDb)
    if (baselineDb !== "") removeDb(baselineDb)
    oursDb = join(dir, `ours-sync-${rep}.db`)
    baselineDb = join(dir, `baseline-sync-${rep}.db`)
    // Alternate who goes first so drift (thermal, other load) does not favour one side.
    const order = rep % 2 === 0 ? (["ours", "baseline"] as const) : (["baseline", "ours"] as const)
    /** One timed sync: wall time from the contender, CPU around it, logged; kept unless it is the warm-up. */
    const timed = async <R extends OursSyncResult>(
      who: string,
      into: { readonly runs: Array<R>; readonly cpu: Array<number> },
      sync: () => Promise<R>
    ) => {
      const cpu = process.cpuUsage()
      const r = await sync()
      const cpuMs = cpuSince(cpu)
      config.log(
        `  sync ${who} ${warm ? "(warm-up)" : `#${rep}`}: ${(r.elapsedMs / 1000).toFixed(2)} s, CPU ${(cpuMs / 1000).toFixed(2)} s, ${r.stored} stored`
      )
      if (!warm) {
        into.runs.push(r)
        into.cpu.push(cpuMs)
      }
    }
    for (const who of order) {
      if (who === "ours") {
        const runtime = oursRuntime({ baseUrl: sandbox.baseUrl, apiKey: sandbox.adminKey, filename: oursDb, rate: false })
        try {
          await runtime.runtime()
          await timed("ours", { runs: ours, cpu: oursCpu }, () => syncOurs(runtime, config.concurrency))
        } finally {
          await runtime.dispose()
        }
      } else {
        await timed("baseline", { runs: baseline, cpu: baselineCpu }, () =>
          syncBaseline({
            baseUrl: sandbox.baseUrl,
            apiKey: sandbox.adminKey,
            filename: baselineDb,
            concurrency: config.concurrency
          }))
      }
    }
  }
  const serverCount = await sandbox.totalCount()
  // The same sync without the network: the same pages, stored by each contender.
  const offline = await measureOffline(sandbox, dir, config.syncReps, config.concurrency, config.log)
  return {
    figures: {
      meetings: config.syncMeetings,
      concurrency: config.concurrency,
      ours,
      baseline,
      oursMedianMs: median(ours.map((r) => r.elapsedMs)),
      baselineMedianMs: median(baseline.map((r) => r.elapsedMs)),
      oursCpuMs: oursCpu,
      baselineCpuMs: baselineCpu,
      oursCpuMsPer1000: (median(oursCpu) * 1000) / Math.max(1, median(ours.map((r) => r.stored))),
      baselineCpuMsPer1000: (median(baselineCpu) * 1000) / Math.max(1, median(baseline.map((r) => r.stored))),
      offline,
      serverCount
    },
    oursDb,
    baselineDb
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Cached retrieve by id
// ---------------------------------------------------------------------------------------------

export const measureRetrieve = async (
  config: BenchConfig,
  sandbox: SandboxProcess,
  oursDb: string,
  baselineDb: string
): Promise<RetrieveFigures> => {
  const reader = baselineReader(baselineDb)
  // Network on (CacheFirst never needs it for a cached id: `timeGets` dies if it does).
  const runtime = oursRuntime({ baseUrl: sandbox.baseUrl, apiKey: sandbox.adminKey, filename: oursDb, rate: false })
  try {
    const ids = reader.ids()
    /** Warm-up, then `reps` alternating timed batches drawn from `pool`; medians of p50/p99/mean. */
    const workload = async (pool: ReadonlyArray<string>, seed: number) => {
      const warm = sample(pool, config.retrieveWarmupOps, seed)
      await timeGets(runtime, warm)
      for (const id of warm) reader.get(id)
      const oursReps: Array<LatencyFigures> = []
      const baseReps: Array<LatencyFigures> = []
      for (let rep = 0; rep < config.retrieveReps; rep++) {
        const batch = sample(pool, config.retrieveOps, seed + 1 + rep)
        const runOurs = async () => oursReps.push(latency(await timeGets(runtime, batch)))
        const runBase = () => {
          const samples = new Float64Array(batch.length)
          for (let i = 0; i < batch.length; i++) {
            const t0 = performance.now()
            const m = reader.get(batch[i]!)
            samples[i] = performance.now() - t0
            if (m === undefined) throw new Error(`baseline: ${batch[i]} missing`)
          }
          baseReps.push(latency(samples))
        }
        if (rep % 2 === 0) {
          await runOurs()
          runBase()
        } else {
          runBase()
          await runOurs()
        }
      }
      return { ours: medianLatency(oursReps), baseline: medianLatency(baseReps) }
    }
    const uniform = await workload(ids, 7)
    // Every (n / hotSet)-th id: a spread-out working set that fits the repo's in-memory hot cache.
    const step = Math.max(1, Math.floor(ids.length / Math.max(1, config.retrieveHotSet)))
    const hotIds = ids.filter((_, i) => i % step === 0).slice(0, config.retrieveHotSet)
    const hot = config.retrieveHotSet > 0 ? await workload(hotIds, 1000) : null
    const figures: RetrieveFigures = {
      opsPerRep: config.retrieveOps,
      reps: config.retrieveReps,
      ours: uniform.ours,
      baseline: uniform.baseline,
      hotSet: hot === null ? null : { size: hotIds.length, ...hot }
    }
    const us = (l: LatencyFigures) => `${(l.p50Ms * 1000).toFixed(1)} µs`
    config.log(`  retrieve p50 ours ${us(figures.ours)}, baseline ${us(figures.baseline)}`)
    if (hot !== null) config.log(`  retrieve (hot set) p50 ours ${us(hot.ours)}, baseline ${us(hot.baseline)}`)
    return figures
  } finally {
    reader.close()
    await runtime.dispose()
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Local query
// ---------------------------------------------------------------------------------------------

/** Date range plus organizer over the cache file a sync left, `limit` results each. */
export const measureQuery = async (
  config: BenchConfig,
  sandbox: Pick<SandboxProcess, "baseUrl" | "adminKey">,
  oursDb: string
): Promise<QueryFigures> => {
  const runtime = oursRuntime({ baseUrl: sandbox.baseUrl, apiKey: sandbox.adminKey, filename: oursDb, rate: false })
  const db = new Database(oursDb, { readonly: true })
  try {
    const principal = await principalOf(runtime)
    const cached = (db.prepare("SELECT COUNT(*) AS n FROM meetings WHERE principal = ? AND gone = 0").get(principal) as {
      n: number
    }).n
    // The busiest organizers, and the middle half of the start dates: each query has far more
    // than `limit` matches, so every answer is a full page served through the organizer index.
    const organizers = (db.prepare(
      `SELECT organizer, COUNT(*) AS n FROM meetings WHERE principal = ? AND gone = 0 AND organizer IS NOT NULL
       GROUP BY organizer ORDER BY n DESC LIMIT 5`
    ).all(principal) as Array<{ organizer: string; n: number }>).map((r) => r.organizer)
    const span = db.prepare(
      "SELECT MIN(start_date) AS lo, MAX(start_date) AS hi FROM meetings WHERE principal = ? AND gone = 0"
    ).get(principal) as { lo: number; hi: number }
    const from = new Date(span.lo + (span.hi - span.lo) * 0.25)
    const to = new Date(span.lo + (span.hi - span.lo) * 0.75)
    const queries = organizers.map((organizer) => ({ organizer, from, to, limit: config.queryLimit }))
    await timeQueries(runtime, queries, config.queryWarmup)
    const { samples, sizes } = await timeQueries(runtime, queries, config.queryIterations)

    const raw = db.prepare(`SELECT m.id, m.body, m.fetched_at, m.pending, m.gone, m.written_at FROM meetings m
      WHERE m.principal = ? AND m.gone = 0 AND m.start_date >= ? AND m.start_date < ? AND m.organizer = ?
      ORDER BY m.start_date DESC, m.id DESC LIMIT ? OFFSET 0`)
    const runRaw = (i: number) => {
      const q = queries[i % queries.length]!
      const rows = raw.all(principal, from.getTime(), to.getTime(), q.organizer, config.queryLimit) as Array<{
        body: string
      }>
      return rows.map((r) => JSON.parse(r.body) as unknown)
    }
    for (let i = 0; i < config.queryWarmup; i++) runRaw(i)
    const rawSamples = new Float64Array(config.queryIterations)
    for (let i = 0; i < config.queryIterations; i++) {
      const t0 = performance.now()
      runRaw(i)
      rawSamples[i] = performance.now() - t0
    }
    const figures: QueryFigures = {
      cachedMeetings: cached,
      iterations: config.queryIterations,
      queries: queries.map((q) => ({ organizer: q.organizer, from: from.toISOString(), to: to.toISOString() })),
      resultSizes: [...new Set(sizes)],
      ours: latency(samples),
      rawSql: latency(rawSamples)
    }
    config.log(
      `  query p50 ours ${figures.ours.p50Ms.toFixed(2)} ms, raw SQL ${figures.rawSql.p50Ms.toFixed(2)} ms (${cached} cached)`
    )
    return figures
  } finally {
    db.close()
    await runtime.dispose()
  }
}

// ---------------------------------------------------------------------------------------------
// 4. Peak RSS
// ---------------------------------------------------------------------------------------------

export const measureRss = async (
  config: BenchConfig,
  sandbox: SandboxProcess,
  dir: string
): Promise<{ readonly figures: RssFigures; readonly oursDb: string }> => {
  const n = await sandbox.totalCount()
  const oursDb = join(dir, `ours-rss-${n}.db`)
  const baselineDb = join(dir, `baseline-rss-${n}.db`)
  const common = {
    baseUrl: sandbox.baseUrl,
    apiKey: sandbox.adminKey,
    concurrency: config.concurrency,
    ...(config.childNodeFlags === undefined ? {} : { nodeFlags: config.childNodeFlags })
  }
  const ours = await runSyncChild({ ...common, mode: "ours", filename: oursDb })
  config.log(
    `  rss ours ${n}: peak ${(ours.maxRssBytes / 2 ** 20).toFixed(0)} MB, sync ${(ours.elapsedMs / 1000).toFixed(1)} s`
  )
  const runBaseline = async (mode: Exclude<Contender, "ours">) => {
    const run = await runSyncChild({ ...common, mode, filename: baselineDb })
    removeDb(baselineDb)
    config.log(
      `  rss ${mode} ${n}: peak ${(run.maxRssBytes / 2 ** 20).toFixed(0)} MB, sync ${(run.elapsedMs / 1000).toFixed(1)} s`
    )
    return run
  }
  const baseline = config.rssBaseline ? await runBaseline("baseline") : null
  const baselineLoaded = config.rssBaseline ? await runBaseline("baselineLoaded") : null
  return { figures: { meetings: n, sandboxStartupMs: sandbox.startupMs, ours, baseline, baselineLoaded }, oursDb }
}

// ---------------------------------------------------------------------------------------------
// 5. Rate-limited sync
// ---------------------------------------------------------------------------------------------

export const measureRateLimited = async (config: BenchConfig, dir: string): Promise<RateLimitedFigures> =>
  withSandbox({ meetings: config.rateLimitedMeetings, rate: config.rate }, async (sandbox) => {
    const filename = join(dir, "ours-rate-limited.db")
    // The library's own client-side limiter at its default (25/s), as an application would run it.
    const runtime = oursRuntime({ baseUrl: sandbox.baseUrl, apiKey: sandbox.adminKey, filename, rate: config.rate })
    try {
      await runtime.runtime()
      await sandbox.clearRequests()
      const r = await syncOurs(runtime, config.concurrency)
      const log = (await sandbox.requests()).filter((q) => q.method === "GET" && q.path === "/v1/meetings")
      const first = log[0]?.at ?? 0
      const last = log[log.length - 1]?.at ?? 0
      const perSecond = log.length > 1 && last > first ? ((log.length - 1) * 1000) / (last - first) : Number.NaN
      const half = log.slice(Math.floor(log.length / 2))
      const halfSpan = (half[half.length - 1]?.at ?? 0) - (half[0]?.at ?? 0)
      const steady = half.length > 1 && halfSpan > 0 ? ((half.length - 1) * 1000) / halfSpan : Number.NaN
      const figures: RateLimitedFigures = {
        meetings: config.rateLimitedMeetings,
        limitPerSecond: config.rate,
        listRequests: log.length,
        status429: log.filter((q) => q.status === 429).length,
        otherErrors: log.filter((q) => q.status !== 200 && q.status !== 429).length,
        elapsedMs: r.elapsedMs,
        fractionFromLog: perSecond / config.rate,
        fractionFromWall: (r.pages * 1000) / r.elapsedMs / config.rate,
        fractionSteady: steady / config.rate,
        stored: r.stored
      }
      config.log(
        `  rate-limited: ${figures.listRequests} requests, ${figures.status429} × 429, ${
          figures.fractionFromLog.toFixed(3)
        } of the limit (log), ${figures.fractionFromWall.toFixed(3)} (wall)`
      )
      return figures
    } finally {
      await runtime.dispose()
    }
  })

// ---------------------------------------------------------------------------------------------
// All of it
// ---------------------------------------------------------------------------------------------

export const runSuite = async (config: BenchConfig): Promise<SuiteResults> => {
  const dir = makeTempDir("run")
  const startup: Record<string, number> = {}
  try {
    const rss: Array<RssFigures> = []
    const rssDbs = new Map<number, string>()
    // The key the RSS files were synced with (their principal); the query figure reads them with it.
    let adminKey = ""
    let sync: SyncFigures | null = null
    let retrieve: RetrieveFigures | null = null

    if (runs(config, "sync") || (runs(config, "rss") && config.rssSizes.includes(config.syncMeetings))) {
      config.log(`[1/6] full sync of ${config.syncMeetings} meetings, [2/6] cached retrieve by id`)
      const main = await startSandbox({ meetings: config.syncMeetings, rate: 0 })
      adminKey = main.adminKey
      startup[String(config.syncMeetings)] = main.startupMs
      config.log(`  sandbox with ${config.syncMeetings} meetings up in ${(main.startupMs / 1000).toFixed(1)} s`)
      try {
        if (runs(config, "sync")) {
          const synced = await measureSync(config, main, dir)
          sync = synced.figures
          if (runs(config, "retrieve")) retrieve = await measureRetrieve(config, main, synced.oursDb, synced.baselineDb)
          removeDb(synced.oursDb)
          removeDb(synced.baselineDb)
        }
        if (runs(config, "rss") && config.rssSizes.includes(config.syncMeetings)) {
          config.log(`[4/6] peak RSS, ${config.syncMeetings} meetings`)
          const r = await measureRss(config, main, dir)
          rss.push(r.figures)
          rssDbs.set(config.syncMeetings, r.oursDb)
        }
      } finally {
        await main.stop()
      }
    }

    if (runs(config, "rss")) {
      for (const n of config.rssSizes) {
        if (n === config.syncMeetings) continue
        config.log(`[4/6] peak RSS, ${n} meetings`)
        await withSandbox({ meetings: n, rate: 0 }, async (sandbox) => {
          startup[String(n)] = sandbox.startupMs
          adminKey = sandbox.adminKey
          config.log(`  sandbox with ${n} meetings up in ${(sandbox.startupMs / 1000).toFixed(1)} s`)
          const r = await measureRss(config, sandbox, dir)
          rss.push(r.figures)
          rssDbs.set(n, r.oursDb)
        })
      }
      rss.sort((a, b) => a.meetings - b.meetings)
    }

    let query: QueryFigures | null = null
    if (runs(config, "query")) {
      const largest = Math.max(...config.rssSizes)
      config.log(`[3/6] local query over the ${largest}-meeting cache`)
      // The query never touches the network; a closed port only satisfies the layer.
      query = await measureQuery(config, { baseUrl: "http://127.0.0.1:9", adminKey }, rssDbs.get(largest)!)
    }

    let rateLimited: RateLimitedFigures | null = null
    if (runs(config, "rate")) {
      config.log(`[5/6] rate-limited sync of ${config.rateLimitedMeetings} meetings at ${config.rate}/s`)
      rateLimited = await measureRateLimited(config, dir)
    }

    let coldStart: ColdStartFigures | null = null
    if (runs(config, "cold")) {
      config.log(`[6/6] CLI cold start (built bin, plain node), ${config.cliRuns} runs each`)
      const cold = await withSandbox({ meetings: 200, rate: 0 }, (sandbox) => measureColdStart(config.cliRuns, sandbox, dir))
      config.log(
        `  node -e 0 ${cold.nodeMedianMs.toFixed(0)} ms, --help ${cold.helpMedianMs.toFixed(0)} ms, ` +
          `get (warm cache) ${cold.getMedianMs.toFixed(0)} ms (medians; CPU ${cold.helpCpuMedianMs.toFixed(0)} and ` +
          `${cold.getCpuMedianMs.toFixed(0)} ms)`
      )
      coldStart = cold
    }

    const uploadBytes = config.uploadBytes ?? 0
    const upload = uploadBytes > 0 && runs(config, "upload") ? await measureUpload(uploadBytes, config.log) : null

    const fallbackRuns = config.fallbackRuns ?? 0
    let fallback: FallbackFigures | null = null
    if (fallbackRuns > 0 && runs(config, "fallback")) {
      config.log(`[8] NetworkFirst fallback latency, sandbox slow (5 s) and stopped, ${fallbackRuns} runs each`)
      fallback = await measureFallback({ runs: fallbackRuns, slowMillis: 5_000, networkTimeoutMillis: 500, log: config.log }, dir)
    }
    const steadyMeetings = config.steadyRateMeetings ?? 0
    let steadyRate: SteadyRateFigures | null = null
    if (steadyMeetings > 0 && runs(config, "steady")) {
      config.log(`[9] steady rate-limited sync of ${steadyMeetings} meetings at ${config.rate}/s`)
      // Twice the sync's page concurrency: the limit, not a loaded sandbox's latency, bounds it.
      steadyRate = await measureSteadyRate({ meetings: steadyMeetings, rate: config.rate, concurrency: 2 * config.concurrency, log: config.log }, dir)
    }

    return { sync, retrieve, query, rss, rateLimited, coldStart, upload, fallback, steadyRate, sandboxStartupMs: startup }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
