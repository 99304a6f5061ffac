/**
 * The `Meetings` service: the documented operations plus a stream over all pages. It is an
 * interface with more than one implementation (the HTTP client in `MeetingsClient`, and the SQLite
 * mirror in `@lightfield-effect/cache`), so it is a `Context.Tag`.
 */
import type { Duration, Effect, Option, Stream } from "effect"
import { Context } from "effect"
import type { Meeting, MeetingListPage } from "./Meeting.js"
import type { CreateMeetingParams, ListMeetingsParams, UpdateMeetingParams } from "./MeetingParams.js"
import type { MeetingsError } from "./MeetingsError.js"

/**
 * Per-call knobs shared by every operation.
 *
 * @since 0.1.0
 */
export interface CallOptions {
  /** Per-attempt timeout (positive, finite); overrides the layer's default (60 s). */
  readonly timeout?: Duration.DurationInput
  /**
   * A bound on the whole call (positive, finite): the wait for the rate limiter, every attempt and
   * the delays between retries. When it runs out the call fails with `MeetingsUnavailable`
   * (`Timeout`). Default: no bound beyond the attempts' timeouts and the retry policy.
   */
  readonly budget?: Duration.DurationInput
  /**
   * `true`: a connection that cannot be made (refused, host or network unreachable, unknown name)
   * fails at once with `MeetingsUnavailable` (`Transport`) instead of being retried; other
   * failures are retried as usual. For callers with something else to answer with (a cache).
   */
  readonly failFast?: boolean
}

/**
 * Per-call options of `create` and `update`.
 *
 * @since 0.1.0
 */
export interface WriteOptions extends CallOptions {
  /**
   * Sent as `Idempotency-Key` and reused on every retry of this call. When omitted, one UUID v4 is
   * generated per logical call. At most 255 characters.
   */
  readonly idempotencyKey?: string
}

/**
 * Progress of a stream over all pages.
 *
 * @since 0.1.0
 */
export interface StreamProgress {
  /** Pages received so far. */
  readonly pages: number
  /** Distinct meetings emitted so far. */
  readonly items: number
  /** The server's `totalCount` from the latest page. */
  readonly totalCount: number
  /**
   * `false` on each page's event. One last event closes the stream: `true` when the end rule held
   * and every offset of the listing was covered (a complete scan: safe to reconcile deletions),
   * `false` when the scan gave up early (inserts kept shifting the listing).
   */
  readonly complete: boolean
}

/**
 * Options of `Meetings.stream`.
 *
 * @since 0.1.0
 */
export interface StreamOptions extends CallOptions {
  /** Page size, 1..25 (default 25). */
  readonly pageSize?: number
  /** Pages requested at once (default 2). */
  readonly concurrency?: number
  /** Called after every page. */
  readonly onProgress?: (progress: StreamProgress) => Effect.Effect<void>
}

/**
 * The `Meetings` service: the documented operations and a stream over all pages, failing with `MeetingsError`.
 *
 * @since 0.1.0
 */
export interface MeetingsShape {
  /** `POST /v1/meetings`. */
  readonly create: (params: CreateMeetingParams, options?: WriteOptions) => Effect.Effect<Meeting, MeetingsError>
  /** `POST /v1/meetings/{id}`. */
  readonly update: (
    id: string,
    params: UpdateMeetingParams,
    options?: WriteOptions
  ) => Effect.Effect<Meeting, MeetingsError>
  /** `GET /v1/meetings/{id}`. */
  readonly retrieve: (id: string, options?: CallOptions) => Effect.Effect<Meeting, MeetingsError>
  /** `GET /v1/meetings`: one page. */
  readonly list: (params?: ListMeetingsParams, options?: CallOptions) => Effect.Effect<MeetingListPage, MeetingsError>
  /** Every meeting the caller can see, each id once, page by page. */
  readonly stream: (options?: StreamOptions) => Stream.Stream<Meeting, MeetingsError>
  /**
   * `stream`, its meetings in wire form (`MeetingCodec.WireMeeting`): validated by the same rules
   * (a hostile page is the same typed error) but not built into `Meeting`s, for callers that store
   * or forward the JSON (the cache's sync). Each equals `MeetingCodec.encodeMeeting` of the meeting
   * `stream` would give. Optional: callers fall back to `stream` where an implementation has none.
   */
  readonly streamWire?: (options?: StreamOptions) => Stream.Stream<typeof Meeting.Encoded, MeetingsError>
  /**
   * `DELETE /v1/meetings/{id}` (spec §3.5): a soft delete. The meeting as the server last served it
   * (200), or `None` when it answered 204. Deleting again is `MeetingNotFound`. Implemented by
   * `MeetingsClient` and by the cache's mirror (`CachedMeetings`: a tombstone, queued when offline).
   */
  readonly delete: (id: string, options?: WriteOptions) => Effect.Effect<Option.Option<Meeting>, MeetingsError>
}

/**
 * The `Meetings` service tag. Implemented over HTTP by `MeetingsClient` and by the cache's mirror.
 *
 * @since 0.1.0
 */
export class Meetings extends Context.Tag("@lightfield-effect/core/Meetings")<Meetings, MeetingsShape>() {}
