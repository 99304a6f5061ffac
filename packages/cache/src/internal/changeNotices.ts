/**
 * Change notices between instances sharing one PostgreSQL database: which principal's meetings
 * changed (ids only, never content), so each instance's hot set drops stale copies and its live
 * queries re-run. This module holds what does not need `@effect/sql-pg`: the service tag, the
 * in-memory log the listener fills, the payload format and the triggers that send the notices.
 * The listener itself (LISTEN, supervision, reconnects) is `pgChangeNotices.ts`.
 *
 * Notices are sent by the database, not by the cache's code: statement-level triggers on `meetings`
 * call `pg_notify` for every committed change, whoever wrote it, and PostgreSQL delivers them only
 * at COMMIT (never for a rolled-back transaction, identical ones folded). So a receiver never drops
 * a copy before the change is visible, and a notice cannot race ahead of the data it announces.
 *
 * Payloads (spaces separate; principals and meeting ids never contain one):
 * - `m <principal> <id> <id> …`: these meetings of this principal changed;
 * - `m <principal>`: some meetings of this principal changed (too many ids for one notice);
 * - `p <instance>`: a listener's own ping (supervision, see `pgChangeNotices.ts`).
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import { Context, Effect, PubSub } from "effect"
import type { Queue, Scope } from "effect"

/** The notification channel of the cache's database. */
export const channel = "lf_cache_changes"

/** One change: `principal` `null` means every principal, `ids` `null` every meeting of it. */
export interface Change {
  readonly principal: string | null
  readonly ids: ReadonlyArray<string> | null
}

/** What the listener offers the hot set and live queries. */
export interface ChangeNoticesShape {
  /** How many changes were received so far: a cursor for `since`. */
  readonly cursor: () => number
  /** The changes after `cursor`, oldest first; `null` when some of them are no longer kept (drop everything). */
  readonly since: (cursor: number) => ReadonlyArray<Change> | null
  /** A wake-up after every batch of received changes (for the life of the scope). */
  readonly subscribe: Effect.Effect<Queue.Dequeue<void>, never, Scope.Scope>
}

/** The change notices of this database, when it has them (PostgreSQL). */
export class ChangeNotices extends Context.Tag("@lightfield-effect/cache/internal/ChangeNotices")<
  ChangeNotices,
  ChangeNoticesShape
>() {}

/** How many changes the log keeps; a reader further behind drops everything. */
const logCapacity = 1024

/** The log a listener writes into: `record` a coalesced batch, `reset` after a gap. */
export const makeLog = Effect.gen(function*() {
  const wake = yield* PubSub.sliding<void>(1)
  const log: Array<Change> = []
  let first = 0 // the cursor of log[0]
  const push = (change: Change) => {
    log.push(change)
    if (log.length > logCapacity) {
      log.shift()
      first++
    }
  }
  const shape: ChangeNoticesShape = {
    cursor: () => first + log.length,
    since: (cursor) => (cursor < first ? null : log.slice(cursor - first)),
    subscribe: PubSub.subscribe(wake)
  }
  return {
    shape,
    /** A batch of changes (already coalesced), then one wake-up. */
    record: (changes: ReadonlyArray<Change>) =>
      Effect.suspend(() => {
        if (changes.length === 0) return Effect.void
        for (const change of changes) push(change)
        return Effect.asVoid(PubSub.publish(wake, undefined))
      }),
    /** Notices may have been lost (the listener was down): everything may have changed. */
    reset: Effect.suspend(() => {
      push({ principal: null, ids: null })
      return Effect.asVoid(PubSub.publish(wake, undefined))
    })
  } as const
})

/** A parsed payload: a change, or a listener's ping. */
export type Notice = { readonly _tag: "Change"; readonly change: Change } | { readonly _tag: "Ping"; readonly instance: string }

/** Parse a payload; `undefined` for one this version does not know. */
export const parse = (payload: string): Notice | undefined => {
  const parts = payload.split(" ").filter((p) => p.length > 0)
  const [kind, head, ...rest] = parts
  if (head === undefined) return undefined
  if (kind === "p") return { _tag: "Ping", instance: head }
  if (kind === "m") return { _tag: "Change", change: { principal: head, ids: rest.length === 0 ? null : rest } }
  return undefined
}

/** Most ids one coalesced change carries; beyond, it becomes "every meeting of the principal". */
const maxIds = 2000

/** Merge a burst of changes: one per principal, ids united (or `null` when any says "all"). */
export const coalesce = (changes: ReadonlyArray<Change>): ReadonlyArray<Change> => {
  if (changes.some((c) => c.principal === null)) return [{ principal: null, ids: null }]
  const byPrincipal = new Map<string, Set<string> | null>()
  for (const { ids, principal } of changes) {
    if (principal === null) continue
    const known = byPrincipal.get(principal)
    if (known === null) continue
    if (ids === null) {
      byPrincipal.set(principal, null)
      continue
    }
    const set = known ?? new Set<string>()
    for (const id of ids) set.add(id)
    byPrincipal.set(principal, set.size > maxIds ? null : set)
  }
  return [...byPrincipal].map(([principal, ids]) => ({ principal, ids: ids === null ? null : [...ids] }))
}

/**
 * Migration body: the triggers that send a notice for every committed change of `meetings`
 * (PostgreSQL only; nothing elsewhere). Statement-level with transition tables: one notice per
 * statement and principal, ids joined, or the principal alone when they would not fit the payload
 * limit (8000 bytes).
 */
export const createTriggers = (sql: SqlClient.SqlClient): Effect.Effect<void, SqlError.SqlError> =>
  sql.onDialectOrElse({
    pg: () =>
      Effect.all([
        sql.unsafe(`CREATE FUNCTION lf_meetings_notify(p text, ids text) RETURNS void LANGUAGE sql AS $$
          SELECT pg_notify('${channel}', CASE WHEN octet_length(ids) + octet_length(p) > 7000 THEN 'm ' || p
            ELSE 'm ' || p || ' ' || ids END)
          $$`),
        // An UPDATE also names the rows' old principal (a row moved to another principal).
        sql.unsafe(`CREATE FUNCTION lf_meetings_changed() RETURNS trigger LANGUAGE plpgsql AS $$
          DECLARE r record;
          BEGIN
            IF TG_OP = 'UPDATE' THEN
              FOR r IN SELECT principal, string_agg(id, ' ' ORDER BY id) AS ids FROM
                (SELECT principal, id FROM changed_rows UNION SELECT principal, id FROM old_rows) u GROUP BY principal LOOP
                PERFORM lf_meetings_notify(r.principal, r.ids);
              END LOOP;
            ELSE
              FOR r IN SELECT principal, string_agg(id, ' ' ORDER BY id) AS ids FROM changed_rows GROUP BY principal LOOP
                PERFORM lf_meetings_notify(r.principal, r.ids);
              END LOOP;
            END IF;
            RETURN NULL;
          END $$`),
        sql.unsafe(`CREATE TRIGGER meetings_notify_insert AFTER INSERT ON meetings
          REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION lf_meetings_changed()`),
        sql.unsafe(`CREATE TRIGGER meetings_notify_update AFTER UPDATE ON meetings
          REFERENCING OLD TABLE AS old_rows NEW TABLE AS changed_rows FOR EACH STATEMENT
          EXECUTE FUNCTION lf_meetings_changed()`),
        sql.unsafe(`CREATE TRIGGER meetings_notify_delete AFTER DELETE ON meetings
          REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION lf_meetings_changed()`)
      ], { discard: true }),
    orElse: () => Effect.void
  })
