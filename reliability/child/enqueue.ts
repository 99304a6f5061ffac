/**
 * Child (long-lived, one job per stdin line): queue offline writes in the cache's outbox of the
 * job's file, close it, answer `DONE`. Updates need a cached copy
 * of their target, so the targets are fetched first (`CacheFirst` get); an update may also target a
 * meeting created offline in the same run (by its provisional `local_…` id).
 */
import { MeetingsCache } from "@lightfield-effect/cache"
import type { MeetingParams } from "@lightfield-effect/core"
import { Effect } from "effect"
import type { CacheArgs } from "./common.js"
import { cacheLayer, say, serve } from "./common.js"

export type QueuedWrite =
  | { readonly op: "create"; readonly params: MeetingParams.CreateMeetingParams }
  | {
    readonly op: "update"
    /** A server id, or `#<n>`: the n-th create of this run (by its provisional id). */
    readonly target: string
    readonly params: MeetingParams.UpdateMeetingParams
  }
  | { readonly op: "delete"; readonly target: string }

export interface EnqueueArgs extends CacheArgs {
  readonly prime: ReadonlyArray<string>
  readonly writes: ReadonlyArray<QueuedWrite>
}

serve((a: EnqueueArgs) =>
  Effect.gen(function*() {
    const cache = yield* MeetingsCache.MeetingsCache
    for (const id of a.prime) yield* cache.retrieve(id, { policy: "CacheFirst" })
    say("READY")
    const localIds: Array<string> = []
    for (const write of a.writes) {
      if (write.op === "create") {
        const created = yield* cache.create(write.params, { offline: true })
        localIds.push(created.value.id)
      } else if (write.op === "delete") {
        yield* cache.delete(write.target, { offline: true })
      } else {
        const target = write.target.startsWith("#") ? localIds[Number(write.target.slice(1))]! : write.target
        yield* cache.update(target, write.params, { offline: true })
      }
    }
    const outbox = yield* cache.outbox
    return { localIds, queued: outbox.length }
  }).pipe(Effect.provide(cacheLayer(a)))
)
