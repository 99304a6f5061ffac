/**
 * The hot set: decoded meetings by id (each principal's copy apart), LRU, bounded, so a repeated
 * read by id costs a map lookup. Writes through this connection drop their keys before and after
 * they run, and no row is remembered while one runs (`around`); commits by OTHER connections
 * (another process on the file) are noticed through `PRAGMA data_version`, checked at most every
 * `recheckMillis`. On PostgreSQL, other instances' commits arrive as change notices
 * (`changeNotices.ts`): before each read by id, the notices received since drop exactly the copies
 * they name (or every copy of a principal, or everything after a gap in the notices).
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Context, Effect, Option } from "effect"
import type { Principal } from "../Principal.js"
import { ChangeNotices } from "./changeNotices.js"
import type { ChangeNoticesShape } from "./changeNotices.js"
import * as Dialect from "./dialect.js"
import type { StoredMeeting } from "./meetingRow.js"

/**
 * How many decoded meetings the cache keeps in memory for hot reads (default 5,000; 0 disables).
 *
 * @since 0.1.0
 */
export class HotCacheCapacity extends Context.Reference<HotCacheCapacity>()(
  "@lightfield-effect/cache/HotCacheCapacity",
  { defaultValue: () => 5000 }
) {}

/** The database's change notices, when it has them (PostgreSQL), for `make`. */
export const changeNotices: Effect.Effect<ChangeNoticesShape | undefined> = Effect.map(
  Effect.serviceOption(ChangeNotices),
  Option.getOrUndefined
)

/** Commits by other connections are noticed within this many milliseconds. */
const recheckMillis = 100

export interface HotSet {
  /** A hot copy (and mark it recently used). */
  readonly get: (principal: Principal, id: string) => StoredMeeting | undefined
  /** A hot copy of this exact version (same `fetched_at` and flags), for decoding lists. */
  readonly sameVersion: (principal: Principal, id: string, fetchedAt: number, pending: boolean) => StoredMeeting | undefined
  /** Changes with every write: a read that saw another generation must not be remembered. */
  readonly generation: () => number
  /** Remember a row read by id at `before` (admitted on its second read). */
  readonly remember: (principal: Principal, id: string, stored: StoredMeeting, before: number) => void
  readonly invalidate: (principal: Principal, ids: Iterable<string>) => void
  /**
   * A write of these ids: their copies dropped before it and again once it has ended, and nothing
   * remembered meanwhile. A read made while the write waits for its transaction reads the row the
   * write is about to replace; without this it could be remembered and then served after the
   * write committed.
   */
  readonly around: <A, E, R>(principal: Principal, ids: ReadonlyArray<string>, write: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  readonly invalidateAll: () => void
  /** Drop everything when another connection committed (checked at most every 100 ms). */
  readonly checkExternalWrites: Effect.Effect<void>
  /** Whether `checkExternalWrites` would look at the database at `now` (a read by id skips it otherwise). */
  readonly checkDue: (now: number) => boolean
}

/**
 * A hot copy of one principal; copies of the same id for other principals are chained behind it
 * (each caller sees only its own). Keyed by id alone: the caller's id string already carries its
 * hash, where a composite key was a new string to build and hash on every read.
 */
interface Slot {
  readonly principal: string
  stored: StoredMeeting
  next: Slot | undefined
}

export const make = (sql: SqlClient.SqlClient, capacity: number, notices?: ChangeNoticesShape): HotSet => {
  // By id, in least-recently-used order; `slots` counts the copies (the bound is on copies).
  const hot = new Map<string, Slot>()
  let slots = 0
  let writing = 0
  const readOnce = new Set<string>()
  // A quarter of the capacity: a row must be read again within that many other rows' first reads.
  // A working set up to the capacity still gets in (within a few rounds); a uniform spread over many
  // more rows than that mostly does not (measured over 20k rows: 0.3-0.5 µs a read less than with
  // the whole capacity, spent evicting decoded meetings that outlived the young generation).
  const doorkeeperSize = Math.max(1, Math.ceil(capacity / 4))
  let generation = 0
  let lastCheck = -Infinity
  let dataVersion: number | null = null
  const find = (principal: string, id: string): Slot | undefined => {
    let slot = hot.get(id)
    while (slot !== undefined && slot.principal !== principal) slot = slot.next
    return slot
  }
  /** Mark `id` (every principal's copy of it) the most recently used. */
  const touch = (id: string) => {
    const head = hot.get(id)
    if (head === undefined) return
    hot.delete(id)
    hot.set(id, head)
  }
  /** Drop the principal's copy of `id`, keeping the other principals' copies (and their place). */
  const drop = (principal: string, id: string) => {
    const head = hot.get(id)
    if (head === undefined) return
    if (head.principal === principal) {
      slots--
      if (head.next === undefined) hot.delete(id)
      else hot.set(id, head.next)
      return
    }
    for (let slot = head; slot.next !== undefined; slot = slot.next) {
      if (slot.next.principal === principal) {
        slots--
        slot.next = slot.next.next
        return
      }
    }
  }
  const invalidate = (principal: string, ids: Iterable<string>) => {
    generation++
    if (hot.size === 0) return
    for (const id of ids) drop(principal, id)
  }
  const invalidateAll = () => {
    generation++
    hot.clear()
    slots = 0
  }
  const invalidatePrincipal = (principal: string) => {
    generation++
    for (const id of [...hot.keys()]) drop(principal, id)
  }
  let cursor = notices?.cursor() ?? 0
  /** Whether notices arrived since the last look. */
  const received = (notices: ChangeNoticesShape) => notices.cursor() !== cursor
  /** Apply the change notices received since the last read. */
  const applyNotices = (received: ChangeNoticesShape) =>
    Effect.sync(() => {
      const now = received.cursor()
      if (now === cursor) return
      const changes = received.since(cursor)
      cursor = now
      if (changes === null) return invalidateAll()
      for (const { ids, principal } of changes) {
        if (principal === null) invalidateAll()
        else if (ids === null) invalidatePrincipal(principal)
        else {
          generation++
          for (const id of ids) drop(principal, id)
        }
      }
    })
  return {
    get: (principal, id) => {
      const slot = find(principal, id)
      if (slot === undefined) return undefined
      touch(id)
      return slot.stored
    },
    sameVersion: (principal, id, fetchedAt, pending) => {
      const cached = hot.size === 0 ? undefined : find(principal, id)?.stored
      return cached !== undefined && cached.fetchedAt === fetchedAt && cached.pending === pending && !cached.gone
        ? cached
        : undefined
    },
    generation: () => generation,
    remember: (principal, id, stored, before) => {
      if (capacity <= 0 || before !== generation || writing > 0) return
      // Admitted on its second read only: under a spread-out (uniform) load most rows are read once,
      // and keeping each of them would push thousands of decoded meetings through the old generation
      // for nothing (measured: +5 µs per read in GC). `readOnce` is a cheap doorkeeper (ids only: a
      // read of the id by any principal counts as the first; each copy still comes from its own
      // principal's row), cleared when it reaches `doorkeeperSize`.
      if (!readOnce.delete(id)) {
        if (readOnce.size >= doorkeeperSize) readOnce.clear()
        readOnce.add(id)
        return
      }
      const known = find(principal, id)
      if (known !== undefined) {
        known.stored = stored
        touch(id)
        return
      }
      while (slots >= capacity) {
        const oldest = hot.keys().next()
        if (oldest.done === true) break
        for (let slot = hot.get(oldest.value); slot !== undefined; slot = slot.next) slots--
        hot.delete(oldest.value)
      }
      const head = hot.get(id)
      hot.delete(id) // re-inserted last: the most recently used
      hot.set(id, { principal, stored, next: head })
      slots++
    },
    invalidate,
    around: (principal, ids, write) =>
      Effect.suspend(() => {
        invalidate(principal, ids)
        writing++
        return Effect.ensuring(
          write,
          Effect.sync(() => {
            writing--
            invalidate(principal, ids)
          })
        )
      }),
    invalidateAll,
    // With change notices (PostgreSQL) the check is a look at the received log, due on every read.
    checkDue: (now) => notices !== undefined ? received(notices) : capacity > 0 && now - lastCheck >= recheckMillis,
    checkExternalWrites: notices !== undefined ? applyNotices(notices) : Effect.flatMap(Clock.currentTimeMillis, (now) => {
      if (capacity <= 0 || now - lastCheck < recheckMillis) return Effect.void
      lastCheck = now
      return Dialect.dataVersion(sql).pipe(
        Effect.map((version) => {
          if (version !== dataVersion) {
            dataVersion = version
            invalidateAll()
          }
        }),
        Effect.catchAll(() => Effect.sync(invalidateAll))
      )
    })
  }
}
