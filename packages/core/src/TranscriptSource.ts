/**
 * Where a transcript's bytes come from, and the options of a transcript run (`Transcripts`).
 *
 * @since 0.1.0
 */
import type { Duration, Effect, Stream } from "effect"
import type { UploadProgress } from "./Files.js"

/**
 * A transcript's bytes: a file path (name from the path, type from its extension unless given) or
 * a re-runnable stream of `sizeBytes` bytes with its name.
 *
 * @since 0.1.0
 */
export type TranscriptSource =
  | { readonly _tag: "Path"; readonly path: string; readonly filename?: string; readonly mimeType?: string }
  | {
    readonly _tag: "Stream"
    readonly stream: Stream.Stream<Uint8Array, unknown>
    readonly sizeBytes: number
    readonly filename: string
    readonly mimeType?: string
  }

/**
 * A transcript from a file path.
 *
 * @since 0.1.0
 */
export const fromPath = (
  path: string,
  options?: { readonly filename?: string; readonly mimeType?: string }
): TranscriptSource => ({ _tag: "Path", path, ...options })

/**
 * A transcript from a re-runnable stream (a retried upload runs it again from the start).
 *
 * @since 0.1.0
 */
export const fromStream = (
  stream: Stream.Stream<Uint8Array, unknown>,
  options: { readonly sizeBytes: number; readonly filename: string; readonly mimeType?: string }
): TranscriptSource => ({ _tag: "Stream", stream, ...options })

/**
 * Options of `attach` and `create`.
 *
 * @since 0.1.0
 */
export interface TranscriptOptions {
  /**
   * The run's key in the journal. Default: `attach:<meetingId>` for `attach`, and for `create` a
   * digest of the params (the same params and source resume the same run).
   */
  readonly key?: string
  /** Upload progress, after every chunk sent. */
  readonly onProgress?: (progress: UploadProgress) => Effect.Effect<void>
  /** Longest time one upload attempt may take (default: until the upload URL expires). */
  readonly uploadTimeout?: Duration.DurationInput
}
