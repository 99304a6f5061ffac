/**
 * PUBLIC INTERFACE OF THE SANDBOX (pinned: other packages' tests code against this shape).
 * The implementation fills in `layer` / `make`; the shape below must not change without updating
 * every user.
 */
import type { Duration, Effect, Scope } from "effect"
import { Context } from "effect"
import type { Meeting } from "@lightfield-effect/core"

/** The seeded API keys. All belong to one organisation unless noted. */
export interface SandboxKeys {
  /** Workspace admin: FULL on every meeting, every scope. */
  readonly admin: string
  /** Plain member with every meetings scope: FULL on meetings they organise/attend or that are FULL; METADATA otherwise. */
  readonly member: string
  /** A second plain member (different organiser/attendee set), for two-principal privacy tests. */
  readonly member2: string
  /** Only `meetings:read`: create/update answer 403. */
  readonly readOnly: string
  /** A key of another organisation (own rate-limit buckets, sees none of org 1's meetings). */
  readonly otherOrg: string
}

/** A fault the sandbox can inject. */
export type Fault =
  | { readonly _tag: "Latency"; readonly millis: number }
  | { readonly _tag: "Status"; readonly status: 500 | 502 | 503 | 504 }
  | { readonly _tag: "RateLimit"; readonly retryAfterSeconds: number }
  /** Close the socket without answering, before the handler runs. */
  | { readonly _tag: "Drop" }
  /** Run the handler (so a create is stored), then close the socket without answering. */
  | { readonly _tag: "DropAfterCommit" }
  /** Answer 200 with a body that is not JSON. */
  | { readonly _tag: "MalformedJson" }
  /** Answer 200 with JSON that violates the meeting schema (e.g. `objectType: 42`). */
  | { readonly _tag: "SchemaViolation" }
  /** Add a field with an undocumented valueType (`HTML`) to every meeting served. */
  | { readonly _tag: "UnknownValueType" }

export interface FaultRule {
  readonly fault: Fault
  /** Only requests whose `METHOD /path` matches (e.g. "GET /v1/meetings", "POST /v1/meetings/*"); default: all. */
  readonly match?: string
  /** How many matching requests it hits before it is used up; default: unlimited (per run). */
  readonly times?: number
}

export interface LoggedRequest {
  readonly method: string
  readonly path: string
  readonly query: string
  readonly apiKey: string | undefined
  readonly idempotencyKey: string | undefined
  readonly body: unknown
  readonly status: number
  /** Set when an idempotent replay answered instead of the handler. */
  readonly replayed: boolean
  readonly at: number
}

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
}

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
  readonly clearRequests: Effect.Effect<void>
  /** Stored meetings as the admin sees them (FULL), newest first. */
  readonly meetings: Effect.Effect<ReadonlyArray<Meeting.Meeting>>
  /** Add `count` generated meetings now (e.g. to make offsets drift during a scan). */
  readonly seedMore: (count: number) => Effect.Effect<void>
  /** Remove a meeting (it vanishes from every view). */
  readonly remove: (id: string) => Effect.Effect<void>
  /** Change a stored meeting's privacy setting directly (to test downgrades). */
  readonly setPrivacy: (id: string, privacy: "FULL" | "METADATA") => Effect.Effect<void>
  /** Move the sandbox's own clock forward (idempotency expiry, "in the past" checks). */
  readonly advanceClock: (by: Duration.DurationInput) => Effect.Effect<void>
  /** Stop listening (connections are refused); state is kept. */
  readonly stop: Effect.Effect<void>
  /** Listen again on the same port with the same state. */
  readonly start: Effect.Effect<void>
}

export class Sandbox extends Context.Tag("@lightfield-effect/sandbox/Sandbox")<Sandbox, SandboxShape>() {}

/** Implemented by the sandbox package. Scoped: the server stops when the scope closes. */
export declare const make: (options?: SandboxOptions) => Effect.Effect<SandboxShape, never, Scope.Scope>
