/** Every request the sandbox received, refused ones included, oldest first (bounded). */
import type { LoggedRequest } from "./Sandbox.js"

export interface RequestLog {
  readonly add: (entry: LoggedRequest) => void
  readonly entries: () => ReadonlyArray<LoggedRequest>
  readonly clear: () => void
}

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
