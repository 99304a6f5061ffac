/**
 * The sync without the network: both contenders store the same pages, fetched once beforehand and
 * held in memory as parsed JSON, so what is left is the sync engine and the store. Ours runs
 * `MeetingsCache.sync` unchanged over a `Meetings` whose `streamWire` emits those pages (with the
 * progress events core's scan sends); the baseline runs its own page store (`Baseline.pageStore`).
 * The difference to the full sync figure is what the HTTP client, the JSON parse and core's checks
 * cost; this figure bounds what the sync can reach however cheap the client (and its checks) become.
 */
import { Database as CacheDatabase, MeetingsCache } from "@lightfield-effect/cache"
import type { MeetingCodec } from "@lightfield-effect/core"
import { Meetings } from "@lightfield-effect/core"
import { Chunk, Effect, Layer, Logger, LogLevel, ManagedRuntime, Redacted, Stream } from "effect"
import type { WireMeeting } from "./Baseline.js"
import { crawl, openBaseline, pageStore } from "./Baseline.js"
import type { SandboxProcess } from "./SandboxProcess.js"
import { cpuSince, median } from "./Stats.js"
import { join } from "node:path"
import { removeDb } from "./Paths.js"

/**
 * Every page of the listing, in order of arrival, parsed. Tried twice: `fetch` may reuse a pooled
 * connection the sandbox closed while it sat idle ("other side closed").
 */
const fetchPages = async (baseUrl: string, apiKey: string, concurrency: number): Promise<ReadonlyArray<ReadonlyArray<WireMeeting>>> => {
  const once = async () => {
    const pages: Array<ReadonlyArray<WireMeeting>> = []
    await crawl({ baseUrl, apiKey, concurrency }, (meetings) => {
      pages.push(meetings)
    })
    return pages
  }
  return once().catch(once)
}

const offline = Effect.dieMessage("the offline bench Meetings answers only streamWire")

/** A `Meetings` whose `streamWire` emits `pages` (nothing else is called by a sync into a fresh file). */
const offlineMeetings = (pages: ReadonlyArray<ReadonlyArray<WireMeeting>>): Meetings.MeetingsShape => {
  const totalCount = pages.reduce((n, page) => n + page.length, 0)
  // The baseline's loose type of the same parsed JSON the sandbox sent (valid wire meetings).
  const wire = pages as unknown as ReadonlyArray<ReadonlyArray<MeetingCodec.WireMeeting>>
  return {
    create: () => offline,
    update: () => offline,
    retrieve: () => offline,
    list: () => offline,
    delete: () => offline,
    stream: () => Stream.die("the offline bench Meetings answers only streamWire"),
    streamWire: (options) => {
      // Raw counts: the sandbox's pages hold each meeting once (core's scan counts distinct ids).
      let items = 0
      let page = 0
      const progress = (complete: boolean) =>
        options?.onProgress === undefined ? Effect.void : options.onProgress({ pages: page, items, totalCount, complete })
      return Stream.fromIterable(wire).pipe(
        Stream.mapEffect((meetings) => {
          page++
          items += meetings.length
          return Effect.as(progress(false), Chunk.unsafeFromArray(meetings))
        }),
        Stream.flattenChunks,
        Stream.concat(Stream.execute(Effect.suspend(() => progress(true))))
      )
    }
  }
}

interface OfflineResult {
  readonly stored: number
  readonly cpuMs: number
}


/** `MeetingsCache.sync` of `pages` into a fresh `filename`; CPU of the sync alone. */
const syncOursOffline = async (
  pages: ReadonlyArray<ReadonlyArray<WireMeeting>>,
  filename: string,
  concurrency: number
): Promise<OfflineResult> => {
  const layer = MeetingsCache.layer({ apiKey: Redacted.make("sk_bench_offline") }).pipe(
    Layer.provide(Layer.succeed(Meetings.Meetings, offlineMeetings(pages))),
    Layer.provide(CacheDatabase.layer({ filename })),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
  )
  const runtime = ManagedRuntime.make(layer)
  try {
    await runtime.runtime()
    return await runtime.runPromise(Effect.gen(function*() {
      const cache = yield* MeetingsCache.MeetingsCache
      const cpu = process.cpuUsage()
      const result = yield* cache.sync({ concurrency })
      const cpuMs = cpuSince(cpu)
      // A sync that did not cover the pages (the stub drifting from core's scan) is no figure.
      if (!result.complete) return yield* Effect.dieMessage("the offline sync did not complete")
      const stats = yield* cache.stats
      return { stored: stats.meetings, cpuMs }
    }))
  } finally {
    await runtime.dispose()
  }
}

/** The baseline's page store over `pages` into a fresh `filename`; CPU of the stores alone. */
const storeBaselineOffline = (pages: ReadonlyArray<ReadonlyArray<WireMeeting>>, filename: string): OfflineResult => {
  const db = openBaseline(filename)
  try {
    const store = pageStore(db)
    const cpu = process.cpuUsage()
    for (const page of pages) store(page)
    const cpuMs = cpuSince(cpu)
    const row = db.prepare("SELECT COUNT(*) AS n FROM meetings").get() as { n: number }
    return { stored: row.n, cpuMs }
  } finally {
    db.close()
  }
}

/** The offline runs of each contender, and their medians per 1,000 meetings stored. */
export interface OfflineFigures {
  /** CPU of each timed run, ms. */
  readonly oursCpuMs: ReadonlyArray<number>
  readonly baselineCpuMs: ReadonlyArray<number>
  /** Meetings each run left stored. */
  readonly oursStored: ReadonlyArray<number>
  readonly baselineStored: ReadonlyArray<number>
  readonly oursCpuMsPer1000: number
  readonly baselineCpuMsPer1000: number
}

/**
 * The pages fetched once from `sandbox`, then a warm-up and `reps` timed runs per contender,
 * alternating who goes first, each into a fresh file under `dir` (removed after it).
 */
export const measureOffline = async (
  sandbox: SandboxProcess,
  dir: string,
  reps: number,
  concurrency: number,
  log: (line: string) => void
): Promise<OfflineFigures> => {
  const pages = await fetchPages(sandbox.baseUrl, sandbox.adminKey, concurrency)
  const ours: Array<OfflineResult> = []
  const baseline: Array<OfflineResult> = []
  for (let rep = 0; rep <= reps; rep++) {
    const order = rep % 2 === 0 ? (["ours", "baseline"] as const) : (["baseline", "ours"] as const)
    for (const who of order) {
      const file = join(dir, `${who}-offline-${rep}.db`)
      const r = who === "ours" ? await syncOursOffline(pages, file, concurrency) : storeBaselineOffline(pages, file)
      removeDb(file)
      log(`  sync without the network, ${who} ${rep === 0 ? "(warm-up)" : `#${rep}`}: CPU ${(r.cpuMs / 1000).toFixed(2)} s, ${r.stored} stored`)
      if (rep > 0) (who === "ours" ? ours : baseline).push(r)
    }
  }
  const per1000 = (runs: ReadonlyArray<OfflineResult>) =>
    (median(runs.map((r) => r.cpuMs)) * 1000) / Math.max(1, median(runs.map((r) => r.stored)))
  return {
    oursCpuMs: ours.map((r) => r.cpuMs),
    baselineCpuMs: baseline.map((r) => r.cpuMs),
    oursStored: ours.map((r) => r.stored),
    baselineStored: baseline.map((r) => r.stored),
    oursCpuMsPer1000: per1000(ours),
    baselineCpuMsPer1000: per1000(baseline)
  }
}
