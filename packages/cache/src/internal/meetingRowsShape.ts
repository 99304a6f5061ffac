/**
 * The service of the `meetings` rows' owner (`meetingRows.ts`): what the engines may ask of the
 * table, and its tag. Kept apart from the implementation, which is long enough on its own.
 */
import type { Meeting, MeetingCodec } from "@lightfield-effect/core"
import type { Effect, Option } from "effect"
import { Context } from "effect"
import type { CacheError } from "../CacheError.js"
import type { MeetingQuery } from "../MeetingQuery.js"
import type { Principal } from "../Principal.js"
import type { MirrorStats, PageKey, StoredMeeting, UpsertOptions } from "./meetingRow.js"

type MeetingT = Meeting.Meeting

export interface MeetingRowsShape {
  /** Upsert meetings (last one wins in a batch) in one transaction (a savepoint inside the caller's). */
  readonly upsert: (principal: Principal, meetings: Iterable<MeetingT>, options: UpsertOptions) => Effect.Effect<number, CacheError>
  /** `upsert` of validated wire meetings (a sync's scan, `Meetings.streamWire`): no `Meeting` is built. */
  readonly upsertWire: (
    principal: Principal,
    meetings: Iterable<MeetingCodec.WireMeeting>,
    options: UpsertOptions
  ) => Effect.Effect<number, CacheError>
  /** One servable row by id (gone rows are tombstones: `None`); hot rows are answered from memory. */
  readonly findById: (principal: Principal, id: string) => Effect.Effect<Option.Option<StoredMeeting>, CacheError>
  /**
   * `findById` answered at once when it can be (no effect to run): the row, `null` when there is
   * no servable row, `undefined` when only `findById` can say (a check for other connections'
   * commits is due, the connection is in another fiber's transaction, a damaged row to report, or
   * PostgreSQL). `context` is the calling fiber's (its transaction), `now` its clock.
   */
  readonly findNow: (
    principal: Principal,
    id: string,
    context: Context.Context<never>,
    now: number
  ) => StoredMeeting | null | undefined
  /** A local query; damaged rows are skipped and reported. */
  readonly query: (principal: Principal, q?: MeetingQuery) => Effect.Effect<ReadonlyArray<StoredMeeting>, CacheError>
  readonly count: (principal: Principal, q?: MeetingQuery) => Effect.Effect<number, CacheError>
  /** A page in the API's order (newest `createdAt` first, then id ascending). */
  readonly page: (principal: Principal, limit: number, offset: number) => Effect.Effect<ReadonlyArray<StoredMeeting>, CacheError>
  /** A keyset page in the API's order after `after`; `next` is `None` after the last page. */
  readonly pageAfter: (
    principal: Principal,
    after: PageKey | null,
    limit: number
  ) => Effect.Effect<{ readonly meetings: ReadonlyArray<StoredMeeting>; readonly next: Option.Option<PageKey> }, CacheError>
  /** Forget that a row was written locally (a dead update: the server never took it). */
  readonly clearPending: (principal: Principal, id: string) => Effect.Effect<void, CacheError>
  /** Tombstones: the row stays (stats, a later reappearance) but its content is purged. */
  readonly markGone: (principal: Principal, ids: ReadonlyArray<string>) => Effect.Effect<void, CacheError>
  /** Deleted (spec §3.5): content-free tombstones no server copy overwrites (in the caller's transaction or its own). */
  readonly markDeleted: (principal: Principal, ids: ReadonlyArray<string>) => Effect.Effect<void, CacheError>
  /** A tombstone back to a plain gone row (a queued delete the server refused), so a fetch can restore it. */
  readonly undelete: (principal: Principal, id: string) => Effect.Effect<void, CacheError>
  /** Is this id a delete tombstone? */
  readonly isDeleted: (principal: Principal, id: string) => Effect.Effect<boolean, CacheError>
  /** Drop a row (a provisional meeting after its create was replayed). */
  readonly remove: (principal: Principal, id: string) => Effect.Effect<void, CacheError>
  /** Locally written meetings the scan has not seen (read-your-writes candidates). */
  readonly writtenNotSeen: (principal: Principal, scanId: string) => Effect.Effect<ReadonlyArray<string>, CacheError>
  /** After a complete scan (in its reconcile transaction): every row it did not see, not pending, not awaiting confirmation, is gone. */
  readonly markVanished: (principal: Principal, scanId: string) => Effect.Effect<ReadonlyArray<string>, CacheError>
  /** Drop the mirror of a principal except pending rows (in the caller's transaction). */
  readonly clear: (principal: Principal) => Effect.Effect<void, CacheError>
  readonly stats: (principal: Principal) => Effect.Effect<MirrorStats, CacheError>
  /** Move `from`'s provisional meetings to `to`; `from`'s other pending rows become stale (in the caller's transaction). */
  readonly adoptProvisional: (from: Principal, to: Principal) => Effect.Effect<void, CacheError>
  /** Re-derive the full-text index (repairs it; not needed in normal operation). */
  readonly rebuildFullText: Effect.Effect<void, CacheError>
  /** Refresh the planner's statistics after large changes. */
  readonly optimize: Effect.Effect<void, CacheError>
}

export class MeetingRows extends Context.Tag("@lightfield-effect/cache/internal/MeetingRows")<
  MeetingRows,
  MeetingRowsShape
>() {}

