/**
 * `FilesClient` over the real sandbox on loopback (spec §11): sessions, the streamed upload to the
 * presigned URL with exactly its headers, MD5, retries from byte 0 after storage failures, expiry,
 * completion, cancellation, typed errors, and `Meetings.delete` (spec §3.5).
 */
import { assert, describe, layer } from "@effect/vitest"
import { NodeHttpClient } from "@effect/platform-node"
import { DateTime, Effect, Option, Stream } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { createReadStream } from "node:fs"
import { mkdtemp, open, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Files as FilesModule } from "../src/index.js"
import { Files, FilesClient } from "../src/index.js"
import * as FileChunks from "../src/internal/fileChunks.js"
import { clientFor, completedFile, filesFor, pastMeeting, quickRetries, reset, sandboxLayer, textSource, uuidV4 } from "./helpers.js"

const quickUploads = { ...quickRetries(), uploadRetries: { base: "20 millis" } } as const

const session = (files: FilesModule.FilesShape, sizeBytes: number) =>
  files.create({ filename: "call.vtt", mimeType: "text/vtt", sizeBytes, purpose: "meeting_transcript" })

/** A temp file of `size` bytes written 1 MiB at a time (a repeating pattern), removed with the scope. */
const tempFile = (size: number) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const dir = await mkdtemp(join(tmpdir(), "lightfield-core-files-"))
      const path = join(dir, "transcript.txt")
      const handle = await open(path, "w")
      const block = Buffer.alloc(1024 * 1024)
      for (let i = 0; i < block.length; i++) block[i] = 32 + (i % 95)
      for (let written = 0; written < size; written += block.length) {
        await handle.write(block.subarray(0, Math.min(block.length, size - written)))
      }
      await handle.close()
      return { dir, path }
    }),
    ({ dir }) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  ).pipe(Effect.map(({ path }) => path))

/** A temp file of `size` random bytes, removed with the scope. */
const randomFile = (size: number) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const dir = await mkdtemp(join(tmpdir(), "lightfield-core-files-"))
      const path = join(dir, "random.bin")
      await writeFile(path, randomBytes(size))
      return { dir, path }
    }),
    ({ dir }) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
  ).pipe(Effect.map(({ path }) => path))

/** The MD5 of a file, read as a stream (the test does not hold the file either). */
const md5OfFile = (path: string) =>
  Effect.promise(() =>
    new Promise<string>((resolve, reject) => {
      const hash = createHash("md5")
      createReadStream(path).on("data", (chunk) => hash.update(chunk)).on("end", () => resolve(hash.digest("hex"))).on("error", reject)
    })
  )

describe("FilesClient", () => {
  layer(sandboxLayer({ rateLimit: false, meetings: 20 }), { excludeTestServices: true })("against the sandbox", (it) => {
    it.effect("create, upload, complete, retrieve, download: the PUT carries exactly the upload headers", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const files = yield* filesFor("member")
        const text = "WEBVTT\n\n00:00.000 --> 00:02.000\nHello there"
        const created = yield* session(files, text.length)
        assert.strictEqual(created.status, "PENDING")
        const uploaded = yield* files.upload(created, textSource(text))
        const expectedMd5 = createHash("md5").update(text).digest("hex")
        assert.deepStrictEqual([uploaded.md5, uploaded.sizeBytes, uploaded.attempts], [expectedMd5, text.length, 1])
        const completed = yield* files.complete(created.id, { md5: uploaded.md5 })
        assert.strictEqual(completed.status, "COMPLETED")
        assert.strictEqual((yield* files.retrieve(created.id)).status, "COMPLETED")
        const link = yield* files.downloadUrl(created.id)
        const downloaded = yield* Effect.promise(() => fetch(link.url).then((r) => r.text()))
        assert.strictEqual(downloaded, text)

        const log = yield* sandbox.requests
        assert.deepStrictEqual(log.map((r) => `${r.method} ${r.path.replace(created.id, "{id}")}`), [
          "POST /v1/files",
          "PUT /__storage/{id}",
          "POST /v1/files/{id}/complete",
          "GET /v1/files/{id}",
          "GET /v1/files/{id}/url",
          "GET /__storage/{id}"
        ])
        assert.match(log[0]!.idempotencyKey ?? "", uuidV4)
        assert.match(log[2]!.idempotencyKey ?? "", uuidV4)
        const put = log[1]!
        const signed = Object.keys(created.uploadHeaders).map((name) => name.toLowerCase())
        // What HTTP itself needs (host, connection, length), the signed headers, and nothing else.
        const transport = ["host", "connection", "content-length"]
        assert.deepStrictEqual(Object.keys(put.headers ?? {}).filter((name) => !transport.includes(name)).sort(), signed.sort())
        assert.strictEqual(put.headers?.["content-length"], String(text.length))
        assert.isUndefined(put.apiKey)
      }))

    it.effect("a 50 MB file is streamed from its path in bounded chunks, never whole, and its MD5 matches", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const size = 50 * 1024 * 1024
        const path = yield* tempFile(size)
        const files = yield* filesFor("member")
        const source = Files.fromPath(path)
        assert.strictEqual(yield* files.sizeOf(source), size)
        const created = yield* files.create({ filename: "big.txt", mimeType: "text/plain", sizeBytes: size })
        const steps: Array<number> = []
        let last = 0
        const uploaded = yield* files.upload(created, source, {
          onProgress: (p) =>
            Effect.sync(() => {
              steps.push(p.sentBytes - last)
              last = p.sentBytes
            })
        })
        // Every chunk is at most the client's chunk size, so at least size / chunk events came.
        assert.isAtMost(Math.max(...steps), FilesClient.defaultChunkSize)
        assert.isAtLeast(steps.length, size / FilesClient.defaultChunkSize)
        assert.strictEqual(last, size)
        const expected = yield* md5OfFile(path)
        assert.strictEqual(uploaded.md5, expected)
        const stored = (yield* sandbox.files).find((f) => f.id === created.id)
        assert.deepStrictEqual([stored?.storedBytes, stored?.storedMd5], [size, expected])
        assert.strictEqual((yield* files.complete(created.id, { md5: uploaded.md5 })).status, "COMPLETED")
      }).pipe(Effect.scoped), { timeout: 120_000 })

    it.effect("a path is read through a ring of reused buffers; the bytes arrive intact through node:http and undici", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        // Random bytes, four rings long: a chunk overwritten before its client sent it changes the MD5.
        const size = 4 * FileChunks.ringBytes + 12_345
        const path = yield* randomFile(size)
        const expected = yield* md5OfFile(path)
        const clients = { "node:http": NodeHttpClient.layer, undici: NodeHttpClient.layerUndici }
        for (const [name, client] of Object.entries(clients)) {
          const uploaded = yield* Effect.gen(function*() {
            const files = yield* filesFor("member")
            const created = yield* files.create({ filename: "ring.bin", mimeType: "text/plain", sizeBytes: size })
            const uploaded = yield* files.upload(created, Files.fromPath(path))
            yield* files.complete(created.id, { md5: uploaded.md5 })
            return { id: created.id, md5: uploaded.md5 }
          }).pipe(Effect.provide(client))
          const stored = (yield* sandbox.files).find((f) => f.id === uploaded.id)
          assert.deepStrictEqual([name, uploaded.md5, stored?.storedBytes, stored?.storedMd5, stored?.status], [name, expected, size, expected, "COMPLETED"])
        }
      }).pipe(Effect.scoped), { timeout: 120_000 })

    it.effect("a dropped connection mid-upload is retried from byte 0, and the second attempt goes through", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const files = yield* filesFor("member", quickUploads)
        const text = "y".repeat(300_000)
        const created = yield* session(files, text.length)
        yield* sandbox.inject({ fault: { _tag: "UploadDrop", afterBytes: 100_000 }, times: 1 })
        const attempts: Array<number> = []
        const uploaded = yield* files.upload(created, textSource(text), {
          onProgress: (p) => Effect.sync(() => p.sentBytes <= 65_536 && attempts.push(p.attempt))
        })
        assert.strictEqual(uploaded.attempts, 2)
        // Each attempt started again from the first chunk.
        assert.deepStrictEqual(attempts, [1, 2])
        const putStatuses = (yield* sandbox.requests).filter((r) => r.method === "PUT").map((r) => r.status)
        assert.deepStrictEqual(putStatuses, [0, 200])
        assert.strictEqual((yield* files.complete(created.id, { md5: uploaded.md5 })).status, "COMPLETED")
      }))

    it.effect("5xx and slow storage are retried; storage failing every time is UploadFailed{Storage}", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const files = yield* filesFor("member", quickUploads)
        const created = yield* session(files, 5)
        yield* sandbox.inject(
          { fault: { _tag: "Status", status: 503 }, match: "PUT /__storage/*", times: 1 },
          { fault: { _tag: "Latency", millis: 3_000 }, match: "PUT /__storage/*", times: 1 }
        )
        const uploaded = yield* files.upload(created, textSource("hello"), { timeout: "300 millis" })
        assert.strictEqual(uploaded.attempts, 3)

        yield* sandbox.inject({ fault: { _tag: "Status", status: 500 }, match: "PUT /__storage/*" })
        const other = yield* session(files, 5)
        const error = yield* Effect.flip(files.upload(other, textSource("hello")))
        assert.deepStrictEqual([error._tag, error.reason, error.status], ["UploadFailed", "Storage", 500])
        // The first attempt and the two retries of the default policy.
        const failed = (yield* sandbox.requests).filter((r) => r.method === "PUT" && r.path.endsWith(other.id))
        assert.strictEqual(failed.length, 3)
      }))

    it.effect("an expired upload URL: never sent when the client sees it expired, not retried when storage says so", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const files = yield* filesFor("member", quickUploads)
        const created = yield* session(files, 5)
        const past = { ...created, expiresAt: DateTime.unsafeMake(Date.now() - 1_000) }
        const local = yield* Effect.flip(files.upload(past, textSource("hello")))
        assert.deepStrictEqual([local.reason, (yield* sandbox.requests).filter((r) => r.method === "PUT").length], ["UrlExpired", 0])

        yield* sandbox.inject({ fault: { _tag: "UrlExpired" }, times: 1 })
        const remote = yield* Effect.flip(files.upload(created, textSource("hello")))
        assert.deepStrictEqual([remote.reason, remote.status], ["UrlExpired", 403])
        assert.strictEqual((yield* sandbox.requests).filter((r) => r.method === "PUT").length, 1)
      }))

    it.effect("MD5 or size mismatch on complete; a source of the wrong size fails before storage keeps anything", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const files = yield* filesFor("member", quickUploads)
        const created = yield* session(files, 5)
        const empty = yield* Effect.flip(files.complete(created.id))
        assert.deepStrictEqual([empty._tag, empty._tag === "UploadFailed" && empty.reason], ["UploadFailed", "SizeMismatch"])
        yield* files.upload(created, textSource("hello"))
        const wrong = yield* Effect.flip(files.complete(created.id, { md5: "0".repeat(32) }))
        assert.deepStrictEqual([wrong._tag, wrong._tag === "UploadFailed" && wrong.reason], ["UploadFailed", "Md5Mismatch"])

        const other = yield* session(files, 5)
        const short = Files.fromStream(Stream.succeed(new TextEncoder().encode("hey")), 5)
        const tooShort = yield* Effect.flip(files.upload(other, short))
        assert.deepStrictEqual([tooShort.reason, tooShort.id], ["SizeMismatch", other.id])
        const long = Files.fromStream(Stream.make(new TextEncoder().encode("hel"), new TextEncoder().encode("lo!")), 5)
        assert.strictEqual((yield* Effect.flip(files.upload(other, long))).reason, "SizeMismatch")
        // A longer source whose first chunks fill the declared size exactly: refused before the last
        // declared byte goes out (one chunk is read ahead), so storage cannot keep a body cut from it.
        const exact = Files.fromStream(Stream.make(new TextEncoder().encode("hello"), new TextEncoder().encode("!")), 5)
        assert.strictEqual((yield* Effect.flip(files.upload(other, exact))).reason, "SizeMismatch")
        const declared = yield* Effect.flip(files.upload(other, textSource("hello world")))
        assert.strictEqual(declared.reason, "SizeMismatch")
        const missing = yield* Effect.flip(files.upload(other, Files.fromPath("/nonexistent/transcript.vtt")))
        assert.strictEqual(missing.reason, "Source")
        // Neither short nor long bytes were retried (a cut-off body may not even reach storage), and nothing is stored.
        assert.isAtMost((yield* sandbox.requests).filter((r) => r.method === "PUT" && r.path.endsWith(other.id)).length, 3)
        assert.isUndefined((yield* sandbox.files).find((f) => f.id === other.id)?.storedBytes)
      }))

    it.effect("cancel (pending only) and the status errors: FileNotUsable with the file's status, FileNotFound", () =>
      Effect.gen(function*() {
        const files = yield* filesFor("member", quickUploads)
        const pending = yield* session(files, 5)
        const notYet = yield* Effect.flip(files.downloadUrl(pending.id))
        assert.deepStrictEqual([notYet._tag, notYet._tag === "FileNotUsable" && notYet.status], ["FileNotUsable", "PENDING"])
        assert.strictEqual((yield* files.cancel(pending.id)).status, "CANCELLED")
        assert.strictEqual((yield* files.cancel(pending.id)).status, "CANCELLED")
        const late = yield* Effect.flip(files.complete(pending.id))
        assert.deepStrictEqual([late._tag, late._tag === "FileNotUsable" && late.status], ["FileNotUsable", "CANCELLED"])
        const upload = yield* Effect.flip(files.upload(pending, textSource("hello")))
        assert.deepStrictEqual([upload.reason, upload.status], ["Storage", 409])

        const done = yield* completedFile(files)
        const cancelDone = yield* Effect.flip(files.cancel(done))
        assert.deepStrictEqual([cancelDone._tag, cancelDone._tag === "FileNotUsable" && cancelDone.status], ["FileNotUsable", "COMPLETED"])
        const unknown = yield* Effect.flip(files.retrieve("fil_unknown"))
        assert.deepStrictEqual([unknown._tag, unknown._tag === "FileNotFound" && unknown.id], ["FileNotFound", "fil_unknown"])
      }))

    it.effect("bad input is InvalidParams before any request; the scope is checked; a key replays the same file", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const files = yield* filesFor("member")
        const base = { filename: "a.txt", mimeType: "text/plain", sizeBytes: 1 }
        for (const [params, param] of [
          [{ ...base, sizeBytes: 0 }, "sizeBytes"],
          [{ ...base, sizeBytes: 536_870_913 }, "sizeBytes"],
          [{ ...base, filename: "x".repeat(256) }, "filename"],
          [{ ...base, mimeType: "text" }, "mimeType"]
        ] as const) {
          const error = yield* Effect.flip(files.create(params))
          assert.deepStrictEqual([error._tag, error._tag === "InvalidParams" && error.param], ["InvalidParams", param])
        }
        const badId = yield* Effect.flip(files.retrieve("a/b"))
        assert.deepStrictEqual([badId._tag, badId._tag === "InvalidParams" && badId.param], ["InvalidParams", "id"])
        const badMd5 = yield* Effect.flip(files.complete("fil_x", { md5: "ABC" }))
        assert.deepStrictEqual([badMd5._tag, badMd5._tag === "InvalidParams" && badMd5.param], ["InvalidParams", "md5"])
        assert.strictEqual((yield* sandbox.requests).length, 0)

        const first = yield* files.create(base, { idempotencyKey: "file-key-1" })
        const again = yield* files.create(base, { idempotencyKey: "file-key-1" })
        assert.strictEqual(again.id, first.id)
        const readOnly = yield* filesFor("readOnly")
        const refused = yield* Effect.flip(readOnly.create(base))
        assert.deepStrictEqual([refused._tag, refused._tag === "Forbidden" && refused.scope], ["Forbidden", "files:create"])
      }))

    it.effect("an unusable uploadChunkSize fails the client with InvalidConfig", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(filesFor("member", { uploadChunkSize: 0 }))
        assert.deepStrictEqual([error._tag, error.option], ["InvalidConfig", "uploadChunkSize"])
      }))

    describe("Meetings.delete", () => {
      it.effect("deletes once with an idempotency key: Some(meeting), then MeetingNotFound; the id is checked first", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          const meetings = yield* clientFor("member")
          const created = yield* meetings.create(yield* pastMeeting("To delete"))
          const deleted = yield* meetings.delete(created.id)
          assert.deepStrictEqual(Option.map(deleted, (m) => m.id), Option.some(created.id))
          const gone = yield* Effect.flip(meetings.retrieve(created.id))
          assert.strictEqual(gone._tag, "MeetingNotFound")
          const again = yield* Effect.flip(meetings.delete(created.id))
          assert.deepStrictEqual([again._tag, again._tag === "MeetingNotFound" && again.id], ["MeetingNotFound", created.id])
          const log = (yield* sandbox.requests).filter((r) => r.method === "DELETE")
          assert.match(log[0]?.idempotencyKey ?? "", uuidV4)
          yield* sandbox.clearRequests
          for (const id of ["", "a/b", ".."]) {
            const error = yield* Effect.flip(meetings.delete(id))
            assert.deepStrictEqual([error._tag, error._tag === "InvalidParams" && error.param], ["InvalidParams", "id"])
          }
          assert.strictEqual((yield* sandbox.requests).length, 0)
        }))

      it.effect("a 204 without a body is None; a retried delete reuses its key and the replay answers the meeting", () =>
        Effect.gen(function*() {
          const sandbox = yield* reset
          const meetings = yield* clientFor("member", quickRetries())
          const created = yield* meetings.create(yield* pastMeeting("Deleted twice over"))
          yield* sandbox.inject({ fault: { _tag: "Respond", status: 204, body: "" }, match: "DELETE /v1/meetings/*", times: 1 })
          assert.deepStrictEqual(yield* meetings.delete(created.id), Option.none())
          yield* sandbox.inject({ fault: { _tag: "DropAfterCommit" }, match: "DELETE /v1/meetings/*", times: 1 })
          const deleted = yield* meetings.delete(created.id)
          assert.deepStrictEqual(Option.map(deleted, (m) => m.id), Option.some(created.id))
          const log = (yield* sandbox.requests).filter((r) => r.method === "DELETE").slice(1)
          assert.deepStrictEqual(log.map((r) => [r.status, r.replayed]), [[0, false], [200, true]])
          assert.strictEqual(log[0]?.idempotencyKey, log[1]?.idempotencyKey)
        }))
    })
  })
})
