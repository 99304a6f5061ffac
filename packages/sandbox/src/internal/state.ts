/**
 * Everything the routes read and write, owned by `Sandbox.make`, and the operations they serve.
 */
import type * as Auth from "./auth.js"
import type { FaultSet } from "../Faults.js"
import type { Idempotency } from "./idempotency.js"
import type { Category, RateLimiter } from "./rateLimiter.js"
import type { RequestLog } from "../RequestLog.js"
import type { SandboxClock } from "./sandboxClock.js"
import type { Store } from "./store.js"

export const apiVersion = "2026-03-01"

/** Everything the routes read and write; owned by `Sandbox.make`. */
export interface State {
  readonly clock: SandboxClock
  readonly keyring: Auth.Keyring
  readonly store: Store
  readonly limiter: RateLimiter
  readonly idempotency: Idempotency
  readonly faults: FaultSet
  readonly log: RequestLog
  /** API requests read and not yet logged (`SandboxShape.inFlight`). */
  readonly inFlight: { count: number }
  readonly indexLagMillis: () => number
}

export type Operation = "create" | "update" | "retrieve" | "list"

export const categories: Record<Operation, Category> = {
  create: "Write",
  update: "Write",
  retrieve: "Read",
  list: "Search"
}

export const scopes: Record<Operation, Auth.Scope> = {
  create: "meetings:create",
  update: "meetings:update",
  retrieve: "meetings:read",
  list: "meetings:read"
}
