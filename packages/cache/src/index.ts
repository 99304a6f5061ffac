/**
 * `@lightfield-effect/cache`: an offline-first SQLite mirror of Lightfield meetings.
 *
 * @since 0.1.0
 */
export * as CachedMeetings from "./CachedMeetings.js"
export * as CacheError from "./CacheError.js"
export * as CacheMetrics from "./CacheMetrics.js"
export * as Database from "./Database.js"
export * as MeetingQuery from "./MeetingQuery.js"
export * as MeetingsCache from "./MeetingsCache.js"
/**
 * The whole stack (HTTP client, SQLite database, cache) from `Config` in one layer.
 *
 * @since 0.1.0
 */
export * as MeetingsStack from "./MeetingsStack.js"
export * as Outbox from "./Outbox.js"
export * as Principal from "./Principal.js"
export * as ReadPolicy from "./ReadPolicy.js"
export * as Sync from "./Sync.js"
export * as TranscriptSteps from "./TranscriptSteps.js"
