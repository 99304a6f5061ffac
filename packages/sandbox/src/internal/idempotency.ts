/**
 * Idempotency keys (spec §10): scoped per organisation and per operation type, 24 h lifetime on
 * the sandbox clock, only 2xx results cached, a second request while the first is running gets 409.
 */

/**
 * Keys are scoped per operation type: core's `Endpoint.operationKey` (method and path template,
 * e.g. `POST /v1/files`), so a meeting create and a file create never share a key.
 */
export type Operation = string

export const lifetimeMillis = 24 * 60 * 60 * 1000

export interface CachedReply {
  readonly status: number
  readonly body: unknown
}

type Entry =
  | { readonly _tag: "InFlight" }
  | { readonly _tag: "Done"; readonly reply: CachedReply; readonly expiresAt: number }

export type Begin =
  | { readonly _tag: "Proceed" }
  | { readonly _tag: "InFlight" }
  | { readonly _tag: "Replay"; readonly reply: CachedReply }

export interface Idempotency {
  /** Reserve the key, or report the cached reply / the clash. */
  readonly begin: (orgId: string, operation: Operation, key: string, now: number) => Begin
  /** Finish a reserved key: 2xx is cached until expiry, anything else frees the key. */
  readonly finish: (orgId: string, operation: Operation, key: string, reply: CachedReply, now: number) => void
  /** Free a reserved key (the handler was interrupted). */
  readonly release: (orgId: string, operation: Operation, key: string) => void
}

export const make = (): Idempotency => {
  const entries = new Map<string, Entry>()
  const id = (orgId: string, operation: Operation, key: string) => `${orgId}\u0000${operation}\u0000${key}`
  let lastSweep = 0

  // Expired entries are dropped lazily, at most once a minute of sandbox time.
  const sweep = (now: number) => {
    if (now - lastSweep < 60_000) return
    lastSweep = now
    for (const [k, e] of entries) if (e._tag === "Done" && e.expiresAt <= now) entries.delete(k)
  }

  return {
    begin: (orgId, operation, key, now) => {
      sweep(now)
      const k = id(orgId, operation, key)
      const entry = entries.get(k)
      if (entry?._tag === "InFlight") return { _tag: "InFlight" }
      if (entry?._tag === "Done" && entry.expiresAt > now) return { _tag: "Replay", reply: entry.reply }
      entries.set(k, { _tag: "InFlight" })
      return { _tag: "Proceed" }
    },
    finish: (orgId, operation, key, reply, now) => {
      const k = id(orgId, operation, key)
      if (reply.status >= 200 && reply.status < 300) {
        entries.set(k, { _tag: "Done", reply, expiresAt: now + lifetimeMillis })
      } else {
        entries.delete(k)
      }
    },
    release: (orgId, operation, key) => {
      const k = id(orgId, operation, key)
      if (entries.get(k)?._tag === "InFlight") entries.delete(k)
    }
  }
}
