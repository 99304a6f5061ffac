/**
 * Child: open the cache for one key and run a full sync. The parent SIGKILLs it at a random point.
 * Small batches and short batch windows make many separate transactions, so kills land between and
 * inside them.
 */
import { MeetingsCache } from "@lightfield-effect/cache"
import { Effect } from "effect"
import type { CacheArgs } from "./common.js"
import { cacheLayer, main, say } from "./common.js"

export interface SyncArgs extends CacheArgs {
  readonly batchSize: number
  readonly pageSize: number
  readonly concurrency: number
}

main((a: SyncArgs) =>
  Effect.gen(function*() {
    const cache = yield* MeetingsCache.MeetingsCache
    say("READY")
    const result = yield* cache.sync({
      batchSize: a.batchSize,
      batchWindow: "20 millis",
      pageSize: a.pageSize,
      concurrency: a.concurrency,
      onProgress: (p) => Effect.sync(() => say("PROGRESS", { phase: p.phase, pages: p.pages, meetings: p.meetings }))
    })
    return {
      pages: result.pages,
      meetings: result.meetings,
      gone: result.gone.length,
      resumed: result.resumedAfterInterrupted
    }
  }).pipe(Effect.provide(cacheLayer(a)))
)
