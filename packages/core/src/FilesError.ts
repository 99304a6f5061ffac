/**
 * What can go wrong with a file beyond what every API call can meet (`MeetingsError`): the file
 * does not exist, it is in the wrong status for the operation, or its bytes did not make it.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { FileStatus } from "./FileObject.js"

/**
 * 404 on a files endpoint: no file with this id, or the caller may not see it.
 *
 * @since 0.1.0
 */
export class FileNotFound extends Schema.TaggedError<FileNotFound>()("FileNotFound", {
  id: Schema.optional(Schema.String),
  message: Schema.String
}) {}

/**
 * The file's status does not allow the operation: downloading or attaching a file that is not
 * `COMPLETED`, completing or cancelling one that is no longer `PENDING` (`CANCELLED`, `EXPIRED`,
 * or `COMPLETED` for a cancel). `status` is the file's status when it could be learnt.
 *
 * @since 0.1.0
 */
export class FileNotUsable extends Schema.TaggedError<FileNotUsable>()("FileNotUsable", {
  id: Schema.String,
  status: Schema.optional(FileStatus),
  message: Schema.String
}) {}

/**
 * Why an upload failed:
 *
 * - `SizeMismatch`: the source did not have the declared `sizeBytes` (counted while streaming), or
 *   the server found another byte count on complete.
 * - `Md5Mismatch`: the server's MD5 of the stored bytes differs from the one sent on complete.
 * - `UrlExpired`: the upload URL's lifetime ran out (before an attempt, during one, or as storage
 *   said); the upload needs a new file.
 * - `Storage`: storage kept failing (5xx, dropped connections, timeouts) after the retries, or
 *   refused the request (another 4xx).
 * - `Source`: the bytes could not be read (a file path that cannot be opened, a failing stream).
 *
 * @since 0.1.0
 */
export const UploadFailureReason = Schema.Literal("SizeMismatch", "Md5Mismatch", "UrlExpired", "Storage", "Source")

/**
 * @since 0.1.0
 */
/**
 * The type of the `UploadFailureReason` schema's values.
 *
 * @since 0.1.0
 */
export type UploadFailureReason = typeof UploadFailureReason.Type

/**
 * The bytes of file `id` did not make it (or could not be read) (see `UploadFailureReason`). `status` is storage's (or the
 * API's) HTTP status when there was one.
 *
 * @since 0.1.0
 */
export class UploadFailed extends Schema.TaggedError<UploadFailed>()("UploadFailed", {
  /** The file, when there is one yet (a source that cannot be read may fail before it is created). */
  id: Schema.optional(Schema.String),
  reason: UploadFailureReason,
  message: Schema.String,
  status: Schema.optional(Schema.Number),
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * Every failure specific to files, as one Schema union (to keep it, e.g. in a journal).
 *
 * @since 0.1.0
 */
export const FilesError = Schema.Union(FileNotFound, FileNotUsable, UploadFailed)

/**
 * The type of `FilesError`.
 *
 * @since 0.1.0
 */
export type FilesError = typeof FilesError.Type
