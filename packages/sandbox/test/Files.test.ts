/**
 * The files API (spec §11) and its storage: upload sessions, the signed and expiring storage URLs
 * with their own auth and size check, statuses, and transcripts checked against real files.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Option } from "effect"
import { createHash } from "node:crypto"
import * as Sandbox from "../src/Sandbox.js"
import {
  completedFile,
  createBody,
  createFile,
  errorOf,
  json,
  meetingOf,
  putBytes,
  send,
  testLayer,
  withSandbox
} from "./utils.js"

const keys = Sandbox.keysFor(21)
const md5 = (text: string) => createHash("md5").update(text).digest("hex")

interface FileJson {
  readonly id: string
  readonly status: string
  readonly completedAt: string | null
  readonly uploadUrl?: string
}

const fileOf = (res: { readonly text: string }) => JSON.parse(res.text) as FileJson

layer(testLayer({ seed: 21, meetings: 10, rateLimit: false }), { excludeTestServices: true })("files", (it) => {
  describe("upload sessions", () => {
    it.effect("create answers a PENDING session: signed uploadUrl, uploadHeaders, expiresAt", () =>
      Effect.gen(function*() {
        const session = yield* createFile(keys.member, "abc")
        assert.strictEqual(session.status, "PENDING")
        assert.match(session.id, /^fil_/)
        assert.match(session.uploadUrl, /\/__storage\/fil_\w+\?op=upload&expires=\d+&signature=[0-9a-f]{64}$/)
        assert.deepStrictEqual(Object.keys(session.uploadHeaders).sort(), ["Content-Type", "X-Sandbox-Upload-Token"])
        assert.strictEqual(session.uploadHeaders["Content-Type"], "text/plain")
        assert.isTrue(Date.parse(session.expiresAt) > Date.now())
        // Retrieve shows the file, without the session's secrets.
        const got = fileOf(yield* send("GET", `/v1/files/${session.id}`, { key: keys.member2 }))
        assert.deepStrictEqual([got.status, got.uploadUrl], ["PENDING", undefined])
      }))

    it.effect("bad params are 400 with the param: filename, sizeBytes bounds, purpose, unknown keys", () =>
      Effect.gen(function*() {
        const base = { filename: "a.txt", mimeType: "text/plain", sizeBytes: 3 }
        const cases: ReadonlyArray<readonly [Record<string, unknown>, string, string]> = [
          [{ ...base, filename: "" }, "filename", "invalid_type"],
          [{ ...base, filename: "x".repeat(256) }, "filename", "invalid_type"],
          [{ ...base, sizeBytes: 0 }, "sizeBytes", "invalid_type"],
          [{ ...base, sizeBytes: 536_870_913 }, "sizeBytes", "invalid_type"],
          [{ ...base, mimeType: "plain" }, "mimeType", "invalid_type"],
          [{ ...base, purpose: "selfie" }, "purpose", "invalid_type"],
          [{ ...base, color: "red" }, "color", "unknown_field"],
          [{ mimeType: "text/plain", sizeBytes: 3 }, "filename", "parameter_missing"]
        ]
        for (const [body, param, code] of cases) {
          const res = yield* send("POST", "/v1/files", { key: keys.member, body })
          const error = yield* errorOf(res)
          assert.deepStrictEqual([res.status, error.param, error.code], [400, param, code], JSON.stringify(body))
        }
        const largest = yield* send("POST", "/v1/files", { key: keys.member, body: { ...base, sizeBytes: 536_870_912 } })
        assert.strictEqual(largest.status, 200)
      }))

    it.effect("a file is its organisation's: another organisation gets 404", () =>
      Effect.gen(function*() {
        const session = yield* createFile(keys.member, "abc")
        const res = yield* send("GET", `/v1/files/${session.id}`, { key: keys.otherOrg })
        assert.deepStrictEqual([res.status, (yield* errorOf(res)).message], [404, "No resource found in 'files' with the given ID."])
      }))

    it.effect("the same Idempotency-Key on a meeting create and a file create does not clash", () =>
      Effect.gen(function*() {
        const headers = { "Idempotency-Key": "shared-key-21" }
        const meeting = yield* send("POST", "/v1/meetings", { key: keys.member, headers, body: createBody() })
        const file = yield* send("POST", "/v1/files", {
          key: keys.member,
          headers,
          body: { filename: "a.txt", mimeType: "text/plain", sizeBytes: 1 }
        })
        assert.deepStrictEqual([meeting.status, file.status], [200, 200])
        assert.match(fileOf(file).id, /^fil_/)
      }))
  })

  describe("storage", () => {
    it.effect("a PUT with exactly the upload headers stores the bytes; complete checks the MD5; download serves them", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        yield* sandbox.clearRequests
        const content = "WEBVTT\n\n00:00.000 --> 00:01.000\nHello"
        const session = yield* createFile(keys.member, content)
        const put = yield* putBytes(session.uploadUrl, content, session.uploadHeaders)
        assert.deepStrictEqual([put.status, put.headers.etag], [200, `"${md5(content)}"`])
        const stored = (yield* sandbox.files).find((f) => f.id === session.id)
        assert.deepStrictEqual([stored?.storedBytes, stored?.storedMd5], [content.length, md5(content)])
        // The same view for another process.
        const admin = json(yield* send("GET", "/__sandbox/files")) as { files: ReadonlyArray<{ id: string; storedMd5?: string }> }
        assert.strictEqual(admin.files.find((f) => f.id === session.id)?.storedMd5, md5(content))
        const logged = (yield* sandbox.requests).find((r) => r.method === "PUT")
        assert.deepStrictEqual([logged?.status, logged?.body, logged?.headers?.["x-sandbox-upload-token"]], [
          200,
          undefined,
          session.uploadHeaders["X-Sandbox-Upload-Token"]
        ])

        const wrong = yield* send("POST", `/v1/files/${session.id}/complete`, { key: keys.member, body: { md5: "0".repeat(32) } })
        assert.deepStrictEqual([wrong.status, (yield* errorOf(wrong)).param], [422, "md5"])
        const done = fileOf(yield* send("POST", `/v1/files/${session.id}/complete`, { key: keys.member, body: { md5: md5(content) } }))
        assert.strictEqual(done.status, "COMPLETED")
        assert.isNotNull(done.completedAt)
        // Completing again answers the file; cancelling a completed file is refused.
        assert.strictEqual((yield* send("POST", `/v1/files/${session.id}/complete`, { key: keys.member })).status, 200)
        const cancel = yield* send("POST", `/v1/files/${session.id}/cancel`, { key: keys.member })
        assert.deepStrictEqual([cancel.status, (yield* errorOf(cancel)).param], [422, "status"])

        const link = json(yield* send("GET", `/v1/files/${session.id}/url`, { key: keys.member })) as { url: string; expiresAt: string }
        assert.match(link.url, /op=download/)
        const download = yield* send("GET", link.url.slice(link.url.indexOf("/__storage")), { version: null })
        assert.deepStrictEqual([download.status, download.text, download.headers["content-type"]], [200, content, "text/plain"])
      }))

    it.effect("storage has its own auth: no bearer token, a valid signature, exactly the signed headers", () =>
      Effect.gen(function*() {
        const session = yield* createFile(keys.member, "abc")
        const withBearer = yield* putBytes(session.uploadUrl, "abc", { ...session.uploadHeaders, Authorization: `Bearer ${keys.member}` })
        assert.deepStrictEqual([withBearer.status, /Only one auth mechanism/.test(withBearer.text)], [400, true])
        const tampered = yield* putBytes(session.uploadUrl.replace(/signature=\w/, "signature=z"), "abc", session.uploadHeaders)
        assert.deepStrictEqual([tampered.status, /SignatureDoesNotMatch/.test(tampered.text)], [403, true])
        const noToken = yield* putBytes(session.uploadUrl, "abc", { "Content-Type": "text/plain" })
        assert.deepStrictEqual([noToken.status, /X-Sandbox-Upload-Token/.test(noToken.text)], [403, true])
        const otherType = yield* putBytes(session.uploadUrl, "abc", { ...session.uploadHeaders, "Content-Type": "text/html" })
        assert.strictEqual(otherType.status, 403)
      }))

    it.effect("the size is checked: a Content-Length other than sizeBytes is refused and nothing is stored", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const session = yield* createFile(keys.member, "abcd")
        const short = yield* putBytes(session.uploadUrl, "abc", session.uploadHeaders)
        assert.deepStrictEqual([short.status, /InvalidContentLength/.test(short.text)], [400, true])
        const long = yield* putBytes(session.uploadUrl, "abcde", session.uploadHeaders)
        assert.strictEqual(long.status, 400)
        assert.isUndefined((yield* sandbox.files).find((f) => f.id === session.id)?.storedBytes)
        const complete = yield* send("POST", `/v1/files/${session.id}/complete`, { key: keys.member, body: {} })
        assert.deepStrictEqual([complete.status, (yield* errorOf(complete)).param], [422, "sizeBytes"])
      }))

    it.effect("cancel: a PENDING file becomes CANCELLED (again: the same answer); it can no longer take bytes or complete", () =>
      Effect.gen(function*() {
        const session = yield* createFile(keys.member, "abc")
        const cancelled = fileOf(yield* send("POST", `/v1/files/${session.id}/cancel`, { key: keys.member }))
        assert.strictEqual(cancelled.status, "CANCELLED")
        assert.strictEqual(fileOf(yield* send("POST", `/v1/files/${session.id}/cancel`, { key: keys.member })).status, "CANCELLED")
        const put = yield* putBytes(session.uploadUrl, "abc", session.uploadHeaders)
        assert.deepStrictEqual([put.status, /CANCELLED/.test(put.text)], [409, true])
        const complete = yield* send("POST", `/v1/files/${session.id}/complete`, { key: keys.member })
        assert.deepStrictEqual([complete.status, (yield* errorOf(complete)).param], [422, "status"])
        const url = yield* send("GET", `/v1/files/${session.id}/url`, { key: keys.member })
        assert.deepStrictEqual([url.status, (yield* errorOf(url)).param], [422, "status"])
      }))
  })

  describe("transcripts", () => {
    it.effect("a meeting takes a COMPLETED file of its organisation; pending, cancelled or foreign ones are refused", () =>
      Effect.gen(function*() {
        const meeting = yield* meetingOf(yield* send("POST", "/v1/meetings", { key: keys.member, body: createBody() }))
        const replace = (fileId: string) =>
          send("POST", `/v1/meetings/${meeting.id}`, { key: keys.member, body: { relationships: { $transcript: { replace: fileId } } } })
        const pending = yield* createFile(keys.member, "abc")
        const cancelled = yield* createFile(keys.member, "abc")
        yield* send("POST", `/v1/files/${cancelled.id}/cancel`, { key: keys.member })
        for (const fileId of [pending.id, cancelled.id]) {
          const res = yield* replace(fileId)
          assert.deepStrictEqual([res.status, (yield* errorOf(res)).param], [422, "relationships.$transcript"])
        }
        const foreign = yield* completedFile(keys.otherOrg)
        const res = yield* replace(foreign)
        assert.deepStrictEqual([res.status, (yield* errorOf(res)).code], [400, "relationship_entity_missing"])
        const own = yield* completedFile(keys.member)
        const updated = yield* meetingOf(yield* replace(own))
        assert.deepStrictEqual(Option.getOrNull(updated.transcriptFileId), own)
      }))
  })
})

describe("files (own sandbox)", () => {
  it.scopedLive("an upload URL expires: storage refuses it, the file reads EXPIRED and cannot complete", () =>
    withSandbox({ seed: 22, meetings: 1, rateLimit: false, uploadUrlTtl: "10 minutes" }, (sandbox) =>
      Effect.gen(function*() {
        const key = sandbox.keys.member
        const session = yield* createFile(key, "abc")
        assert.strictEqual(Date.parse(session.expiresAt) - Date.now() <= 10 * 60 * 1000, true)
        yield* sandbox.advanceClock("11 minutes")
        const put = yield* putBytes(session.uploadUrl, "abc", session.uploadHeaders)
        assert.deepStrictEqual([put.status, /Request has expired/.test(put.text)], [403, true])
        assert.strictEqual(fileOf(yield* send("GET", `/v1/files/${session.id}`, { key })).status, "EXPIRED")
        const complete = yield* send("POST", `/v1/files/${session.id}/complete`, { key })
        assert.deepStrictEqual([complete.status, (yield* errorOf(complete)).param], [422, "status"])
      })))

  it.scopedLive("storage faults: UploadDrop cuts the connection mid-upload, Status answers 5xx, UrlExpired 403; none stores", () =>
    withSandbox({ seed: 23, meetings: 1, rateLimit: false }, (sandbox) =>
      Effect.gen(function*() {
        const key = sandbox.keys.member
        const content = "x".repeat(200_000)
        const session = yield* createFile(key, content)
        // Without `match`: the API requests in between do not use the upload-only rules up.
        yield* sandbox.inject(
          { fault: { _tag: "UploadDrop", afterBytes: 1000 }, times: 1 },
          { fault: { _tag: "UrlExpired" }, times: 1 },
          { fault: { _tag: "Status", status: 503 }, match: "PUT /__storage/*", times: 1 }
        )
        yield* send("GET", `/v1/files/${session.id}`, { key })
        const dropped = yield* Effect.either(putBytes(session.uploadUrl, content, session.uploadHeaders))
        assert.isTrue(dropped._tag === "Left")
        const expired = yield* putBytes(session.uploadUrl, content, session.uploadHeaders)
        assert.deepStrictEqual([expired.status, /expired/.test(expired.text)], [403, true])
        const unavailable = yield* putBytes(session.uploadUrl, content, session.uploadHeaders)
        assert.strictEqual(unavailable.status, 503)
        assert.isUndefined((yield* sandbox.files)[0]?.storedBytes)
        const faults = (yield* sandbox.requests).filter((r) => r.method === "PUT").map((r) => [r.status, r.fault])
        assert.deepStrictEqual(faults, [[0, "UploadDrop"], [403, "UrlExpired"], [503, "Status"]])
        const ok = yield* putBytes(session.uploadUrl, content, session.uploadHeaders)
        assert.strictEqual(ok.status, 200)
        assert.strictEqual((yield* sandbox.files)[0]?.storedBytes, content.length)
      })))

  it.scopedLive("legacyFileIds: unknown fil_ ids are taken as completed files (fil_pending… as pending)", () =>
    withSandbox({ seed: 24, meetings: 1, rateLimit: false, legacyFileIds: true }, (sandbox) =>
      Effect.gen(function*() {
        const key = sandbox.keys.member
        const ok = yield* send("POST", "/v1/meetings", { key, body: createBody({}, { relationships: { $transcript: "fil_any" } }) })
        assert.strictEqual(ok.status, 200)
        const pending = yield* send("POST", "/v1/meetings", { key, body: createBody({}, { relationships: { $transcript: "fil_pending_1" } }) })
        assert.strictEqual(pending.status, 422)
        const other = yield* send("POST", "/v1/meetings", { key, body: createBody({}, { relationships: { $transcript: "doc_1" } }) })
        assert.strictEqual(other.status, 400)
      })))
})
