/**
 * The step machine behind `Transcripts`: Creating → Created → Uploaded → Completed → Done, each
 * stage saved in the journal before the next call, each write under the idempotency key the run
 * drew once. Resuming a recorded run starts at its stage; a recorded run for other bytes (another
 * name, type or size), or one whose upload URL or file ran out, is abandoned: its pending file is
 * cancelled and a fresh run starts (at most once per call).
 */
import { Effect, Either, Option } from "effect"
import type { FilesShape, UploadOptions, UploadSource } from "../Files.js"
import { fromPath, fromStream } from "../Files.js"
import type { FilesError } from "../FilesError.js"
import * as IdempotencyKey from "../IdempotencyKey.js"
import type { Meeting } from "../Meeting.js"
import { validateId } from "../Meeting.js"
import { CreateMeetingParams } from "../MeetingParams.js"
import type { MeetingsShape } from "../Meetings.js"
import type { MeetingsError } from "../MeetingsError.js"
import { InvalidParams } from "../MeetingsError.js"
import * as ParamsProblem from "../ParamsProblem.js"
import type { SourceInfo, TranscriptJournalShape, TranscriptStep } from "../TranscriptJournal.js"
import type { TranscriptOptions, TranscriptSource } from "../TranscriptSource.js"
import * as Md5 from "./md5.js"

export interface Deps {
  readonly files: FilesShape
  readonly meetings: MeetingsShape
  readonly journal: TranscriptJournalShape
}

/** Media types of the usual transcript formats, by extension; anything else is sent as text. */
const mimeTypes: Readonly<Record<string, string>> = {
  vtt: "text/vtt",
  srt: "application/x-subrip",
  txt: "text/plain",
  md: "text/markdown",
  json: "application/json",
  html: "text/html",
  pdf: "application/pdf",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
}

const baseName = (path: string): string => path.split(/[\\/]/).filter((part) => part !== "").pop() ?? "transcript"

const typeOf = (filename: string): string => {
  const dot = filename.lastIndexOf(".")
  return (dot < 0 ? undefined : mimeTypes[filename.slice(dot + 1).toLowerCase()]) ?? "text/plain"
}

const uploadSourceOf = (source: TranscriptSource): UploadSource =>
  source._tag === "Path" ? fromPath(source.path) : fromStream(source.stream, source.sizeBytes)

const sameSource = (a: SourceInfo, b: SourceInfo) =>
  a.filename === b.filename && a.mimeType === b.mimeType && a.sizeBytes === b.sizeBytes

const fresh = (source: SourceInfo): Effect.Effect<TranscriptStep> =>
  Effect.map(
    Effect.all({ file: IdempotencyKey.generate, complete: IdempotencyKey.generate, meeting: IdempotencyKey.generate }),
    (keys): TranscriptStep => ({ source, keys, stage: { _tag: "Creating" } })
  )

/** What a run does once its file is `COMPLETED`: write the meeting, with this idempotency key. */
type Finish = (fileId: string, idempotencyKey: string) => Effect.Effect<Meeting, MeetingsError>

/** Fresh runs a call may start after abandoning one (an expired URL, a cancelled or expired file). */
const maxRestarts = 1

const validateCreate = ParamsProblem.validator(CreateMeetingParams)

const encoder = new TextEncoder()

export const make = ({ files, journal, meetings }: Deps) => {
  const save = (key: string, step: TranscriptStep) => Effect.as(journal.put(key, step), step)

  /** Cancel a file the run gives up on; one that is no longer pending, or gone, needs nothing. */
  const cancelQuietly = (fileId: string) =>
    files.cancel(fileId).pipe(
      Effect.asVoid,
      Effect.catchTags({ FileNotUsable: () => Effect.void, FileNotFound: () => Effect.void })
    )

  /**
   * Give up a recorded run: its pending file is cancelled. A run still `Creating` asks for its file
   * again under the same key (the API answers the original) to learn which one to cancel. A
   * `COMPLETED` file cannot be cancelled, and a `Done` run is another run's success.
   */
  const abandon = (step: TranscriptStep) => {
    switch (step.stage._tag) {
      case "Created":
      case "Uploaded":
        return cancelQuietly(step.stage.file.id)
      case "Creating":
        return files.create({ ...step.source, purpose: "meeting_transcript" }, { idempotencyKey: step.keys.file }).pipe(
          Effect.flatMap((file) => cancelQuietly(file.id))
        )
      default:
        return Effect.void
    }
  }

  const run = (key: string, source: TranscriptSource, finish: Finish, options: TranscriptOptions | undefined) =>
    Effect.gen(function*() {
      const upload = uploadSourceOf(source)
      const filename = source.filename ?? (source._tag === "Path" ? baseName(source.path) : "transcript")
      const info: SourceInfo = {
        filename,
        mimeType: source.mimeType ?? typeOf(filename),
        sizeBytes: yield* files.sizeOf(upload)
      }
      const uploadOptions: UploadOptions = {
        ...(options?.onProgress === undefined ? {} : { onProgress: options.onProgress }),
        ...(options?.uploadTimeout === undefined ? {} : { timeout: options.uploadTimeout })
      }

      const found = yield* journal.get(key)
      let step: TranscriptStep
      if (Option.isSome(found) && sameSource(found.value.source, info)) {
        step = found.value
        yield* Effect.logDebug("Lightfield transcript run resumed").pipe(Effect.annotateLogs({ stage: step.stage._tag }))
      } else {
        if (Option.isSome(found)) yield* abandon(found.value)
        step = yield* save(key, yield* fresh(info))
      }

      let restarts = 0
      const restart = (why: FilesError) =>
        Effect.gen(function*() {
          if (restarts++ >= maxRestarts) return yield* Effect.fail(why)
          yield* Effect.logDebug("Lightfield transcript run restarted").pipe(Effect.annotateLogs({ why: why.message }))
          yield* abandon(step)
          step = yield* save(key, yield* fresh(info))
        })

      for (;;) {
        const stage = step.stage
        switch (stage._tag) {
          case "Creating": {
            const file = yield* files.create({ ...info, purpose: "meeting_transcript" }, { idempotencyKey: step.keys.file })
            step = yield* save(key, { ...step, stage: { _tag: "Created", file } })
            break
          }
          case "Created": {
            const uploaded = yield* Effect.either(files.upload(stage.file, upload, uploadOptions))
            if (Either.isLeft(uploaded)) {
              const error = uploaded.left
              if (error.reason === "UrlExpired") {
                yield* restart(error)
                break
              }
              if (error.reason === "SizeMismatch" || error.reason === "Source") {
                // These bytes will never fit this file: nothing is left to resume.
                yield* cancelQuietly(stage.file.id)
                yield* journal.remove(key)
              }
              // `Storage`: the record stays at Created, a later run uploads again while the URL lives.
              return yield* Effect.fail(error)
            }
            step = yield* save(key, { ...step, stage: { _tag: "Uploaded", file: stage.file, md5: uploaded.right.md5 } })
            break
          }
          case "Uploaded": {
            const completed = yield* Effect.either(
              files.complete(stage.file.id, { md5: stage.md5 }, { idempotencyKey: step.keys.complete })
            )
            if (Either.isLeft(completed)) {
              const error = completed.left
              if (error._tag === "UploadFailed") {
                // Storage holds other bytes than were sent: a later run uploads them again.
                yield* save(key, { ...step, stage: { _tag: "Created", file: stage.file } })
                return yield* Effect.fail(error)
              }
              if (error._tag === "FileNotUsable" && error.status !== "COMPLETED") {
                yield* restart(error)
                break
              }
              return yield* Effect.fail(error)
            }
            step = yield* save(key, { ...step, stage: { _tag: "Completed", fileId: stage.file.id } })
            break
          }
          case "Completed": {
            const meeting = yield* finish(stage.fileId, step.keys.meeting)
            yield* save(key, { ...step, stage: { _tag: "Done", fileId: stage.fileId, meetingId: meeting.id } })
            return meeting
          }
          case "Done":
            return yield* meetings.retrieve(stage.meetingId)
        }
      }
    }).pipe(Effect.annotateLogs({ service: "lightfield", transcriptRun: key }))

  const attach = Effect.fn("Transcripts.attach")(
    function*(meetingId: string, source: TranscriptSource, options?: TranscriptOptions) {
      const id = yield* validateId(meetingId)
      const finish: Finish = (fileId, idempotencyKey) =>
        meetings.update(id, { relationships: { $transcript: { replace: fileId } } }, { idempotencyKey })
      return yield* run(options?.key ?? `attach:${id}`, source, finish, options)
    }
  )

  const create = Effect.fn("Transcripts.create")(
    function*(params: CreateMeetingParams, source: TranscriptSource, options?: TranscriptOptions) {
      const valid = yield* validateCreate(params)
      if (valid.relationships !== undefined) {
        return yield* new InvalidParams({
          param: "relationships.$transcript",
          message: "relationships.$transcript is set from the transcript source; leave it out",
          status: 400
        })
      }
      const finish: Finish = (fileId, idempotencyKey) =>
        meetings.create({ ...valid, relationships: { $transcript: fileId } }, { idempotencyKey })
      const key = options?.key ?? `create:${Md5.of(encoder.encode(JSON.stringify(params)))}`
      return yield* run(key, source, finish, options)
    }
  )

  return { attach, create }
}
