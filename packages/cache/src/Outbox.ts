/**
 * The outbox: creates and updates that could not reach the API, stored durably in the same
 * database (so they survive restarts), each with the idempotency key generated before the first
 * attempt. They are replayed in order (`seq`); a create replayed with its original key is executed
 * at most once by the server, even if the first attempt reached it before the connection dropped.
 *
 * - A queued create gets a provisional id `local_<uuid>`. After replay it resolves to the real id,
 *   and queued updates against the local id are rewritten to the real id.
 * - Permanent failures become dead letters that keep their typed error (encoded with the
 *   `OutboxFailure` Schema). They are kept until explicitly retried or discarded, never dropped.
 *
 * This module holds what callers see of it; `MeetingsCache` has the operations.
 *
 * @since 0.1.0
 */
import { MeetingsError } from "@lightfield-effect/core"
import type { Meeting, Meetings } from "@lightfield-effect/core"
import type { Option } from "effect"
import { Schema } from "effect"

/**
 * What a queued entry does.
 *
 * @since 0.1.0
 */
export type OutboxOp = "create" | "update" | "delete"

/**
 * `pending`: waiting for replay; `dead`: a dead letter.
 *
 * @since 0.1.0
 */
export type OutboxStatus = "pending" | "dead"

/**
 * A queued update whose create (of the provisional id it targets) is a dead letter or was
 * discarded: it can never be sent as it is.
 *
 * @since 0.1.0
 */
export class DependencyFailed extends Schema.TaggedError<DependencyFailed>()("DependencyFailed", {
  /** The provisional id whose create failed. */
  localId: Schema.String,
  dependency: Schema.Literal("DeadLetter", "Discarded"),
  message: Schema.String
}) {}

/**
 * An entry first sent so long ago that its idempotency key may have expired (keys live 24 h) while
 * the server may have executed it: it is not resent blindly. Check the server, then retry or discard.
 *
 * @since 0.1.0
 */
export class IdempotencyKeyExpired extends Schema.TaggedError<IdempotencyKeyExpired>()("IdempotencyKeyExpired", {
  /** When it was first sent (epoch millis). */
  firstSentAt: Schema.Number,
  message: Schema.String
}) {}

/**
 * An error recorded by an earlier version of the cache, which kept only its tag, message and status.
 *
 * @since 0.1.0
 */
export class RecordedError extends Schema.TaggedError<RecordedError>()("RecordedError", {
  tag: Schema.String,
  message: Schema.String,
  status: Schema.optional(Schema.Number)
}) {}

/**
 * Why an entry is a dead letter (or what its last attempt met): core's error union, or one of the
 * outbox's own. A dead letter stores it encoded with this Schema and reads it back typed.
 *
 * @since 0.1.0
 */
export const OutboxFailure = Schema.Union(MeetingsError.MeetingsError, DependencyFailed, IdempotencyKeyExpired, RecordedError)

/**
 * @since 0.1.0
 */
/**
 * The type of the `OutboxFailure` schema's values.
 *
 * @since 0.1.0
 */
export type OutboxFailure = typeof OutboxFailure.Type

/**
 * One queued write (or dead letter).
 *
 * @since 0.1.0
 */
export interface OutboxEntry {
  readonly seq: number
  readonly op: OutboxOp
  /** The meeting id an update targets (a real id, or a `local_…` id until its create is replayed); for a create, its local id. */
  readonly targetId: string
  /** For creates: the provisional id handed out to the caller. */
  readonly localId: string | null
  readonly idempotencyKey: string
  /** The request body as JSON (`CreateMeetingParams` or `UpdateMeetingParams`). */
  readonly params: unknown
  readonly status: OutboxStatus
  /** Failed attempts that count against `maxReplayAttempts` (outages do not). */
  readonly attempts: number
  /** Times the entry was sent (recorded and committed before each request goes out). */
  readonly sends: number
  /** When it was first sent: the server may have seen its idempotency key since then. */
  readonly firstSentAt: number | null
  /** The dead letter's error, or the last attempt's (typed). */
  readonly lastError: OutboxFailure | null
  readonly createdAt: number
  readonly updatedAt: number
}

/**
 * What `MeetingsCache.delete` did.
 *
 * @since 0.1.0
 */
export interface DeleteResult {
  /** The meeting's id (the real one once a provisional id resolved). */
  readonly id: string
  /**
   * `deleted`: the server trashed it; `queued`: unreachable, the delete waits in the outbox (the
   * meeting is a tombstone meanwhile); `cancelled`: its create was still queued and never sent, so
   * both were dropped locally and nothing was sent.
   */
  readonly outcome: "deleted" | "queued" | "cancelled"
  /** The server's last copy when it answered 200 (redacted); `None` on 204, queued or cancelled. */
  readonly meeting: Option.Option<Meeting.Meeting>
}

/**
 * What a replay did.
 *
 * @since 0.1.0
 */
export interface ReplayResult {
  /** Entries sent and confirmed. */
  readonly replayed: number
  /** Entries that became dead letters during this replay. */
  readonly dead: number
  /** Entries still waiting. */
  readonly remaining: number
  /** Provisional ids resolved by this replay. */
  readonly resolved: ReadonlyArray<{ readonly localId: string; readonly id: string }>
  /** Why the replay stopped early, or left entries waiting (network unreachable, a conflict…), if it did. */
  readonly stoppedBy: Option.Option<OutboxFailure>
}

/**
 * Options of a write through the cache.
 *
 * @since 0.1.0
 */
export interface WriteOptions extends Meetings.WriteOptions {
  /** Do not try the network: queue the write in the outbox straight away. */
  readonly offline?: boolean
}

export {
  /**
   * True for a provisional `local_…` id.
   *
   * @since 0.1.0
   */
  isLocalId,
  /**
   * The prefix of provisional ids.
   *
   * @since 0.1.0
   */
  localIdPrefix
} from "./internal/provisional.js"
