/**
 * One call to put a transcript on a meeting (spec §11): `attach` runs file create, upload,
 * complete and the meeting update with `$transcript.replace`; `create` does the same and then
 * creates the meeting with `relationships.$transcript`. Every step is recorded in a
 * `TranscriptJournal` before the next one starts, so a run retried or resumed after a crash
 * continues where the first stopped: it never uploads a second file for the same run, never points
 * the meeting at a file that is not `COMPLETED`, and cancels a pending file it abandons.
 *
 * Built on the `Files` and `Meetings` services, so the meeting write can go through the cache's
 * mirror as well as over HTTP.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import { Files } from "./Files.js"
import type { FilesError } from "./FilesError.js"
import * as Flow from "./internal/transcriptFlow.js"
import type { Meeting } from "./Meeting.js"
import type { CreateMeetingParams } from "./MeetingParams.js"
import { Meetings } from "./Meetings.js"
import type { MeetingsError } from "./MeetingsError.js"
import type { TranscriptJournalError, TranscriptJournalShape } from "./TranscriptJournal.js"
import { TranscriptJournal } from "./TranscriptJournal.js"
import * as Journal from "./TranscriptJournal.js"
import type { TranscriptOptions, TranscriptSource } from "./TranscriptSource.js"

export {
  /** A transcript from a file path. */
  fromPath,
  /** A transcript from a re-runnable stream. */
  fromStream
} from "./TranscriptSource.js"

/**
 * Every failure of a transcript run: an API call's, a file's, or the journal's.
 *
 * @since 0.1.0
 */
export type TranscriptError = MeetingsError | FilesError | TranscriptJournalError

/**
 * The `Transcripts` service.
 *
 * @since 0.1.0
 */
export interface TranscriptsShape {
  /** Upload `source` as a file and make it the transcript of meeting `meetingId`; the updated meeting. */
  readonly attach: (
    meetingId: string,
    source: TranscriptSource,
    options?: TranscriptOptions
  ) => Effect.Effect<Meeting, TranscriptError>
  /** Upload `source` as a file and create the meeting with it as its transcript. */
  readonly create: (
    params: CreateMeetingParams,
    source: TranscriptSource,
    options?: TranscriptOptions
  ) => Effect.Effect<Meeting, TranscriptError>
}

/**
 * The `Transcripts` service tag.
 *
 * @since 0.1.0
 */
export class Transcripts extends Context.Tag("@lightfield-effect/core/Transcripts")<Transcripts, TranscriptsShape>() {}

/**
 * `Transcripts` over the given journal and the `Files` and `Meetings` in context.
 *
 * @since 0.1.0
 */
export const make = (journal: TranscriptJournalShape): Effect.Effect<TranscriptsShape, never, Files | Meetings> =>
  Effect.gen(function*() {
    const files = yield* Files
    const meetings = yield* Meetings
    return Flow.make({ files, meetings, journal }) satisfies TranscriptsShape
  })

/**
 * `Transcripts` recording its steps in the `TranscriptJournal` in context (e.g. the cache's).
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<Transcripts, never, Files | Meetings | TranscriptJournal> = Layer.effect(
  Transcripts,
  Effect.flatMap(TranscriptJournal, make)
)

/**
 * `Transcripts` with an in-memory journal: runs resume within the process.
 *
 * @since 0.1.0
 */
export const layerMemory: Layer.Layer<Transcripts, never, Files | Meetings> = Layer.effect(
  Transcripts,
  Effect.flatMap(Journal.memory, make)
)

/**
 * `Transcripts.attach` of the service in context.
 *
 * @since 0.1.0
 */
export const attachTranscript = (
  meetingId: string,
  source: TranscriptSource,
  options?: TranscriptOptions
): Effect.Effect<Meeting, TranscriptError, Transcripts> =>
  Effect.flatMap(Transcripts, (transcripts) => transcripts.attach(meetingId, source, options))

/**
 * `Transcripts.create` of the service in context.
 *
 * @since 0.1.0
 */
export const createWithTranscript = (
  params: CreateMeetingParams,
  source: TranscriptSource,
  options?: TranscriptOptions
): Effect.Effect<Meeting, TranscriptError, Transcripts> =>
  Effect.flatMap(Transcripts, (transcripts) => transcripts.create(params, source, options))
