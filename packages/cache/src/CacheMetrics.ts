/**
 * Metrics of the cache (effect `Metric`s, exported by whatever metrics layer the app installs).
 * Read counters are tagged with the read `policy`.
 *
 * @since 0.1.0
 */
import { Metric } from "effect"

/**
 * Reads answered from SQLite.
 *
 * @since 0.1.0
 */
export const hits = Metric.counter("lightfield_cache_hits", { description: "Reads answered from the cache", incremental: true })
/**
 * Reads that found nothing servable in SQLite.
 *
 * @since 0.1.0
 */
export const misses = Metric.counter("lightfield_cache_misses", { description: "Reads not found in the cache", incremental: true })
/**
 * Cached answers older than maxAge (served by StaleWhileRevalidate, or NetworkFirst falling back).
 *
 * @since 0.1.0
 */
export const staleAnswers = Metric.counter("lightfield_cache_stale_answers", {
  description: "Stale answers served from the cache",
  incremental: true
})
/**
 * Background refreshes started by StaleWhileRevalidate.
 *
 * @since 0.1.0
 */
export const revalidations = Metric.counter("lightfield_cache_revalidations", {
  description: "Background revalidations started",
  incremental: true
})
/**
 * NetworkFirst reads answered from the cache because the network was unreachable.
 *
 * @since 0.1.0
 */
export const fallbacks = Metric.counter("lightfield_cache_network_fallbacks", {
  description: "NetworkFirst reads served from the cache",
  incremental: true
})
/**
 * Entries waiting in the outbox (pending, not dead).
 *
 * @since 0.1.0
 */
export const outboxDepth = Metric.gauge("lightfield_cache_outbox_depth", { description: "Pending outbox entries" })
/**
 * Dead letters currently kept.
 *
 * @since 0.1.0
 */
export const deadLetters = Metric.gauge("lightfield_cache_dead_letters", { description: "Dead outbox entries" })
/**
 * Meetings stored by syncs.
 *
 * @since 0.1.0
 */
export const syncedMeetings = Metric.counter("lightfield_cache_synced_meetings", {
  description: "Meetings upserted by sync",
  incremental: true
})
/**
 * Meetings marked gone (vanished after a complete scan, or 404 on refresh).
 *
 * @since 0.1.0
 */
export const goneMeetings = Metric.counter("lightfield_cache_gone_meetings", {
  description: "Meetings marked gone",
  incremental: true
})
/**
 * Outbox entries replayed successfully.
 *
 * @since 0.1.0
 */
export const replayed = Metric.counter("lightfield_cache_outbox_replayed", {
  description: "Outbox entries replayed",
  incremental: true
})
/**
 * Stored rows that could not be decoded (skipped by lists, a `Decode` error when read by id).
 *
 * @since 0.1.0
 */
export const damagedRows = Metric.counter("lightfield_cache_damaged_rows", {
  description: "Damaged cached rows skipped or refused",
  incremental: true
})
