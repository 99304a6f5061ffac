/**
 * The step record of a transcript upload (`Transcripts`): which step an attach or create reached
 * (file requested, bytes uploaded, file completed, meeting written) and the idempotency keys it
 * uses, so a second run after a crash continues where the first stopped instead of uploading a
 * second file. Steps are Schema values, so a store can keep them as JSON; the in-memory journal is
 * the default, and the cache backs it with its SQLite outbox.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import { Md5Hex, UploadSession } from "./FileObject.js"

/**
 * The journal could not be read or written; `cause` is the store's own error.
 *
 * @since 0.1.0
 */
export class TranscriptJournalError extends Schema.TaggedError<TranscriptJournalError>()("TranscriptJournalError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * What identifies the bytes of a run: a second run with another name, type or size is another
 * upload (the first one's pending file is cancelled).
 *
 * @since 0.1.0
 */
export const SourceInfo = Schema.Struct({
  filename: Schema.String,
  mimeType: Schema.String,
  sizeBytes: Schema.Int.pipe(Schema.nonNegative())
})

/**
 * @since 0.1.0
 */
/**
 * The type of the `SourceInfo` schema's values.
 *
 * @since 0.1.0
 */
export type SourceInfo = typeof SourceInfo.Type

/**
 * How far a run got:
 *
 * - `Creating`: the file is being requested (with `keys.file`: a second run gets the same file).
 * - `Created`: the upload session is open; the bytes are not (known to be) stored.
 * - `Uploaded`: storage took the bytes; `md5` goes with the completion.
 * - `Completed`: the file is `COMPLETED`; the meeting is written with `keys.meeting`.
 * - `Done`: the meeting points at the file.
 *
 * @since 0.1.0
 */
export const Stage = Schema.Union(
  Schema.TaggedStruct("Creating", {}),
  Schema.TaggedStruct("Created", { file: UploadSession }),
  Schema.TaggedStruct("Uploaded", { file: UploadSession, md5: Md5Hex }),
  Schema.TaggedStruct("Completed", { fileId: Schema.String }),
  Schema.TaggedStruct("Done", { fileId: Schema.String, meetingId: Schema.String })
).annotations({ identifier: "TranscriptStage" })

/**
 * @since 0.1.0
 */
/**
 * The type of the `Stage` schema's values.
 *
 * @since 0.1.0
 */
export type Stage = typeof Stage.Type

/**
 * One run's record: its source, the idempotency keys of its three writes (file create, complete,
 * meeting write), reused by every retry and every later run, and its stage.
 *
 * @since 0.1.0
 */
export const TranscriptStep = Schema.Struct({
  source: SourceInfo,
  keys: Schema.Struct({ file: Schema.String, complete: Schema.String, meeting: Schema.String }),
  stage: Stage
}).annotations({ identifier: "TranscriptStep" })

/**
 * @since 0.1.0
 */
/**
 * The type of the `TranscriptStep` schema's values.
 *
 * @since 0.1.0
 */
export type TranscriptStep = typeof TranscriptStep.Type

/**
 * Where steps are kept, by the run's key (`attach:<meetingId>` unless the caller names it). A
 * `put` replaces the key's step; it must be durable before it returns for a crash to be resumable.
 *
 * @since 0.1.0
 */
export interface TranscriptJournalShape {
  readonly get: (key: string) => Effect.Effect<Option.Option<TranscriptStep>, TranscriptJournalError>
  readonly put: (key: string, step: TranscriptStep) => Effect.Effect<void, TranscriptJournalError>
  readonly remove: (key: string) => Effect.Effect<void, TranscriptJournalError>
}

/**
 * The journal as a service, for a store that outlives the process (the cache provides one).
 *
 * @since 0.1.0
 */
export class TranscriptJournal extends Context.Tag("@lightfield-effect/core/TranscriptJournal")<
  TranscriptJournal,
  TranscriptJournalShape
>() {}

/**
 * A fresh journal in memory: runs resume within the process, not after it exits.
 *
 * @since 0.1.0
 */
export const memory: Effect.Effect<TranscriptJournalShape> = Effect.sync(() => {
  const steps = new Map<string, TranscriptStep>()
  return {
    get: (key) => Effect.sync(() => Option.fromNullable(steps.get(key))),
    put: (key, step) => Effect.sync(() => void steps.set(key, step)),
    remove: (key) => Effect.sync(() => void steps.delete(key))
  }
})

/**
 * `TranscriptJournal` in memory.
 *
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<TranscriptJournal> = Layer.effect(TranscriptJournal, memory)
