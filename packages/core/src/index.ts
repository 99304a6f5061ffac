/**
 * The endpoint table of the API (spec §2, §3, §9, §10, §12).
 *
 * @since 0.1.0
 */
export * as Endpoint from "./Endpoint.js"
/**
 * Error bodies (spec §8.1).
 *
 * @since 0.1.0
 */
export * as ErrorBody from "./ErrorBody.js"
/**
 * Field values as the API reads them back.
 *
 * @since 0.1.0
 */
export * as FieldValue from "./FieldValue.js"
/**
 * The files API's wire shapes (spec §11).
 *
 * @since 0.1.0
 */
export * as FileObject from "./FileObject.js"
/**
 * The `Files` service (spec §11).
 *
 * @since 0.1.0
 */
export * as Files from "./Files.js"
/**
 * The HTTP implementation of `Files` (spec §11).
 *
 * @since 0.1.0
 */
export * as FilesClient from "./FilesClient.js"
/**
 * What can go wrong with a file beyond what every API call can meet (`MeetingsError`).
 *
 * @since 0.1.0
 */
export * as FilesError from "./FilesError.js"
/**
 * The `Idempotency-Key` rule (spec §10), for the client, the cache's outbox and the sandbox alike.
 *
 * @since 0.1.0
 */
export * as IdempotencyKey from "./IdempotencyKey.js"
/**
 * The meeting object (spec §4).
 *
 * @since 0.1.0
 */
export * as Meeting from "./Meeting.js"
/**
 * The one JSON codec of `Meeting` and `MeetingListPage`, for the client (answers from the API) and the cache (rows it stores as wire JSON and reads back).
 *
 * @since 0.1.0
 */
export * as MeetingCodec from "./MeetingCodec.js"
/**
 * The `Meetings` service.
 *
 * @since 0.1.0
 */
export * as Meetings from "./Meetings.js"
/**
 * The HTTP implementation of `Meetings`.
 *
 * @since 0.1.0
 */
export * as MeetingsClient from "./MeetingsClient.js"
/**
 * Options of the HTTP client and the `Config` that reads them from the environment.
 *
 * @since 0.1.0
 */
export * as MeetingsConfig from "./MeetingsConfig.js"
/**
 * Metrics recorded by `MeetingsClient`.
 *
 * @since 0.1.0
 */
export * as MeetingsMetrics from "./MeetingsMetrics.js"
/**
 * Request bodies and query parameters (spec §3).
 *
 * @since 0.1.0
 */
export * as MeetingParams from "./MeetingParams.js"
/**
 * Every failure a caller of `Meetings` can meet, as tagged errors.
 *
 * @since 0.1.0
 */
export * as MeetingsError from "./MeetingsError.js"
/**
 * Turns a Schema `ParseIssue` from validating params into what the API would answer.
 *
 * @since 0.1.0
 */
export * as ParamsProblem from "./ParamsProblem.js"
/**
 * A rate budget shared by every instance of an organisation (the Redis store loads only when configured).
 *
 * @since 0.1.0
 */
export * as RateBudget from "./RateBudget.js"
/**
 * What a METADATA view hides (spec §7, §14 #10), written once for every package.
 *
 * @since 0.1.0
 */
export * as Redaction from "./Redaction.js"
/**
 * Relationships as read.
 *
 * @since 0.1.0
 */
export * as Relationship from "./Relationship.js"
/**
 * The step record of a transcript upload (`Transcripts`).
 *
 * @since 0.1.0
 */
export * as TranscriptJournal from "./TranscriptJournal.js"
/**
 * Where a transcript's bytes come from, and the options of a transcript run (`Transcripts`).
 *
 * @since 0.1.0
 */
export * as TranscriptSource from "./TranscriptSource.js"
/**
 * One call to put a transcript on a meeting (spec §11).
 *
 * @since 0.1.0
 */
export * as Transcripts from "./Transcripts.js"
