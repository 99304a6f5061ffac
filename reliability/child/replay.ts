/**
 * Child: open the cache for one key and replay its outbox. The parent SIGKILLs it at a random point.
 * `clockOffsetMillis` moves the child's clock forward (sleeps unchanged), as if the device had been
 * offline that long (idempotency-key expiry).
 */
import { MeetingsCache } from "@lightfield-effect/cache"
import { Effect, Option } from "effect"
import type { CacheArgs } from "./common.js"
import { offsetClock } from "../lib/Clock.js"
import { cacheLayer, main, say } from "./common.js"

export interface ReplayArgs extends CacheArgs {
  readonly clockOffsetMillis?: number
}

main((a: ReplayArgs) =>
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
  }).pipe(Effect.provide(cacheLayer(a)), Effect.withClock(offsetClock(a.clockOffsetMillis ?? 0)))
)
