/**
 * The fleet figures (issue 13): a sync of 20k meetings into PostgreSQL beside a plain-`pg`
 * baseline writing the same rows (`PgBaseline.ts`), and four worker processes
 * (`fleet/child/worker.ts`, the fleet suite's worker) syncing at once on one PostgreSQL mirror with
 * one Redis budget against the sandbox at 25/s, beside one worker alone.
 *
 * Servers: `LIGHTFIELD_BENCH_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`, where
 * the scratch databases are made and dropped) and `LIGHTFIELD_BENCH_REDIS_URL` (default
 * `redis://127.0.0.1:6379`, a key prefix of the run's own, removed afterwards).
 */
import { spawn } from "node:child_process"
import { join } from "node:path"
import { Database, MeetingsCache } from "@lightfield-effect/cache"
import { MeetingsClient } from "@lightfield-effect/core"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, Layer, Logger, LogLevel, ManagedRuntime, Redacted } from "effect"
import { Redis } from "ioredis"
import type { BaselineSyncResult } from "./Baseline.js"
import { repoRoot, tsNodeArgs } from "./Paths.js"
import { reachable, scratchDatabase, syncPgBaseline } from "./PgBaseline.js"
import type { SandboxProcess } from "./SandboxProcess.js"
import { withSandbox } from "./SandboxProcess.js"
import { median } from "./Stats.js"

export const pgUrl = process.env["LIGHTFIELD_BENCH_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres"
export const redisUrl = process.env["LIGHTFIELD_BENCH_REDIS_URL"] ?? "redis://127.0.0.1:6379"

export interface FleetConfig {
  /** Meetings for the PostgreSQL sync figure (20,000). */
  readonly pgMeetings: number
  /** Timed syncs per contender, after one warm-up each. */
  readonly pgReps: number
  readonly concurrency: number
  /** Meetings for the four-worker figure (at 25/s: 25 per page, one page per request). */
  readonly workerMeetings: number
  readonly rate: number
  readonly log: (line: string) => void
}

export interface PgSyncFigures {
  readonly meetings: number
  readonly ours: ReadonlyArray<{ readonly elapsedMs: number; readonly stored: number }>
  readonly baseline: ReadonlyArray<BaselineSyncResult>
  readonly oursMedianMs: number
  readonly baselineMedianMs: number
}

export interface WorkerFigures {
  readonly meetings: number
  readonly workers: number
  /** List requests of one worker's sync alone. */
  readonly soloListRequests: number
  readonly soloMs: number
  /** List requests the sandbox saw while all four synced at once. */
  readonly fleetListRequests: number
  readonly fleetMs: number
  readonly fleet429: number
  readonly solo429: number
  readonly joined: number
  /** Meetings each worker served from the mirror afterwards. */
  readonly served: ReadonlyArray<number>
}

export interface FleetFigures {
  readonly pgSync: PgSyncFigures
  readonly workers: WorkerFigures
}

/** Whether the fleet figures can run here (PostgreSQL reachable). */
export const available = (): Promise<boolean> => reachable(pgUrl)

// ---------------------------------------------------------------------------------------------
// PostgreSQL sync: ours beside plain pg
// ---------------------------------------------------------------------------------------------

const syncOursPg = async (sandbox: SandboxProcess, url: string, concurrency: number) => {
  const apiKey = Redacted.make(sandbox.adminKey)
  const runtime = ManagedRuntime.make(
    MeetingsCache.layer({ apiKey }).pipe(
      Layer.provide(MeetingsClient.layer({ apiKey, baseUrl: sandbox.baseUrl, rate: false }).pipe(Layer.provide(NodeHttpClient.layerUndici))),
      Layer.provide(Database.layer({ url, maxConnections: concurrency })),
      Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
    )
  )
  try {
    return await runtime.runPromise(Effect.gen(function*() {
      const cache = yield* MeetingsCache.MeetingsCache
      const started = performance.now()
      yield* cache.sync({ concurrency })
      const elapsedMs = performance.now() - started
      return { elapsedMs, stored: (yield* cache.stats).meetings }
    }))
  } finally {
    await runtime.dispose()
  }
}

export const measurePgSync = (config: FleetConfig): Promise<PgSyncFigures> =>
  withSandbox({ meetings: config.pgMeetings, rate: 0 }, async (sandbox) => {
    const ours: Array<{ elapsedMs: number; stored: number }> = []
    const baseline: Array<BaselineSyncResult> = []
    // Interleaved, each into a database of its own (a first sync: every row is an insert).
    for (let rep = 0; rep <= config.pgReps; rep++) {
      const a = await scratchDatabase(pgUrl, "ours")
      try {
        const r = await syncOursPg(sandbox, a.url, config.concurrency)
        if (r.stored !== config.pgMeetings) throw new Error(`ours stored ${r.stored} of ${config.pgMeetings}`)
        if (rep > 0) ours.push(r)
        config.log(`  ours into PostgreSQL ${rep === 0 ? "(warm-up) " : ""}${(r.elapsedMs / 1000).toFixed(2)} s`)
      } finally {
        await a.drop()
      }
      const b = await scratchDatabase(pgUrl, "pg")
      try {
        const r = await syncPgBaseline({ baseUrl: sandbox.baseUrl, apiKey: sandbox.adminKey, url: b.url, concurrency: config.concurrency })
        if (r.stored !== config.pgMeetings) throw new Error(`baseline stored ${r.stored} of ${config.pgMeetings}`)
        if (rep > 0) baseline.push(r)
        config.log(`  plain pg ${rep === 0 ? "(warm-up) " : ""}${(r.elapsedMs / 1000).toFixed(2)} s`)
      } finally {
        await b.drop()
      }
    }
    return {
      meetings: config.pgMeetings,
      ours,
      baseline,
      oursMedianMs: median(ours.map((r) => r.elapsedMs)),
      baselineMedianMs: median(baseline.map((r) => r.elapsedMs))
    }
  })

// ---------------------------------------------------------------------------------------------
// Four workers on one mirror and one budget
// ---------------------------------------------------------------------------------------------

interface BenchWorker {
  readonly run: <A>(job: object) => Promise<A>
  readonly stop: () => void
}

const workerEntry = join(repoRoot, "fleet", "child", "worker.ts")

/** A worker process (the `serve` protocol: one JSON job per line, answered `DONE <json>`). */
const startWorker = (): BenchWorker => {
  const child = spawn(process.execPath, tsNodeArgs(workerEntry), {
    cwd: repoRoot,
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, NODE_NO_WARNINGS: "1" }
  })
  let buffer = ""
  let stderr = ""
  const waiting: Array<(line: string) => void> = []
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    buffer += chunk
    let at = buffer.indexOf("\n")
    while (at >= 0) {
      const line = buffer.slice(0, at)
      buffer = buffer.slice(at + 1)
      if (/^(DONE|FAILED|DEFECT)\b/.test(line)) waiting.shift()?.(line)
      at = buffer.indexOf("\n")
    }
  })
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000)
  })
  return {
    run: <A>(job: object) =>
      new Promise<A>((resolve, reject) => {
        const onExit = () => reject(new Error(`worker exited: ${stderr}`))
        child.once("exit", onExit)
        waiting.push((line) => {
          child.off("exit", onExit)
          if (line.startsWith("DONE ")) resolve(JSON.parse(line.slice(5)) as A)
          else reject(new Error(`worker: ${line} ${stderr}`))
        })
        child.stdin.write(`${JSON.stringify(job)}\n`)
      }),
    stop: () => {
      child.stdin.end()
      child.kill("SIGTERM")
    }
  }
}

interface Synced {
  readonly joined: boolean
}

export const measureWorkers = (config: FleetConfig): Promise<WorkerFigures> =>
  withSandbox({ meetings: config.workerMeetings, rate: config.rate }, async (sandbox) => {
    const prefix = `lf-bench:${process.pid}_${Date.now().toString(36)}:`
    const open = (dbUrl: string) => ({
      op: "open",
      baseUrl: sandbox.baseUrl,
      apiKey: sandbox.adminKey,
      dbUrl,
      redisUrl,
      redisPrefix: prefix,
      organization: "org_acme"
    })
    const lists = async () => (await sandbox.requests()).filter((r) => r.method === "GET" && r.path === "/v1/meetings")
    const soloDb = await scratchDatabase(pgUrl, "solo")
    const fleetDb = await scratchDatabase(pgUrl, "fleet")
    const workers: Array<BenchWorker> = []
    try {
      const solo = startWorker()
      workers.push(solo)
      await solo.run({ ...open(soloDb.url) })
      await sandbox.clearRequests()
      let t0 = performance.now()
      await solo.run<Synced>({ op: "sync" })
      const soloMs = performance.now() - t0
      const soloLists = await lists()
      config.log(`  one worker alone: ${soloLists.length} list requests, ${(soloMs / 1000).toFixed(2)} s`)

      const four = Array.from({ length: 4 }, startWorker)
      workers.push(...four)
      await Promise.all(four.map((w) => w.run(open(fleetDb.url))))
      await sandbox.clearRequests()
      t0 = performance.now()
      const synced = await Promise.all(four.map((w) => w.run<Synced>({ op: "sync" })))
      const fleetMs = performance.now() - t0
      const fleetLists = await lists()
      const served = await Promise.all(four.map((w) => w.run<{ readonly served: number }>({ op: "count" })))
      config.log(`  four at once: ${fleetLists.length} list requests, ${(fleetMs / 1000).toFixed(2)} s`)
      return {
        meetings: config.workerMeetings,
        workers: four.length,
        soloListRequests: soloLists.length,
        soloMs,
        solo429: soloLists.filter((r) => r.status === 429).length,
        fleetListRequests: fleetLists.length,
        fleetMs,
        fleet429: fleetLists.filter((r) => r.status === 429).length,
        joined: synced.filter((s) => s.joined).length,
        served: served.map((s) => s.served)
      }
    } finally {
      for (const w of workers) w.stop()
      await soloDb.drop()
      await fleetDb.drop()
      const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 })
      const keys = await redis.keys(`${prefix}*`)
      if (keys.length > 0) await redis.unlink(...keys)
      await redis.quit()
    }
  })

export const runFleet = async (config: FleetConfig): Promise<FleetFigures> => {
  config.log(`[fleet 1/2] sync of ${config.pgMeetings} meetings into PostgreSQL, beside plain pg`)
  const pgSync = await measurePgSync(config)
  config.log(`[fleet 2/2] four worker processes syncing at once, ${config.workerMeetings} meetings at ${config.rate}/s`)
  const workers = await measureWorkers(config)
  return { pgSync, workers }
}
