/**
 * The HTTP implementation of `Files` (spec §11). API calls go through the same machinery as
 * `MeetingsClient` (`MeetingsClient.makeCaller`: request building from the endpoint table, auth,
 * version header, rate limiting by category, retries honouring `Retry-After`, one idempotency key
 * per logical write). The bytes go straight to storage (`internal/upload.ts`). Reading a path
 * needs `@effect/platform`'s `FileSystem`, which the application provides (e.g. `NodeFileSystem`).
 *
 * The upload is a streamed `PUT` with a `Content-Length`, which storage requires: use an
 * `HttpClient` that sends both, such as `@effect/platform-node`'s (Node's `http` or undici). A
 * `fetch`-based client sends a streamed body chunked, without the length, and storage refuses it
 * (`UploadFailed{Storage}`, status 411).
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as FileSystem from "@effect/platform/FileSystem"
import type { ConfigError, ParseResult } from "effect"
import { Config, Duration, Effect, Either, Layer, Option, Redacted, Schema } from "effect"
import * as Endpoint from "./Endpoint.js"
import {
  CompleteFileParams,
  CreateFileParams,
  DownloadUrl,
  FileObject,
  UploadSession,
  validateId
} from "./FileObject.js"
import type { FilesShape, UploadOptions, UploadSource, UploadTarget } from "./Files.js"
import { Files } from "./Files.js"
import type { FilesError } from "./FilesError.js"
import { FileNotFound, FileNotUsable, UploadFailed } from "./FilesError.js"
import * as IdempotencyKey from "./IdempotencyKey.js"
import { check as checkCallOptions } from "./internal/callOptions.js"
import * as Request from "./internal/request.js"
import * as Upload from "./internal/upload.js"
import type { CallOptions, WriteOptions } from "./Meetings.js"
import * as MeetingsClient from "./MeetingsClient.js"
import * as MeetingsConfig from "./MeetingsConfig.js"
import type { MeetingsError, Unprocessable } from "./MeetingsError.js"
import { InvalidConfig } from "./MeetingsError.js"
import * as ParamsProblem from "./ParamsProblem.js"

/**
 * Default largest chunk of an upload: 64 KiB.
 *
 * @since 0.1.0
 */
export const defaultChunkSize = 64 * 1024

/**
 * Options of the files client: those of `MeetingsClient` plus how uploads are chunked and retried.
 *
 * @since 0.1.0
 */
export interface Options extends MeetingsConfig.Options {
  /** Largest chunk sent and reported at once, 1 byte to 16 MiB (default 64 KiB). */
  readonly uploadChunkSize?: number
  /**
   * Retries of an upload after a transient storage failure: `maxRetries` (default: the options'
   * `maxRetries`), exponential backoff from `base` (0.5 s) up to `maxDelay` (8 s). Each retry
   * starts again from byte 0, and none starts after the upload URL expired.
   */
  readonly uploadRetries?: {
    readonly maxRetries?: number
    readonly base?: Duration.DurationInput
    readonly maxDelay?: Duration.DurationInput
  }
}

const validateCreate = ParamsProblem.validator(CreateFileParams)
const validateComplete = ParamsProblem.validator(CompleteFileParams)

const decodeSession = Schema.decodeUnknownEither(Schema.parseJson(UploadSession))
const decodeFile = Schema.decodeUnknownEither(Schema.parseJson(FileObject))
const decodeDownload = Schema.decodeUnknownEither(Schema.parseJson(DownloadUrl))

/** The fixed part of a files call: `Request.callOf` with the span and log name `Files.<name>`. */
const callOf = (endpoint: Endpoint.Endpoint, id?: string) => ({
  ...Request.callOf(endpoint, id),
  name: `Files.${endpoint.name}`
})

const checkUploadOptions = (options: Options): Effect.Effect<void, InvalidConfig> => {
  const chunkSize = options.uploadChunkSize ?? defaultChunkSize
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > 16 * 1024 * 1024) {
    return new InvalidConfig({ option: "uploadChunkSize", message: "uploadChunkSize must be an integer from 1 to 16777216" })
  }
  const retries = options.uploadRetries?.maxRetries
  if (retries !== undefined && (!Number.isInteger(retries) || retries < 0)) {
    return new InvalidConfig({ option: "uploadRetries", message: "uploadRetries.maxRetries must be an integer ≥ 0" })
  }
  for (const key of ["base", "maxDelay"] as const) {
    const value = options.uploadRetries?.[key]
    if (value === undefined) continue
    const decoded = Option.liftThrowable(Duration.decode)(value)
    if (Option.isNone(decoded) || Duration.lessThan(decoded.value, Duration.zero)) {
      return new InvalidConfig({ option: "uploadRetries", message: `uploadRetries.${key} must be a duration ≥ 0` })
    }
  }
  return Effect.void
}

/**
 * Build the `Files` service over the ambient `HttpClient` and `FileSystem`. The options are checked
 * first: unusable ones fail with `InvalidConfig` before anything is sent.
 *
 * @since 0.1.0
 */
export const make = (
  options: Options
): Effect.Effect<FilesShape, InvalidConfig, HttpClient.HttpClient | FileSystem.FileSystem> =>
  Effect.gen(function*() {
    yield* checkUploadOptions(options)
    const { config, platform, run } = yield* MeetingsClient.makeCaller(options)
    const fs = yield* FileSystem.FileSystem
    const deps: Upload.Deps = {
      platform,
      fs,
      chunkSize: options.uploadChunkSize ?? defaultChunkSize,
      retry: {
        maxRetries: options.uploadRetries?.maxRetries ?? config.maxRetries,
        retryAfterCap: config.retryAfterCap,
        ...(options.uploadRetries?.base === undefined ? {} : { base: options.uploadRetries.base }),
        ...(options.uploadRetries?.maxDelay === undefined ? {} : { maxDelay: options.uploadRetries.maxDelay })
      }
    }

    /** A 404 of a files endpoint is about the file. */
    const fileNotFound = (id: string) => (error: MeetingsError): Effect.Effect<never, MeetingsError | FilesError> =>
      error._tag === "MeetingNotFound" ? Effect.fail(new FileNotFound({ id, message: error.message })) : Effect.fail(error)

    const retrieve = Effect.fn("Files.retrieve")(function*(id: string, callOptions?: CallOptions) {
      const checked = yield* checkCallOptions(callOptions)
      const fileId = yield* validateId(id)
      return yield* run({ ...callOf(Endpoint.Files.retrieve, fileId), id: fileId, options: checked, decode: decodeFile })
        .pipe(Effect.catchAll(fileNotFound(fileId)))
    })

    /** A 422 about the file's status: what the status is, when it can be learnt. */
    const notUsable = (id: string, error: Unprocessable) =>
      retrieve(id).pipe(
        Effect.map((file) => Option.some(file.status)),
        Effect.orElseSucceed(() => Option.none()),
        Effect.flatMap((status) =>
          Effect.fail(
            new FileNotUsable({ id, message: error.message, ...Option.match(status, { onNone: () => ({}), onSome: (s) => ({ status: s }) }) })
          )
        )
      )

    /** The 422s of complete, cancel and downloadUrl as files errors. */
    const fileProblem = (id: string) => (error: MeetingsError): Effect.Effect<never, MeetingsError | FilesError> => {
      if (error._tag !== "Unprocessable") return fileNotFound(id)(error)
      switch (error.param) {
        case "md5":
          return Effect.fail(new UploadFailed({ id, reason: "Md5Mismatch", status: 422, message: error.message }))
        case "sizeBytes":
          return Effect.fail(new UploadFailed({ id, reason: "SizeMismatch", status: 422, message: error.message }))
        case "status":
          return notUsable(id, error)
        default:
          return Effect.fail(error)
      }
    }

    const write = <A>(
      endpoint: Endpoint.Endpoint,
      id: string,
      body: unknown,
      writeOptions: WriteOptions | undefined,
      decode: (text: string) => Either.Either<A, ParseResult.ParseError>
    ) =>
      Effect.gen(function*() {
        const checked = yield* checkCallOptions(writeOptions)
        const idempotencyKey = yield* IdempotencyKey.resolve(writeOptions?.idempotencyKey)
        return yield* run({ ...callOf(endpoint, id), body, idempotencyKey, id, options: checked, decode }).pipe(
          Effect.catchAll(fileProblem(id))
        )
      })

    const create = Effect.fn("Files.create")(function*(params: CreateFileParams, writeOptions?: WriteOptions) {
      const checked = yield* checkCallOptions(writeOptions)
      const body = yield* validateCreate(params)
      // One key per logical call, reused by every retry.
      const idempotencyKey = yield* IdempotencyKey.resolve(writeOptions?.idempotencyKey)
      return yield* run({ ...callOf(Endpoint.Files.create), body, idempotencyKey, options: checked, decode: decodeSession })
    })

    const complete = Effect.fn("Files.complete")(
      function*(id: string, params?: CompleteFileParams, writeOptions?: WriteOptions) {
        const fileId = yield* validateId(id)
        const body = yield* validateComplete(params ?? {})
        return yield* write(Endpoint.Files.complete, fileId, body, writeOptions, decodeFile)
      }
    )

    const cancel = Effect.fn("Files.cancel")(function*(id: string, writeOptions?: WriteOptions) {
      const fileId = yield* validateId(id)
      return yield* write(Endpoint.Files.cancel, fileId, {}, writeOptions, decodeFile)
    })

    const downloadUrl = Effect.fn("Files.downloadUrl")(function*(id: string, callOptions?: CallOptions) {
      const checked = yield* checkCallOptions(callOptions)
      const fileId = yield* validateId(id)
      return yield* run({ ...callOf(Endpoint.Files.downloadUrl, fileId), id: fileId, options: checked, decode: decodeDownload })
        .pipe(Effect.catchAll(fileProblem(fileId)))
    })

    const upload = Effect.fn("Files.upload")(
      (target: UploadTarget, source: UploadSource, uploadOptions?: UploadOptions) => Upload.upload(deps, target, source, uploadOptions)
    )

    const sizeOf = (source: UploadSource) => Upload.sizeOf(fs, source)

    return { create, upload, complete, cancel, retrieve, downloadUrl, sizeOf } satisfies FilesShape
  })

/**
 * `Files` over HTTP with the given options (checked when the layer is built).
 *
 * @since 0.1.0
 */
export const layer = (
  options: Options
): Layer.Layer<Files, InvalidConfig, HttpClient.HttpClient | FileSystem.FileSystem> => Layer.effect(Files, make(options))

/**
 * `Files` over HTTP, options read from `Config` (default: `MeetingsConfig.config`, the environment).
 *
 * @since 0.1.0
 */
export const layerConfig = (
  config: Config.Config<Options> = MeetingsConfig.config
): Layer.Layer<Files, ConfigError.ConfigError | InvalidConfig, HttpClient.HttpClient | FileSystem.FileSystem> =>
  Layer.effect(Files, Effect.flatMap(config, make))

/**
 * For callers that hold the key as a plain string (tests against the sandbox): wraps it in
 * `Redacted` at once.
 *
 * @since 0.1.0
 */
export const layerWithApiKey = (
  apiKey: string,
  options?: Omit<Options, "apiKey">
): Layer.Layer<Files, InvalidConfig, HttpClient.HttpClient | FileSystem.FileSystem> =>
  layer({ ...options, apiKey: Redacted.make(apiKey) })
