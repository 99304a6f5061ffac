/**
 * The files API's wire shapes (spec §11): the file object with its status, the upload session a
 * create answers (presigned `uploadUrl`, `uploadHeaders`, `expiresAt`), the download URL, and the
 * create/complete bodies. The same schemas validate on the client before anything is sent and on
 * the sandbox.
 *
 * @since 0.1.0
 */
import { Either, Schema } from "effect"
import { isMeetingId } from "./Meeting.js"
import { InvalidParams } from "./MeetingsError.js"

/**
 * The largest file the API accepts: 512 MiB.
 *
 * @since 0.1.0
 */
export const MaxSizeBytes = 536_870_912

/**
 * A file id (`fil_…`). Opaque, with the same one-path-segment grammar as meeting ids, so it can be
 * put into `/v1/files/{id}` as is.
 *
 * @since 0.1.0
 */
export const FileId = Schema.String.pipe(
  Schema.filter(isMeetingId, {
    message: () => "must be a file id: 1 to 255 URL path characters (no '/', '?', '#', '%', spaces), not '.' or '..'"
  }),
  Schema.brand("FileId")
).annotations({ identifier: "FileId" })

/**
 * @since 0.1.0
 */
/**
 * The type of the `FileId` schema's values.
 *
 * @since 0.1.0
 */
export type FileId = typeof FileId.Type

/**
 * Checks a file id before any request is sent: `InvalidParams{param: "id"}` when it is not one.
 *
 * @since 0.1.0
 */
export const validateId = (id: string): Either.Either<FileId, InvalidParams> =>
  typeof id === "string" && isMeetingId(id)
    ? Either.right(id as FileId)
    : Either.left(
      new InvalidParams({
        param: "id",
        message: `id ${JSON.stringify(String(id).slice(0, 64))} is not a file id (1 to 255 URL path characters, not '.' or '..')`,
        status: 400
      })
    )

/**
 * A file's status: `PENDING` (upload session open), `COMPLETED` (usable as a transcript and
 * downloadable), `CANCELLED`, `EXPIRED` (the session ran out before it was completed).
 *
 * @since 0.1.0
 */
export const FileStatus = Schema.Literal("PENDING", "COMPLETED", "CANCELLED", "EXPIRED").annotations({
  identifier: "FileStatus"
})

/**
 * @since 0.1.0
 */
/**
 * The type of the `FileStatus` schema's values.
 *
 * @since 0.1.0
 */
export type FileStatus = typeof FileStatus.Type

/**
 * What a file is for: a validation hint (per-purpose MIME and size limits), not stored.
 *
 * @since 0.1.0
 */
export const FilePurpose = Schema.Literal(
  "meeting_transcript",
  "knowledge_user",
  "knowledge_workspace",
  "email_attachment"
).annotations({ identifier: "FilePurpose" })

/**
 * @since 0.1.0
 */
/**
 * The type of the `FilePurpose` schema's values.
 *
 * @since 0.1.0
 */
export type FilePurpose = typeof FilePurpose.Type

/**
 * A media type, `type/subtype` with optional parameters (`text/vtt`, `text/plain; charset=utf-8`).
 *
 * @since 0.1.0
 */
export const MimeType = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][\w!#$&^.+-]*\/[A-Za-z0-9][\w!#$&^.+-]*(\s*;\s*[\w!#$&^.+-]+=("[^"\r\n]*"|[\w!#$&^.+-]+))*$/, {
    message: () => "must be a media type such as text/plain or text/vtt"
  })
).annotations({ identifier: "MimeType" })

/**
 * Body of `POST /v1/files`: `filename` 1–255 characters, `mimeType`, `sizeBytes` 1..512 MiB and an
 * optional `purpose`.
 *
 * @since 0.1.0
 */
export const CreateFileParams = Schema.Struct({
  filename: Schema.String.pipe(
    Schema.minLength(1, { message: () => "must not be empty" }),
    Schema.maxLength(255, { message: () => "must be at most 255 characters" })
  ),
  mimeType: MimeType,
  sizeBytes: Schema.Int.pipe(
    Schema.between(1, MaxSizeBytes, { message: () => `must be an integer from 1 to ${MaxSizeBytes}` })
  ),
  purpose: Schema.optionalWith(FilePurpose, { exact: true })
}).annotations({ identifier: "CreateFileParams" })

/**
 * The type of `CreateFileParams`.
 *
 * @since 0.1.0
 */
export type CreateFileParams = typeof CreateFileParams.Type

/**
 * An MD5 digest as 32 lowercase hex characters.
 *
 * @since 0.1.0
 */
export const Md5Hex = Schema.String.pipe(
  Schema.pattern(/^[0-9a-f]{32}$/, { message: () => "must be an MD5 digest: 32 lowercase hex characters" })
).annotations({ identifier: "Md5Hex" })

/**
 * Body of `POST /v1/files/{id}/complete` (optional): the MD5 of the uploaded bytes.
 *
 * @since 0.1.0
 */
export const CompleteFileParams = Schema.Struct({
  md5: Schema.optionalWith(Md5Hex, { exact: true })
}).annotations({ identifier: "CompleteFileParams" })

/**
 * The type of `CompleteFileParams`.
 *
 * @since 0.1.0
 */
export type CompleteFileParams = typeof CompleteFileParams.Type

/**
 * The headers to send with the bytes, exactly as given (a map of name to value).
 *
 * @since 0.1.0
 */
export const UploadHeaders = Schema.Record({ key: Schema.String, value: Schema.String })

const common = {
  id: FileId,
  status: FileStatus,
  filename: Schema.String,
  mimeType: Schema.String,
  sizeBytes: Schema.Int.pipe(Schema.nonNegative()),
  createdAt: Schema.DateTimeUtc,
  completedAt: Schema.NullOr(Schema.DateTimeUtc)
}

/**
 * A file as `retrieve`, `complete` and `cancel` answer it. The upload session's keys are optional:
 * only the create answer is known to carry them.
 *
 * @since 0.1.0
 */
export class FileObject extends Schema.Class<FileObject>("FileObject")({
  ...common,
  expiresAt: Schema.optionalWith(Schema.NullOr(Schema.DateTimeUtc), { exact: true }),
  uploadUrl: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true }),
  uploadHeaders: Schema.optionalWith(Schema.NullOr(UploadHeaders), { exact: true })
}) {}

/**
 * The answer of `POST /v1/files`: a `PENDING` file with where and how to send its bytes, and until
 * when (`expiresAt`). Keep it to resume an upload (it is what `TranscriptJournal` records).
 *
 * @since 0.1.0
 */
export class UploadSession extends Schema.Class<UploadSession>("UploadSession")({
  ...common,
  expiresAt: Schema.DateTimeUtc,
  uploadUrl: Schema.String,
  uploadHeaders: UploadHeaders
}) {}

/**
 * The answer of `GET /v1/files/{id}/url`: a temporary URL to download a completed file. [GAP] The
 * key names are assumed.
 *
 * @since 0.1.0
 */
export class DownloadUrl extends Schema.Class<DownloadUrl>("DownloadUrl")({
  url: Schema.String,
  expiresAt: Schema.DateTimeUtc
}) {}
