/**
 * Child: open the cache for one key and replay its outbox. The parent SIGKILLs it at a random point.
 */
import { MeetingsCache } from "@lightfield-effect/cache"
import { Effect, Option } from "effect"
import type { CacheArgs } from "./common.js"
import { cacheLayer, main, say } from "./common.js"

main((a: CacheArgs) =>
  Effect.gen(function*() {
    const cache = yield* MeetingsCache.MeetingsCache
    const before = yield* cache.outbox
    say("READY", { outbox: before.length })
    const result = yield* cache.replay
    return {
      replayed: result.replayed,
      dead: result.dead,
      remaining: result.remaining,
      resolved: result.resolved,
      stoppedBy: Option.getOrNull(result.stoppedBy)
    }
  }).pipe(Effect.provide(cacheLayer(a)))
)
