/**
 * A local query over the mirror (`MeetingsCache.query` and `count`): indexes plus full-text search,
 * never the network.
 *
 * @since 0.1.0
 */
import type { DateTime } from "effect"
import type { Meeting } from "@lightfield-effect/core"

/**
 * Filters, order and paging. Dates filter on the meeting's start date.
 *
 * @since 0.1.0
 */
export interface MeetingQuery {
  /** Start date at or after this instant. */
  readonly from?: DateTime.DateTime | Date | string
  /** Start date strictly before this instant. */
  readonly to?: DateTime.DateTime | Date | string
  /** Organizer e-mail (case-insensitive). */
  readonly organizer?: string
  /** An attendee e-mail (case-insensitive). */
  readonly attendee?: string
  readonly accessLevel?: Meeting.AccessLevel
  /** Full-text search on title and description (every word, prefix match). */
  readonly text?: string
  /** Include locally written, unconfirmed meetings (default true). */
  readonly includePending?: boolean
  /** Order by start date; default `"desc"` (newest first). */
  readonly order?: "asc" | "desc"
  /** A non-negative integer; default 100. */
  readonly limit?: number
  /** A non-negative integer; default 0. */
  readonly offset?: number
}

/**
 * Most characters a full-text query may have.
 *
 * @since 0.1.0
 */
export const maxSearchLength = 1000

/**
 * Most words a full-text query may have (each is a prefix term; the cost grows faster than their count).
 *
 * @since 0.1.0
 */
export const maxSearchTerms = 32
