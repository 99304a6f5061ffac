/**
 * Our stack, composed as `apps/demo/src/Target.ts` does: `MeetingsClient.layer` over
 * `NodeHttpClient.layerUndici`, `Database.layer({ filename })`, `MeetingsCache.layer({ apiKey })`.
 * A `ManagedRuntime` keeps the layer alive across the timed calls (the bench is an app-like entry
 * point, so it is allowed to run effects).
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Database, MeetingQuery, MeetingsCache } from "@lightfield-effect/cache"
import { MeetingsClient } from "@lightfield-effect/core"
import { Effect, Layer, Logger, LogLevel, ManagedRuntime, Redacted } from "effect"

export interface OursOptions {
  readonly baseUrl: string
  readonly apiKey: string
  readonly filename: string
  /** Client-side requests per second per category; `false` when the server does not limit. */
  readonly rate: number | false
}

export const oursLayer = (options: OursOptions) => {
  const apiKey = Redacted.make(options.apiKey)
  return MeetingsCache.layer({ apiKey }).pipe(
    Layer.provide(
      MeetingsClient.layer({ apiKey, baseUrl: options.baseUrl, rate: options.rate }).pipe(
        Layer.provide(NodeHttpClient.layerUndici)
      )
    ),
    Layer.provide(Database.layer({ filename: options.filename })),
    // The library logs one line per sync at Info; keep the bench output to the table.
    Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
  )
}

export type OursRuntime = ManagedRuntime.ManagedRuntime<MeetingsCache.MeetingsCache, unknown>

export const oursRuntime = (options: OursOptions): OursRuntime => ManagedRuntime.make(oursLayer(options))

export interface OursSyncResult {
  readonly pages: number
  readonly stored: number
  readonly elapsedMs: number
}

/** `MeetingsCache.sync` with its defaults, except the page concurrency when given. */
export const syncOurs = (runtime: OursRuntime, concurrency?: number): Promise<OursSyncResult> =>
  runtime.runPromise(
    Effect.gen(function*() {
      const cache = yield* MeetingsCache.MeetingsCache
      const started = performance.now()
      const result = yield* cache.sync(concurrency === undefined ? {} : { concurrency })
      const elapsedMs = performance.now() - started
      const stats = yield* cache.stats
      return { pages: result.pages, stored: stats.meetings, elapsedMs }
    })
  )

/** Per-operation latencies (ms) of `get(id, { policy: "CacheFirst" })`, timed inside one fiber. */
export const timeGets = (runtime: OursRuntime, ids: ReadonlyArray<string>): Promise<Float64Array> =>
  runtime.runPromise(
    Effect.gen(function*() {
      const cache = yield* MeetingsCache.MeetingsCache
      const samples = new Float64Array(ids.length)
      for (let i = 0; i < ids.length; i++) {
        const t0 = performance.now()
        const got = yield* cache.retrieve(ids[i]!, { policy: "CacheFirst" })
        samples[i] = performance.now() - t0
        if (got.source !== "cache") return yield* Effect.dieMessage(`get(${ids[i]}) went to the network`)
      }
      return samples
    })
  )

/** Per-operation latencies (ms) of `query(q)`, cycling through the queries; also the result sizes. */
export const timeQueries = (
  runtime: OursRuntime,
  queries: ReadonlyArray<MeetingQuery.MeetingQuery>,
  iterations: number
): Promise<{ readonly samples: Float64Array; readonly sizes: Array<number> }> =>
  runtime.runPromise(
    Effect.gen(function*() {
      const cache = yield* MeetingsCache.MeetingsCache
      const samples = new Float64Array(iterations)
      const sizes: Array<number> = []
      for (let i = 0; i < iterations; i++) {
        const t0 = performance.now()
        const rows = yield* cache.query(queries[i % queries.length]!)
        samples[i] = performance.now() - t0
        sizes.push(rows.length)
      }
      return { samples, sizes }
    })
  )

export const principalOf = (runtime: OursRuntime): Promise<string> =>
  runtime.runPromise(Effect.map(MeetingsCache.MeetingsCache, (c) => c.principal))
