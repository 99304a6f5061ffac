/**
 * The files contract without a server: the incremental MD5 against Node's, whatever the chunking;
 * the file schemas; the files errors and journal steps round-trip through their Schemas.
 */
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Either, Schema } from "effect"
import { createHash } from "node:crypto"
import { FileObject, FilesError, TranscriptJournal } from "../src/index.js"
import * as Md5 from "../src/internal/md5.js"

describe("MD5 while streaming", () => {
  it("equals Node's digest for every length around the block size and any chunking", () => {
    let seed = 7
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
    for (const length of [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000, 65_537]) {
      const bytes = Uint8Array.from({ length }, () => Math.floor(random() * 256))
      const md5 = Md5.make()
      for (let at = 0; at < length;) {
        const size = Math.min(length - at, 1 + Math.floor(random() * 300))
        md5.update(bytes.subarray(at, at + size))
        at += size
      }
      assert.strictEqual(md5.digestHex(), createHash("md5").update(bytes).digest("hex"), `length ${length}`)
    }
    assert.strictEqual(Md5.of(new TextEncoder().encode("abc")), "900150983cd24fb0d6963f7d28e17f72")
  })
})

describe("file schemas", () => {
  const session = {
    id: "fil_1",
    status: "PENDING",
    filename: "call.vtt",
    mimeType: "text/vtt",
    sizeBytes: 12,
    createdAt: "2026-03-01T10:00:00.000Z",
    completedAt: null,
    expiresAt: "2026-03-01T11:00:00.000Z",
    uploadUrl: "https://storage.example/fil_1?sig=x",
    uploadHeaders: { "Content-Type": "text/vtt" }
  }

  it("decodes the create answer as an UploadSession and a retrieve answer without the session's keys", () => {
    const decoded = Schema.decodeUnknownSync(FileObject.UploadSession)(session)
    assert.deepStrictEqual([decoded.status, DateTime.formatIso(decoded.expiresAt)], ["PENDING", "2026-03-01T11:00:00.000Z"])
    const { uploadHeaders: _h, uploadUrl: _u, ...file } = session
    assert.strictEqual(Schema.decodeUnknownSync(FileObject.FileObject)({ ...file, status: "COMPLETED" }).status, "COMPLETED")
    assert.isTrue(Either.isLeft(Schema.decodeUnknownEither(FileObject.FileObject)({ ...file, status: "DONE" })))
    assert.isTrue(Either.isLeft(Schema.decodeUnknownEither(FileObject.FileObject)({ ...file, id: "../x" })))
  })

  it("files errors and journal steps round-trip through their Schemas", () => {
    const errors = [
      new FilesError.FileNotFound({ id: "fil_1", message: "gone" }),
      new FilesError.FileNotUsable({ id: "fil_1", status: "CANCELLED", message: "cancelled" }),
      new FilesError.UploadFailed({ id: "fil_1", reason: "Md5Mismatch", status: 422, message: "md5" })
    ]
    for (const error of errors) {
      const back = Schema.decodeUnknownSync(FilesError.FilesError)(Schema.encodeSync(FilesError.FilesError)(error))
      assert.deepStrictEqual(back, error)
    }
    const step: TranscriptJournal.TranscriptStep = {
      source: { filename: "call.vtt", mimeType: "text/vtt", sizeBytes: 12 },
      keys: { file: "k1", complete: "k2", meeting: "k3" },
      stage: { _tag: "Uploaded", file: Schema.decodeUnknownSync(FileObject.UploadSession)(session), md5: "0".repeat(32) }
    }
    const json = JSON.stringify(Schema.encodeSync(TranscriptJournal.TranscriptStep)(step))
    assert.deepStrictEqual(Schema.decodeUnknownSync(Schema.parseJson(TranscriptJournal.TranscriptStep))(json), step)
  })
})
