/**
 * `Transcripts` over the real sandbox: one call uploads a transcript and attaches it, and a run
 * stopped at any step (crash, outage) continues where it stopped: never a second file, never the
 * meeting pointing at a file that is not COMPLETED, an abandoned pending file cancelled.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option, Stream } from "effect"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { MeetingsConfig } from "../src/index.js"
import { Files, Meetings, TranscriptJournal, Transcripts } from "../src/index.js"
import { clientFor, filesFor, pastMeeting, quickRetries, reset, sandboxLayer } from "./helpers.js"

const encoder = new TextEncoder()

const transcriptsFor = (
  journal: TranscriptJournal.TranscriptJournalShape,
  options: Omit<MeetingsConfig.Options, "apiKey" | "baseUrl"> = quickRetries()
) =>
  Effect.gen(function*() {
    const files = yield* filesFor("member", { ...options, uploadRetries: { base: "20 millis" } })
    const meetings = yield* clientFor("member", options)
    return yield* Transcripts.make(journal).pipe(
      Effect.provideService(Files.Files, files),
      Effect.provideService(Meetings.Meetings, meetings)
    )
  })

/** A stream source of `text` in chunks of `chunk` bytes. */
const chunked = (text: string, chunk = 16 * 1024) => {
  const bytes = encoder.encode(text)
  const parts = Array.from({ length: Math.ceil(bytes.length / chunk) }, (_, i) => bytes.subarray(i * chunk, (i + 1) * chunk))
  return Transcripts.fromStream(Stream.fromIterable(parts), { sizeBytes: bytes.length, filename: "call.vtt" })
}

const newMeeting = Effect.gen(function*() {
  const meetings = yield* clientFor("member")
  return yield* meetings.create(yield* pastMeeting("Needs a transcript"))
})

/** The API and storage calls the sandbox saw, as `METHOD /path` with ids replaced. */
const callLog = (sandbox: { readonly requests: Effect.Effect<ReadonlyArray<{ readonly method: string; readonly path: string }>> }) =>
  Effect.map(sandbox.requests, (log) =>
    log.map((r) => `${r.method} ${r.path.replace(/fil_\w+/, "{file}").replace(/mtg_\w+/, "{meeting}")}`))

/** Runs `attach` and stops it (as a crash would) once the upload has sent its first chunk. */
const crashMidUpload = (transcripts: Transcripts.TranscriptsShape, meetingId: string, text: string) =>
  Effect.gen(function*() {
    const started = yield* Deferred.make<void>()
    const fiber = yield* Effect.fork(
      transcripts.attach(meetingId, chunked(text), { onProgress: () => Deferred.succeed(started, undefined) })
    )
    yield* Deferred.await(started)
    yield* Fiber.interrupt(fiber)
  })

describe("Transcripts", () => {
  layer(sandboxLayer({ rateLimit: false, meetings: 20 }), { excludeTestServices: true })("against the sandbox", (it) => {
    it.effect("attach from a path: create, upload, complete, then replace; the file is COMPLETED and named by the path", () =>
      Effect.scoped(Effect.gen(function*() {
        const dir = yield* Effect.acquireRelease(
          Effect.promise(() => mkdtemp(join(tmpdir(), "lightfield-transcript-"))),
          (d) => Effect.promise(() => rm(d, { recursive: true, force: true }))
        )
        const path = join(dir, "standup.vtt")
        yield* Effect.promise(() => writeFile(path, "WEBVTT\n\n00:00.000 --> 00:01.000\nHi"))
        const meeting = yield* newMeeting
        const sandbox = yield* reset
        const journal = yield* TranscriptJournal.memory
        const transcripts = yield* transcriptsFor(journal)
        const attached = yield* transcripts.attach(meeting.id, Transcripts.fromPath(path))
        const [file] = yield* sandbox.files.pipe(Effect.map((all) => all.slice(-1)))
        assert.deepStrictEqual(attached.transcriptFileId, Option.some(file!.id))
        assert.deepStrictEqual([file!.status, file!.filename, file!.mimeType], ["COMPLETED", "standup.vtt", "text/vtt"])
        assert.deepStrictEqual(yield* callLog(sandbox), [
          "POST /v1/files",
          "PUT /__storage/{file}",
          "POST /v1/files/{file}/complete",
          "POST /v1/meetings/{meeting}"
        ])
        const step = yield* journal.get(`attach:${meeting.id}`)
        assert.deepStrictEqual(Option.map(step, (s) => s.stage._tag), Option.some("Done" as const))
      })))

    it.effect("create with a transcript: the meeting is created pointing at the completed file", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const transcripts = yield* transcriptsFor(yield* TranscriptJournal.memory)
        const created = yield* transcripts.create(yield* pastMeeting("Created with a transcript"), chunked("hello"))
        const file = (yield* sandbox.files).slice(-1)[0]!
        assert.deepStrictEqual([Option.getOrNull(created.transcriptFileId), file.status], [file.id, "COMPLETED"])
        assert.deepStrictEqual((yield* callLog(sandbox)).slice(-1), ["POST /v1/meetings"])
      }))

    it.effect("a crash mid-upload: the second run uploads the same file again from byte 0, then attaches it", () =>
      Effect.gen(function*() {
        const meeting = yield* newMeeting
        const sandbox = yield* reset
        const journal = yield* TranscriptJournal.memory
        const transcripts = yield* transcriptsFor(journal)
        const text = "z".repeat(400_000)
        yield* crashMidUpload(transcripts, meeting.id, text)
        const stage = Option.map(yield* journal.get(`attach:${meeting.id}`), (s) => s.stage._tag)
        assert.deepStrictEqual(stage, Option.some("Created" as const))
        const attached = yield* transcripts.attach(meeting.id, chunked(text))
        const created = (yield* sandbox.requests).filter((r) => r.method === "POST" && r.path === "/v1/files")
        assert.strictEqual(created.length, 1)
        const file = (yield* sandbox.files).slice(-1)[0]!
        assert.deepStrictEqual([file.status, file.storedBytes], ["COMPLETED", text.length])
        assert.deepStrictEqual(attached.transcriptFileId, Option.some(file.id))
      }))

    it.effect("an outage after the upload or after complete: the next run does only the steps left", () =>
      Effect.gen(function*() {
        const meeting = yield* newMeeting
        const sandbox = yield* reset
        const journal = yield* TranscriptJournal.memory
        const transcripts = yield* transcriptsFor(journal, { maxRetries: 0 })
        const key = `attach:${meeting.id}`
        yield* sandbox.inject({ fault: { _tag: "Status", status: 503 }, match: "POST /v1/files/*/complete", times: 1 })
        const first = yield* Effect.flip(transcripts.attach(meeting.id, chunked("resumable")))
        assert.strictEqual(first._tag, "MeetingsUnavailable")
        assert.deepStrictEqual(Option.map(yield* journal.get(key), (s) => s.stage._tag), Option.some("Uploaded" as const))
        // Never pointing at the file before it is COMPLETED.
        assert.deepStrictEqual((yield* clientFor("member").pipe(Effect.flatMap((m) => m.retrieve(meeting.id)))).transcriptFileId, Option.none())

        yield* sandbox.inject({ fault: { _tag: "Status", status: 503 }, match: "POST /v1/meetings/*", times: 1 })
        const second = yield* Effect.flip(transcripts.attach(meeting.id, chunked("resumable")))
        assert.strictEqual(second._tag, "MeetingsUnavailable")
        assert.deepStrictEqual(Option.map(yield* journal.get(key), (s) => s.stage._tag), Option.some("Completed" as const))

        const attached = yield* transcripts.attach(meeting.id, chunked("resumable"))
        const again = yield* transcripts.attach(meeting.id, chunked("resumable"))
        assert.deepStrictEqual(again.transcriptFileId, attached.transcriptFileId)
        assert.deepStrictEqual(yield* callLog(sandbox), [
          "POST /v1/files",
          "PUT /__storage/{file}",
          "POST /v1/files/{file}/complete", // 503
          "GET /v1/meetings/{meeting}", // the test's own look
          "POST /v1/files/{file}/complete",
          "POST /v1/meetings/{meeting}", // 503
          "POST /v1/meetings/{meeting}",
          "GET /v1/meetings/{meeting}" // the run is Done: it only reads the meeting
        ])
      }))

    it.effect("a rerun with other bytes cancels the abandoned pending file and attaches only the new one", () =>
      Effect.gen(function*() {
        const meeting = yield* newMeeting
        const sandbox = yield* reset
        const transcripts = yield* transcriptsFor(yield* TranscriptJournal.memory)
        yield* crashMidUpload(transcripts, meeting.id, "a".repeat(300_000))
        const attached = yield* transcripts.attach(meeting.id, chunked("b".repeat(1_000)))
        const [abandoned, used] = (yield* sandbox.files).slice(-2)
        assert.deepStrictEqual([abandoned!.status, used!.status], ["CANCELLED", "COMPLETED"])
        assert.deepStrictEqual(attached.transcriptFileId, Option.some(used!.id))
      }))

    it.effect("an expired upload URL starts one fresh run: the first file is cancelled, the second attached", () =>
      Effect.gen(function*() {
        const meeting = yield* newMeeting
        const sandbox = yield* reset
        const transcripts = yield* transcriptsFor(yield* TranscriptJournal.memory)
        yield* sandbox.inject({ fault: { _tag: "UrlExpired" }, times: 1 })
        const attached = yield* transcripts.attach(meeting.id, chunked("fresh"))
        const [expired, used] = (yield* sandbox.files).slice(-2)
        assert.deepStrictEqual([expired!.status, used!.status], ["CANCELLED", "COMPLETED"])
        assert.deepStrictEqual(attached.transcriptFileId, Option.some(used!.id))

        // Expired every time: after one fresh run it fails, both files cancelled.
        yield* sandbox.inject({ fault: { _tag: "UrlExpired" }, times: 2 })
        const error = yield* Effect.flip(transcripts.attach(meeting.id, chunked("again, longer")))
        assert.deepStrictEqual([error._tag, error._tag === "UploadFailed" && error.reason], ["UploadFailed", "UrlExpired"])
      }))

    it.effect("bytes of the wrong size: the file is cancelled, the record dropped, nothing attached", () =>
      Effect.gen(function*() {
        const meeting = yield* newMeeting
        const sandbox = yield* reset
        const journal = yield* TranscriptJournal.memory
        const transcripts = yield* transcriptsFor(journal)
        const short = Transcripts.fromStream(Stream.succeed(encoder.encode("12345")), { sizeBytes: 10, filename: "t.txt" })
        const error = yield* Effect.flip(transcripts.attach(meeting.id, short))
        assert.deepStrictEqual([error._tag, error._tag === "UploadFailed" && error.reason], ["UploadFailed", "SizeMismatch"])
        assert.strictEqual((yield* sandbox.files).slice(-1)[0]?.status, "CANCELLED")
        assert.isTrue(Option.isNone(yield* journal.get(`attach:${meeting.id}`)))
      }))

    it.effect("a run recorded as Creating asks for its file again with its key: the same file, not a second one", () =>
      Effect.gen(function*() {
        const meeting = yield* newMeeting
        const sandbox = yield* reset
        const journal = yield* TranscriptJournal.memory
        const files = yield* filesFor("member")
        const source = { filename: "call.vtt", mimeType: "text/vtt", sizeBytes: 5 }
        // The first run's create reached the server, and the process died before the answer was recorded.
        const lost = yield* files.create({ ...source, purpose: "meeting_transcript" }, { idempotencyKey: "file-key-creating" })
        yield* journal.put(`attach:${meeting.id}`, {
          source,
          keys: { file: "file-key-creating", complete: "complete-key-creating", meeting: "meeting-key-creating" },
          stage: { _tag: "Creating" }
        })
        const transcripts = yield* transcriptsFor(journal)
        const attached = yield* transcripts.attach(meeting.id, chunked("hello"))
        assert.deepStrictEqual(attached.transcriptFileId, Option.some(lost.id))
        assert.strictEqual((yield* sandbox.files).filter((f) => f.createdAt >= lost.createdAt.epochMillis).length, 1)
      }))

    it.effect("bad input fails before any request; a failing journal is a typed TranscriptJournalError", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const transcripts = yield* transcriptsFor(yield* TranscriptJournal.memory)
        const badId = yield* Effect.flip(transcripts.attach("a/b", chunked("x")))
        assert.deepStrictEqual([badId._tag, badId._tag === "InvalidParams" && badId.param], ["InvalidParams", "id"])
        const future = yield* pastMeeting("From the future")
        const later = { ...future, fields: { ...future.fields, $endDate: "2999-01-01T00:00:00.000Z" } }
        const badParams = yield* Effect.flip(transcripts.create(later, chunked("x")))
        assert.strictEqual(badParams._tag, "InvalidParams")
        const withTranscript = yield* Effect.flip(transcripts.create({ ...future, relationships: { $transcript: "fil_x" } }, chunked("x")))
        assert.deepStrictEqual(
          [withTranscript._tag, withTranscript._tag === "InvalidParams" && withTranscript.param],
          ["InvalidParams", "relationships.$transcript"]
        )
        assert.strictEqual((yield* sandbox.requests).length, 0)

        const failing: TranscriptJournal.TranscriptJournalShape = {
          get: () => Effect.succeed(Option.none()),
          put: () => Effect.fail(new TranscriptJournal.TranscriptJournalError({ message: "disk full" })),
          remove: () => Effect.void
        }
        const meeting = yield* newMeeting
        const broken = yield* transcriptsFor(failing)
        const error = yield* Effect.flip(broken.attach(meeting.id, chunked("x")))
        assert.deepStrictEqual([error._tag, error.message], ["TranscriptJournalError", "disk full"])
      }))
  })
})
