/**
 * Everything the routes read and write, owned by `Sandbox.make`. The operations they serve, with
 * their category, scope and idempotency, are core's endpoint tables (`Endpoint.Meetings`,
 * `Endpoint.Files`).
 */
import type * as Auth from "./auth.js"
import type { FaultSet } from "../Faults.js"
import type { FileStore } from "./fileStore.js"
import type { Idempotency } from "./idempotency.js"
import type { RateLimiter } from "./rateLimiter.js"
import type { RequestLog } from "../RequestLog.js"
import type { SandboxClock } from "./sandboxClock.js"
import type { Store } from "./store.js"

/** Everything the routes read and write; owned by `Sandbox.make`. */
export interface State {
  readonly clock: SandboxClock
  readonly keyring: Auth.Keyring
  readonly store: Store
  readonly files: FileStore
  /** Unknown `fil_` ids count as completed files (`SandboxOptions.legacyFileIds`). */
  readonly legacyFileIds: boolean
  readonly limiter: RateLimiter
  readonly idempotency: Idempotency
  readonly faults: FaultSet
  readonly log: RequestLog
  /** API requests read and not yet logged (`SandboxShape.inFlight`). */
  readonly inFlight: { count: number }
  readonly indexLagMillis: () => number
}
