/**
 * The `Files` service (spec §11): upload sessions, the upload of the bytes to storage, completion,
 * cancellation, the file itself and its download URL. Implemented over HTTP by `FilesClient`; a
 * `Context.Tag`, like `Meetings`, so tests and other stores can stand in.
 *
 * @since 0.1.0
 */
import type { Duration, Effect, Stream } from "effect"
import { Context } from "effect"
import type { CompleteFileParams, CreateFileParams, DownloadUrl, FileObject, UploadSession } from "./FileObject.js"
import type { FilesError, UploadFailed } from "./FilesError.js"
import type { CallOptions, WriteOptions } from "./Meetings.js"
import type { MeetingsError } from "./MeetingsError.js"

/**
 * Where the bytes of an upload come from: a file path (read through `@effect/platform`'s
 * `FileSystem`, its size from `stat`) or a stream of the declared size. Either is read chunk by
 * chunk, never whole; a retried upload reads it again from the start, so a stream must give the
 * same bytes each time it runs (e.g. one built from a file, not a one-shot socket).
 *
 * @since 0.1.0
 */
export type UploadSource =
  | { readonly _tag: "Path"; readonly path: string }
  | { readonly _tag: "Stream"; readonly stream: Stream.Stream<Uint8Array, unknown>; readonly sizeBytes: number }

/**
 * An upload source from a file path.
 *
 * @since 0.1.0
 */
export const fromPath = (path: string): UploadSource => ({ _tag: "Path", path })

/**
 * An upload source from a re-runnable stream of exactly `sizeBytes` bytes.
 *
 * @since 0.1.0
 */
export const fromStream = (stream: Stream.Stream<Uint8Array, unknown>, sizeBytes: number): UploadSource => ({
  _tag: "Stream",
  stream,
  sizeBytes
})

/**
 * Progress of an upload, reported after every chunk sent (chunks are at most the client's
 * `chunkSize`, 64 KiB by default). `attempt` starts at 1 and grows when storage failed and the
 * upload started again from byte 0.
 *
 * @since 0.1.0
 */
export interface UploadProgress {
  readonly fileId: string
  readonly attempt: number
  readonly sentBytes: number
  readonly totalBytes: number
}

/**
 * Options of `Files.upload`.
 *
 * @since 0.1.0
 */
export interface UploadOptions {
  readonly onProgress?: (progress: UploadProgress) => Effect.Effect<void>
  /**
   * Longest time one attempt may take; default: until the upload URL expires. An attempt that
   * times out is retried like a storage failure.
   */
  readonly timeout?: Duration.DurationInput
}

/**
 * What an upload sent: the bytes counted and their MD5 (computed while streaming), to pass to
 * `complete`.
 *
 * @since 0.1.0
 */
export interface Uploaded {
  readonly fileId: string
  readonly sizeBytes: number
  readonly md5: string
  /** Attempts it took (1 when the first one went through). */
  readonly attempts: number
}

/**
 * Where an upload goes: the parts of an `UploadSession` it needs.
 *
 * @since 0.1.0
 */
export type UploadTarget = Pick<UploadSession, "id" | "uploadUrl" | "uploadHeaders" | "expiresAt" | "sizeBytes">

/**
 * The `Files` service. API calls fail with `MeetingsError` (the errors every call can meet; a 404
 * is `FileNotFound`) or `FilesError`; the upload to storage fails only with `UploadFailed`.
 *
 * @since 0.1.0
 */
export interface FilesShape {
  /** `POST /v1/files`: opens an upload session (a `PENDING` file). */
  readonly create: (
    params: CreateFileParams,
    options?: WriteOptions
  ) => Effect.Effect<UploadSession, MeetingsError | FilesError>
  /**
   * `PUT <uploadUrl>` with exactly the session's `uploadHeaders` (no bearer token, no version
   * header), streamed. Retried from byte 0 on a transient storage failure while the URL lives.
   */
  readonly upload: (
    target: UploadTarget,
    source: UploadSource,
    options?: UploadOptions
  ) => Effect.Effect<Uploaded, UploadFailed>
  /** `POST /v1/files/{id}/complete`, with the MD5 the upload computed (recommended). */
  readonly complete: (
    id: string,
    params?: CompleteFileParams,
    options?: WriteOptions
  ) => Effect.Effect<FileObject, MeetingsError | FilesError>
  /** `POST /v1/files/{id}/cancel`: only a `PENDING` file can be cancelled. */
  readonly cancel: (id: string, options?: WriteOptions) => Effect.Effect<FileObject, MeetingsError | FilesError>
  /** `GET /v1/files/{id}`. */
  readonly retrieve: (id: string, options?: CallOptions) => Effect.Effect<FileObject, MeetingsError | FilesError>
  /** `GET /v1/files/{id}/url`: a temporary download URL of a `COMPLETED` file. */
  readonly downloadUrl: (id: string, options?: CallOptions) => Effect.Effect<DownloadUrl, MeetingsError | FilesError>
  /** The byte size of a source (`stat` of a path; the declared size of a stream). */
  readonly sizeOf: (source: UploadSource) => Effect.Effect<number, UploadFailed>
}

/**
 * The `Files` service tag. Implemented over HTTP by `FilesClient`.
 *
 * @since 0.1.0
 */
export class Files extends Context.Tag("@lightfield-effect/core/Files")<Files, FilesShape>() {}
