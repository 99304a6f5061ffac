/**
 * Child: attach a transcript file to a meeting through core's `Transcripts`, its steps in the
 * cache's file (`TranscriptSteps`), the meeting written through the cache. The parent SIGKILLs it
 * at a random point; the next child resumes the run from the journal.
 */
import { NodeFileSystem, NodeHttpClient } from "@effect/platform-node"
import { CachedMeetings, MeetingsCache, TranscriptSteps } from "@lightfield-effect/cache"
import { FilesClient, Transcripts } from "@lightfield-effect/core"
import { Effect, Layer, Option, Redacted } from "effect"
import type { CacheArgs } from "./common.js"
import { cacheLayer, main, say } from "./common.js"

export interface AttachArgs extends CacheArgs {
  readonly meetingId: string
  readonly file: string
}

main((a: AttachArgs) =>
  Effect.gen(function*() {
    const cache = yield* MeetingsCache.MeetingsCache
    const journal = yield* TranscriptSteps.make(cache.principal)
    const transcripts = yield* Transcripts.make(journal).pipe(
      Effect.provide(Layer.merge(
        CachedMeetings.layer().pipe(Layer.provide(Layer.succeed(MeetingsCache.MeetingsCache, cache))),
        FilesClient.layer({ apiKey: Redacted.make(a.apiKey), baseUrl: a.baseUrl }).pipe(
          Layer.provide(Layer.merge(NodeHttpClient.layer, NodeFileSystem.layer))
        )
      )),
      Effect.orDie
    )
    say("READY")
    const meeting = yield* transcripts.attach(a.meetingId, Transcripts.fromPath(a.file))
    return { fileId: Option.getOrNull(meeting.transcriptFileId) }
  }).pipe(Effect.provide(cacheLayer(a)))
)
