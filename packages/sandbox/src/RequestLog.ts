/**
 * Every request the sandbox received, refused ones included, oldest first (bounded).
 *
 * @since 0.1.0
 */
import type { Fault } from "./Faults.js"

/**
 * One received request and what became of it.
 *
 * @since 0.1.0
 */
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
  /** Sandbox-clock epoch millis. */
  readonly at: number
  /** The fault that hit this request, if any. A dropped connection is logged with `status: 0`. */
  readonly fault?: Fault["_tag"]
  /**
   * Why the request has no ordinary answer. A request whose client went away while it was being
   * handled (e.g. the client timed out during a `Latency` fault) is logged with `status: 499` and
   * `note: "client closed the connection"`.
   */
  readonly note?: string
  /** Storage requests only (the presigned URLs): the headers received, to check what a client sent. */
  readonly headers?: Readonly<Record<string, string>>
}

/**
 * The log of one sandbox.
 *
 * @since 0.1.0
 */
export interface RequestLog {
  readonly add: (entry: LoggedRequest) => void
  readonly entries: () => ReadonlyArray<LoggedRequest>
  readonly clear: () => void
}

/**
 * A log keeping about the `limit` most recent requests.
 *
 * @since 0.1.0
 */
export const make = (limit: number): RequestLog => {
  let entries: Array<LoggedRequest> = []
  return {
    add: (entry) => {
      entries.push(entry)
      // Trim in batches so a long benchmark does not grow memory without bound.
      if (entries.length > limit + Math.ceil(limit / 10)) entries = entries.slice(entries.length - limit)
    },
    entries: () => entries.slice(),
    clear: () => {
      entries = []
    }
  }
}
