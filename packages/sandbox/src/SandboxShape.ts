/**
 * What a running sandbox offers (the `Sandbox` service) and how one is configured. Types only, so
 * every module can use them without importing the constructor.
 *
 * @since 0.1.0
 */
import type { Meeting } from "@lightfield-effect/core"
import type { Duration, Effect } from "effect"
import type { FaultRule } from "./Faults.js"
import type { LoggedRequest } from "./RequestLog.js"
import type { SandboxError } from "./SandboxError.js"

/**
 * The seeded API keys. All belong to one organisation unless noted.
 *
 * @since 0.1.0
 */
export interface SandboxKeys {
  /** Workspace admin: FULL on every meeting, every scope. */
  readonly admin: string
  /** Plain member with every meetings and files scope: FULL on meetings they organise/attend or that are FULL; METADATA otherwise. */
  readonly member: string
  /** A second plain member (different organiser/attendee set), for two-principal privacy tests. */
  readonly member2: string
  /** Only `meetings:read`: meeting writes and every files call answer 403. */
  readonly readOnly: string
  /** A key of another organisation (own rate-limit buckets, sees none of org 1's meetings). */
  readonly otherOrg: string
}

/**
 * Options of `Sandbox.make` / `Sandbox.layer`.
 *
 * @since 0.1.0
 */
export interface SandboxOptions {
  /** Port to listen on; 0 (default) picks a free port. */
  readonly port?: number
  /** Host; default 127.0.0.1. */
  readonly host?: string
  /** Number of seeded meetings (default 200). */
  readonly meetings?: number
  /** Seed for the deterministic generator (default 1). */
  readonly seed?: number
  /** Token bucket per org × category; `false` switches rate limiting off. Default 25/s, capacity 25. */
  readonly rateLimit?: false | { readonly perSecond: number; readonly capacity?: number }
  /** A new meeting shows in list only after this delay (the search index lag). Default 0. */
  readonly indexLag?: Duration.DurationInput
  /** Faults active from the start. */
  readonly faults?: ReadonlyArray<FaultRule>
  /** Meetings seeded for the second organisation (the `otherOrg` key). Default 20. */
  readonly otherOrgMeetings?: number
  /** Most recent requests kept in the log. Default 100 000. */
  readonly requestLogLimit?: number
  /** How long an upload session (and its presigned URL) lives. Default 1 hour. */
  readonly uploadUrlTtl?: Duration.DurationInput
  /**
   * Before the files API, any `fil_` id was taken as a completed transcript file (`fil_pending…`
   * as a pending one). `true` keeps that for ids the files API never issued; default `false`:
   * they are refused with 400 `relationship_entity_missing`, as documented (spec §3.1).
   */
  readonly legacyFileIds?: boolean
}

/**
 * A file as the sandbox holds it (`SandboxShape.files`): its status on the sandbox clock and what
 * storage holds of it.
 *
 * @since 0.1.0
 */
export interface SandboxFile {
  readonly id: string
  readonly orgId: string
  readonly filename: string
  readonly mimeType: string
  readonly sizeBytes: number
  readonly status: "PENDING" | "COMPLETED" | "CANCELLED" | "EXPIRED"
  /** Bytes stored by the last successful upload (`undefined`: none). */
  readonly storedBytes: number | undefined
  /** MD5 of the stored bytes. */
  readonly storedMd5: string | undefined
  /** Epoch millis on the sandbox clock. */
  readonly createdAt: number
  readonly expiresAt: number
  readonly completedAt: number | null
}

/**
 * A running sandbox: its address and keys, and the controls a test steers it with.
 *
 * @since 0.1.0
 */
export interface SandboxShape {
  /** e.g. `http://127.0.0.1:40123` (no trailing slash; paths start with `/v1`). */
  readonly baseUrl: Effect.Effect<string>
  readonly keys: SandboxKeys
  /** Add fault rules (they apply in order, first match wins). */
  readonly inject: (...rules: ReadonlyArray<FaultRule>) => Effect.Effect<void>
  /** Remove every fault rule. */
  readonly clearFaults: Effect.Effect<void>
  readonly setIndexLag: (lag: Duration.DurationInput) => Effect.Effect<void>
  readonly setRateLimit: (limit: false | { readonly perSecond: number; readonly capacity?: number }) => Effect.Effect<void>
  /** Every request received (including refused ones), oldest first. */
  readonly requests: Effect.Effect<ReadonlyArray<LoggedRequest>>
  /**
   * API requests received and not yet logged: counted from when a request's body has been read
   * until its outcome is logged (answered, dropped or abandoned by its client). Lets a test wait,
   * without sleeping, until a request is being handled (e.g. held by a `Latency` fault).
   */
  readonly inFlight: Effect.Effect<number>
  readonly clearRequests: Effect.Effect<void>
  /** Stored meetings as the admin sees them (FULL), newest first. */
  readonly meetings: Effect.Effect<ReadonlyArray<Meeting.Meeting>>
  /** Every file (any organisation), oldest first. */
  readonly files: Effect.Effect<ReadonlyArray<SandboxFile>>
  /** Meetings deleted through the API (the trash), in the order they were deleted. */
  readonly deletedMeetings: Effect.Effect<ReadonlyArray<{ readonly id: string; readonly deletedAt: number }>>
  /** Add `count` generated meetings now (e.g. to make offsets drift during a scan). */
  readonly seedMore: (count: number) => Effect.Effect<void>
  /** Remove a meeting for good (it vanishes from every view, and is not in the trash). */
  readonly remove: (id: string) => Effect.Effect<void>
  /** Change a stored meeting's privacy setting directly (to test downgrades). */
  readonly setPrivacy: (id: string, privacy: "FULL" | "METADATA") => Effect.Effect<void>
  /** Move the sandbox's own clock forward (idempotency expiry, "in the past" checks). */
  readonly advanceClock: (by: Duration.DurationInput) => Effect.Effect<void>
  /** Stop listening (connections are refused); state is kept. */
  readonly stop: Effect.Effect<void>
  /** Listen again on the same port with the same state; fails if the port was taken meanwhile. */
  readonly start: Effect.Effect<void, SandboxError>
}
