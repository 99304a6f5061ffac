/**
 * The upload of a file's bytes to its presigned URL: one `PUT` with exactly the session's
 * `uploadHeaders` (no bearer token, no version header, no trace headers) and a `Content-Length`,
 * the body streamed from the source in bounded chunks while it is counted and MD5-hashed, so the
 * file is never held whole (a file path is read through a small ring of reused buffers,
 * `fileChunks.ts`). A transient storage failure (5xx, 408, 429, a dropped connection, a
 * timeout) starts the upload again from byte 0, with backoff, while the URL lives.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Clock, DateTime, Duration, Effect, Option, Ref, Stream } from "effect"
import type { UploadOptions, UploadSource, Uploaded, UploadTarget } from "../Files.js"
import { UploadFailed } from "../FilesError.js"
import { retryAfterFromHeaders } from "./answer.js"
import * as Body from "./body.js"
import * as FileChunks from "./fileChunks.js"
import * as Md5 from "./md5.js"
import type { BackoffOptions } from "./retry.js"
import { backoff } from "./retry.js"

export interface Deps {
  /** The platform client as provided: nothing but `uploadHeaders` may be added to the request. */
  readonly platform: HttpClient.HttpClient
  readonly fs: FileSystem.FileSystem
  /** Largest chunk sent (and reported) at once. */
  readonly chunkSize: number
  readonly retry: BackoffOptions
}

/** A failed attempt: the error it would end with, and whether another attempt may help. */
interface AttemptFailure {
  readonly error: UploadFailed
  readonly transient: boolean
  readonly retryAfter: Option.Option<Duration.Duration>
}

const final = (error: UploadFailed): AttemptFailure => ({ error, transient: false, retryAfter: Option.none() })

/** What storage said, cut short for a message (it may be an XML or HTML page). */
const excerpt = (text: string) => text.replace(/\s+/g, " ").trim().slice(0, 200)

/** The largest error body read from storage. */
const maxErrorBody = 16 * 1024

const sourceError = (source: UploadSource, id: string | undefined, cause: unknown) =>
  new UploadFailed({
    ...(id === undefined ? {} : { id }),
    reason: "Source",
    message: source._tag === "Path"
      ? `Cannot read ${JSON.stringify(source.path)}: ${cause instanceof Error ? cause.message : String(cause)}`
      : `The source stream failed: ${cause instanceof Error ? cause.message : String(cause)}`,
    cause
  })

/** The byte size of a source: `stat` of a path, the declared size of a stream. */
export const sizeOf = (
  fs: FileSystem.FileSystem,
  source: UploadSource,
  id?: string
): Effect.Effect<number, UploadFailed> =>
  source._tag === "Stream"
    ? Effect.succeed(source.sizeBytes)
    : fs.stat(source.path).pipe(
      Effect.mapError((cause) => sourceError(source, id, cause)),
      Effect.filterOrFail(
        (info) => info.type === "File",
        () => sourceError(source, id, new Error("not a regular file"))
      ),
      Effect.map((info) => Number(info.size))
    )

/** Views of at most `size` bytes over `chunk` (no copy). */
const split = (size: number) => (chunk: Uint8Array): ReadonlyArray<Uint8Array> => {
  if (chunk.length <= size) return [chunk]
  const out: Array<Uint8Array> = []
  for (let at = 0; at < chunk.length; at += size) out.push(chunk.subarray(at, at + size))
  return out
}

/** Storage's answer to a failed `PUT`, by status (and, for a 403, whether it says the URL expired). */
const storageFailure = (
  id: string,
  status: number,
  text: string,
  retryAfter: Option.Option<Duration.Duration>
): AttemptFailure => {
  if (status === 403 && /expired/i.test(text)) {
    return final(new UploadFailed({ id, reason: "UrlExpired", status, message: `Storage says the upload URL expired (${excerpt(text)})` }))
  }
  const transient = status === 408 || status === 429 || status >= 500
  return {
    error: new UploadFailed({ id, reason: "Storage", status, message: `Storage answered ${status}: ${excerpt(text)}` }),
    transient,
    retryAfter
  }
}

/**
 * Sends the bytes of `source` to `target.uploadUrl`, retrying from the start on transient storage
 * failures while the URL lives. Fails only with `UploadFailed`.
 */
export const upload = (
  deps: Deps,
  target: UploadTarget,
  source: UploadSource,
  options: UploadOptions = {}
): Effect.Effect<Uploaded, UploadFailed> =>
  Effect.gen(function*() {
    const id = target.id
    const size = target.sizeBytes
    const expiresAt = DateTime.toEpochMillis(target.expiresAt)
    const expired = (message: string) => new UploadFailed({ id, reason: "UrlExpired", message })
    let url: URL
    try {
      url = new URL(target.uploadUrl)
    } catch {
      return yield* new UploadFailed({ id, reason: "Storage", message: "The upload URL is not a URL" })
    }
    // A file on disk of another size fails before anything is sent.
    const actual = yield* sizeOf(deps.fs, source, id)
    if (actual !== size) {
      return yield* new UploadFailed({ id, reason: "SizeMismatch", message: `The source has ${actual} bytes, the file declares ${size}` })
    }
    // No `traceparent`/`b3` either: storage gets exactly the signed headers.
    const client = HttpClient.withTracerPropagation(deps.platform, false)
    const perAttempt = Option.map(Option.fromNullable(options.timeout), Duration.decode)
    const attempts = yield* Ref.make(0)

    const attempt = Effect.gen(function*() {
      const n = yield* Ref.updateAndGet(attempts, (k) => k + 1)
      const left = expiresAt - (yield* Clock.currentTimeMillis)
      if (left <= 0) {
        return yield* Effect.fail(final(expired(`The upload URL expired at ${DateTime.formatIso(target.expiresAt)}`)))
      }
      const md5 = Md5.make()
      let sent = 0
      // Set by the body stream when the source, not storage, is at fault: the request then fails
      // as a transport error, and this says what really happened.
      let problem: UploadFailed | undefined
      const fail = (error: UploadFailed) => {
        problem = error
        return Effect.fail(error)
      }
      const bytes: Stream.Stream<Uint8Array, unknown> = source._tag === "Path"
        ? FileChunks.read(deps.fs, source.path, deps.chunkSize)
        : source.stream
      const body = bytes.pipe(
        Stream.catchAll((cause) => Stream.fromEffect(fail(sourceError(source, id, cause)))),
        Stream.mapConcat(split(deps.chunkSize)),
        // One chunk ahead: a source longer than declared is caught before its last declared byte
        // goes out, so storage never sees a complete body cut from a longer file.
        Stream.zipWithNext,
        Stream.mapEffect(([chunk, next]) => {
          sent += chunk.length
          if (sent > size || (sent === size && Option.isSome(next))) {
            return fail(new UploadFailed({ id, reason: "SizeMismatch", message: `The source has more than the ${size} bytes declared` }))
          }
          md5.update(chunk)
          const progress = options.onProgress?.({ fileId: id, attempt: n, sentBytes: sent, totalBytes: size })
          return progress === undefined ? Effect.succeed(chunk) : Effect.as(progress, chunk)
        }),
        Stream.concat(Stream.suspend(() =>
          sent === size
            ? Stream.empty
            : Stream.fromEffect(fail(new UploadFailed({ id, reason: "SizeMismatch", message: `The source ended after ${sent} of ${size} bytes` })))
        ))
      )
      const request = HttpClientRequest.put(url).pipe(
        // No content type of its own (""): only what storage signed, from `uploadHeaders`.
        HttpClientRequest.setBody(HttpBody.stream(body, "", size)),
        HttpClientRequest.setHeaders(target.uploadHeaders)
      )
      // The URL's end bounds every attempt; a shorter per-attempt timeout is retried.
      const byExpiry = Option.match(perAttempt, { onNone: () => true, onSome: (t) => Duration.toMillis(t) >= left })
      const limit = byExpiry ? Duration.millis(left) : Option.getOrThrow(perAttempt)
      const answer = yield* client.execute(request).pipe(
        Effect.flatMap((response) =>
          Effect.map(Body.read(response, maxErrorBody), (read) => ({
            status: response.status,
            headers: response.headers,
            text: read._tag === "Text" ? read.text : ""
          }))
        ),
        Effect.mapError((cause): AttemptFailure =>
          problem !== undefined
            ? final(problem)
            : {
              error: new UploadFailed({ id, reason: "Storage", message: `The upload was cut off: ${cause.message}`, cause }),
              transient: true,
              retryAfter: Option.none()
            }
        ),
        Effect.timeoutFail({
          duration: limit,
          onTimeout: (): AttemptFailure =>
            byExpiry
              ? final(expired(`The upload URL expired during the upload (at ${DateTime.formatIso(target.expiresAt)})`))
              : {
                error: new UploadFailed({ id, reason: "Storage", message: `Storage did not answer within ${Duration.format(limit)}` }),
                transient: true,
                retryAfter: Option.none()
              }
        })
      )
      if (answer.status < 200 || answer.status >= 300) {
        const now = yield* Clock.currentTimeMillis
        return yield* Effect.fail(storageFailure(id, answer.status, answer.text, retryAfterFromHeaders(answer.headers, now)))
      }
      if (problem !== undefined) return yield* Effect.fail(final(problem))
      return { fileId: id, sizeBytes: size, md5: md5.digestHex(), attempts: n } satisfies Uploaded
    }).pipe(
      Effect.tapError((failure) =>
        Effect.logDebug("Lightfield upload attempt failed").pipe(
          Effect.annotateLogs({ reason: failure.error.reason, message: failure.error.message, transient: failure.transient })
        )
      )
    )

    return yield* attempt.pipe(
      Effect.retry(backoff(deps.retry, (f: AttemptFailure) => f.transient, (f) => f.retryAfter)),
      Effect.mapError((failure) => failure.error),
      // One Debug line per upload, like the API calls'.
      Effect.tapBoth({
        onSuccess: (done) => Effect.logDebug("Lightfield upload succeeded").pipe(Effect.annotateLogs({ attempts: done.attempts })),
        onFailure: (error) =>
          Effect.flatMap(Ref.get(attempts), (n) =>
            Effect.logDebug("Lightfield upload failed").pipe(Effect.annotateLogs({ attempts: n, reason: error.reason })))
      })
    )
  }).pipe(Effect.annotateLogs({ service: "lightfield", call: "Files.upload" }))
