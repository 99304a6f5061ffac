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

/**
 * Every page of the listing, in order of arrival, parsed. Tried twice: `fetch` may reuse a pooled
 * connection the sandbox closed while it sat idle ("other side closed").
 */
export const fetchPages = async (baseUrl: string, apiKey: string, concurrency: number): Promise<ReadonlyArray<ReadonlyArray<WireMeeting>>> => {
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

export interface OfflineResult {
  readonly stored: number
  readonly cpuMs: number
}

/** CPU time (user + sys) since `start`, ms. */
export const cpuSince = (start: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(start)
  return (u.user + u.system) / 1000
}

/** `MeetingsCache.sync` of `pages` into a fresh `filename`; CPU of the sync alone. */
export const syncOursOffline = async (
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
export const storeBaselineOffline = (pages: ReadonlyArray<ReadonlyArray<WireMeeting>>, filename: string): OfflineResult => {
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
