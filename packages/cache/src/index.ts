/**
 * `@lightfield-effect/cache`: an offline-first SQLite mirror of Lightfield meetings.
 *
 * @since 0.1.0
 */
export * as CachedMeetings from "./CachedMeetings.js"
/**
 * The cache's own failures.
 *
 * @since 0.1.0
 */
export * as CacheError from "./CacheError.js"
/**
 * Metrics of the cache (effect `Metric`s, exported by whatever metrics layer the app installs).
 *
 * @since 0.1.0
 */
export * as CacheMetrics from "./CacheMetrics.js"
/**
 * The SQLite database behind the cache.
 *
 * @since 0.1.0
 */
export * as Database from "./Database.js"
/**
 * A local query over the mirror (`MeetingsCache.query` and `count`).
 *
 * @since 0.1.0
 */
export * as MeetingQuery from "./MeetingQuery.js"
/**
 * The offline-first cache of Lightfield meetings.
 *
 * @since 0.1.0
 */
export * as MeetingsCache from "./MeetingsCache.js"
/**
 * The whole stack (HTTP client, SQLite database, cache) from `Config` in one layer.
 *
 * @since 0.1.0
 */
export * as MeetingsStack from "./MeetingsStack.js"
/**
 * The outbox.
 *
 * @since 0.1.0
 */
export * as Outbox from "./Outbox.js"
/**
 * Who the cached rows belong to.
 *
 * @since 0.1.0
 */
export * as Principal from "./Principal.js"
/**
 * Read policies and the `Cached<A>` envelope every cache read answers with, so a caller can tell where an answer came from and how old it is.
 *
 * @since 0.1.0
 */
export * as ReadPolicy from "./ReadPolicy.js"
/**
 * Full sync.
 *
 * @since 0.1.0
 */
export * as Sync from "./Sync.js"
/**
 * Core's `TranscriptJournal` kept in the cache's SQLite file (table `transcript_journal`, owned by this module), so a transcript upload interrupted by a crash or a Ctrl-C resumes on the next run.
 *
 * @since 0.1.0
 */
export * as TranscriptSteps from "./TranscriptSteps.js"
