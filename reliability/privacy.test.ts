/**
 * Privacy fuzz: three principals (sandbox keys `member`, `member2` and `admin`) share ONE cache file,
 * each through its own connection. A seeded random interleaving of their syncs, reads (every read
 * policy, local queries with full-text search, list pages, streams), writes (online and offline),
 * replays, refreshes and rebuilds — some pairs of them concurrently — runs while the server changes
 * underneath (privacy flips, new and removed meetings).
 *
 * The oracle is what the sandbox serves each key: after every step that changes the server, the
 * meetings each key is served with FULL access (and their content) are recorded. Checked all along:
 * no answer to a principal carries content it was never served with FULL access, a METADATA answer
 * carries no content, a principal never sees another's provisional (offline) meetings, a full-text
 * search never matches on content the caller cannot see; the stored rows (read directly with
 * better-sqlite3) obey the same rules, and the raw API keys are never written to the file. At the
 * end, after a replay and a sync, each principal's cache equals the sandbox's view for its key.
 */
import { assert, describe, it } from "@effect/vitest"
import type { MeetingsCache } from "@lightfield-effect/cache"
import type { Meeting, Meetings } from "@lightfield-effect/core"
import { Cause, Chunk, Duration, Effect, Exit, Logger, LogLevel, Option, Stream } from "effect"
import { join } from "node:path"
import * as Env from "./lib/Env.js"
import type { Prng } from "./lib/Prng.js"
import * as Run from "./lib/Run.js"
import { Tally } from "./lib/Summary.js"

type Label = "member" | "member2" | "admin"

interface Principal {
  readonly label: Label
  readonly key: string
  readonly fingerprint: string
  readonly cache: MeetingsCache.MeetingsCacheShape
  readonly oracle: Meetings.MeetingsShape
  /** Meetings the sandbox has served this key with FULL access, with their description. */
  readonly everFull: Map<string, string | null>
  /** Provisional ids of this principal's offline creates. */
  readonly localIds: Set<string>
}

const policies = ["CacheFirst", "StaleWhileRevalidate", "NetworkFirst", "CacheOnly"] as const

const words = (text: string): ReadonlyArray<string> =>
  text.toLowerCase().split(/[^\p{L}\p{N}_]+/u).filter((w) => w.length > 0)

describe("privacy fuzz", () => {
  it.scopedLive("interleaved principals on one cache file never see each other's rows or content they were not served", () =>
    Effect.gen(function*() {
      const sizes = Run.sizes()
      const rng: Prng = Run.prng("privacy")
      const tally = new Tally("privacy", "privacy fuzz (3 principals, 1 file)")
      yield* Effect.addFinalizer(() => Effect.sync(() => Run.record(tally)))
      console.log(`privacy: seed ${Run.seed()} (scale ${Run.scale()}): ${sizes.privacySteps} steps, ${sizes.privacyMeetings} meetings`)

      const dir = yield* Env.tempDir("privacy")
      const db = join(dir, "shared.db")
      const sb = yield* Env.sandbox({ meetings: sizes.privacyMeetings, seed: rng.int(1, 1_000_000) })
      const baseUrl = yield* sb.baseUrl
      const labels: ReadonlyArray<Label> = ["member", "member2", "admin"]
      const principals: Array<Principal> = []
      for (const label of labels) {
        const key = sb.keys[label]
        principals.push({
          label,
          key,
          fingerprint: Env.principalOf(key),
          cache: yield* Env.cache({ baseUrl, apiKey: key, db, cache: { maxAge: "1 second" } }),
          oracle: yield* Env.client(baseUrl, key, { rate: false }),
          everFull: new Map(),
          localIds: new Set()
        })
      }
      const byFingerprint = new Map(principals.map((p) => [p.fingerprint, p]))
      const leaks: Array<string> = []
      const leak = (what: string) => {
        tally.leaks++
        if (leaks.length < 20) leaks.push(what)
      }
      const unhandledBefore = Run.unhandled()

      /** Record what the sandbox serves every key now (after a step that may have changed it). */
      const observeServer = Effect.gen(function*() {
        for (const p of principals) {
          const view = yield* Env.serverView(p.oracle)
          for (const [id, s] of view) if (s.access === "FULL") p.everFull.set(id, s.description)
        }
      })

      /**
       * Answers are checked after the step, once the oracle has recorded what the server serves now
       * (a step may have changed it: an online create makes its creator FULL on the new meeting).
       */
      const toCheck: Array<readonly [Principal, Meeting.Meeting, string]> = []
      const checkMeeting = (p: Principal, m: Meeting.Meeting, via: string) => {
        toCheck.push([p, m, via])
      }
      const checkNow = (p: Principal, m: Meeting.Meeting, via: string) => {
        const s = Env.seen(m)
        if (m.id.startsWith("local_")) {
          if (!p.localIds.has(m.id)) leak(`${p.label} got another principal's provisional ${m.id} via ${via}`)
          return
        }
        if (s.access === "METADATA") {
          if (s.description !== null || s.transcript) leak(`${p.label} got content on a METADATA copy of ${m.id} via ${via}`)
          return
        }
        if (!p.everFull.has(m.id)) {
          leak(`${p.label} got FULL ${m.id} via ${via}; the sandbox never served it FULL to this key`)
        } else if (s.description !== null && s.description !== p.everFull.get(m.id)) {
          leak(`${p.label} got a description of ${m.id} via ${via} the sandbox never served it`)
        }
      }

      const category = (name: string) =>
        /^(get|list|query|streamLocal)/.test(name) ? "reads" : /^(create|update)/.test(name) ? "writes" : name

      /** Run an operation; typed failures are fine (counted), defects are not. */
      const attempt = <A, E extends { readonly _tag: string }>(name: string, self: Effect.Effect<A, E>) =>
        Effect.gen(function*() {
          const exit = yield* Effect.exit(self)
          tally.trials++
          if (Exit.isSuccess(exit)) {
            tally.outcome(category(name))
            return Option.some(exit.value)
          }
          if (Cause.isDie(exit.cause) || Cause.isInterrupted(exit.cause)) {
            tally.defects++
            assert.fail(`${name}: defect ${Cause.pretty(exit.cause)}`)
          }
          const failure = Cause.failureOption(exit.cause)
          tally.outcome(`${category(name)} refused (${Option.match(failure, { onNone: () => "?", onSome: (e) => e._tag })})`)
          return Option.none<A>()
        })

      const serverIds = Effect.map(sb.meetings, (all) => all.map((m) => m.id))
      const titles = Effect.map(sb.meetings, (all) => all.map((m) => String(m.fields["$title"]?.value ?? "")))

      let created = 0
      const createParams = (p: Principal): Parameters<MeetingsCache.MeetingsCacheShape["create"]>[0] => {
        const start = Date.now() - rng.int(1, 400) * 3_600_000
        const attendees = rng.sample(["alice@acme.test", "bob@acme.test", "pat@globex.test", "kim@umbrella.test"], rng.int(0, 2))
        return {
          fields: {
            $title: `privacy ${p.label} ${++created} ${rng.pick(["alpha", "bravo", "charlie", "delta"])}`,
            $startDate: new Date(start).toISOString(),
            $endDate: new Date(start + 1_800_000).toISOString(),
            $description: `secret-${p.label}-${created} ${rng.pick(["zeppelin", "quokka", "marmalade", "obsidian"])}`,
            $attendeeEmails: attendees,
            $privacySetting: rng.pick(["FULL", "METADATA"] as const)
          },
          ...(rng.chance(0.3) ? { relationships: { $transcript: `fil_${rng.int(1, 9999)}` } } : {})
        }
      }

      /** One random step for principal `p`; returns whether the server may have changed. */
      const step = (p: Principal): Effect.Effect<boolean> =>
        Effect.gen(function*() {
          const ids = yield* serverIds
          const r = rng.int(0, 99)
          const others = principals.filter((o) => o !== p)
          if (r < 12) {
            yield* attempt("sync", p.cache.sync({ pageSize: rng.pick([10, 25]), batchSize: rng.pick([20, 500]) }))
            return false
          }
          if (r < 40) {
            // A read by id: a server id, its own provisional id, or somebody else's provisional id.
            const kind = rng.int(0, 9)
            const policy = rng.pick(policies)
            if (kind === 0) {
              const theirs = others.flatMap((o) => [...o.localIds])
              if (theirs.length === 0) return false
              const id = rng.pick(theirs)
              const answer = yield* attempt(`get another's provisional (${policy})`, p.cache.retrieve(id, { policy }))
              if (Option.isSome(answer)) leak(`${p.label} read another principal's provisional ${id}: ${answer.value.value.id}`)
              return false
            }
            const id = kind === 1 && p.localIds.size > 0 ? rng.pick([...p.localIds]) : rng.pick(ids)
            const answer = yield* attempt(`get (${policy})`, p.cache.retrieve(id, { policy, ...(rng.chance(0.3) ? { maxAge: 0 } : {}) }))
            if (Option.isSome(answer)) checkMeeting(p, answer.value.value, `get ${policy}`)
            return false
          }
          if (r < 52) {
            const policy = rng.pick(policies)
            const page = yield* attempt(
              `list (${policy})`,
              p.cache.list({ limit: rng.int(1, 25), offset: rng.int(0, 60) }, { policy })
            )
            if (Option.isSome(page)) for (const m of page.value.data) checkMeeting(p, m, `list ${policy}`)
            return false
          }
          if (r < 64) {
            // Local query, often full-text: a word from a title, or one that only occurs in content.
            const pool = [...(yield* titles).flatMap(words), "zeppelin", "quokka", "marmalade", "obsidian", "sso", "budget", "liability"]
            const text = rng.chance(0.7) ? rng.pick(pool) : undefined
            const q = {
              ...(text === undefined ? {} : { text }),
              ...(rng.chance(0.2) ? { accessLevel: rng.pick(["FULL", "METADATA"] as const) } : {}),
              ...(rng.chance(0.2) ? { attendee: rng.pick(["alice@acme.test", "bob@acme.test"]) } : {}),
              limit: 200
            }
            const rows = yield* attempt("query", p.cache.query(q))
            if (Option.isSome(rows)) {
              for (const c of rows.value) {
                checkMeeting(p, c.value, "query")
                if (text !== undefined) {
                  // A match must be explained by what this caller can see (title or its own description).
                  const visible = words(`${c.value.fields["$title"]?.value ?? ""} ${Env.seen(c.value).description ?? ""}`)
                  if (!words(text).every((w) => visible.some((v) => v.startsWith(w)))) {
                    leak(`${p.label}'s search "${text}" matched ${c.value.id} on content it cannot see`)
                  }
                }
              }
            }
            return false
          }
          if (r < 68) {
            const all = yield* attempt("streamLocal", Stream.runCollect(p.cache.streamLocal))
            if (Option.isSome(all)) for (const m of Chunk.toReadonlyArray(all.value)) checkMeeting(p, m, "streamLocal")
            return false
          }
          if (r < 75) {
            const offline = rng.chance(0.5)
            const answer = yield* attempt(offline ? "create offline" : "create", p.cache.create(createParams(p), { offline }))
            if (Option.isSome(answer)) {
              if (answer.value.value.id.startsWith("local_")) p.localIds.add(answer.value.value.id)
              else checkMeeting(p, answer.value.value, "create")
            }
            return !offline
          }
          if (r < 82) {
            const offline = rng.chance(0.5)
            const target = p.localIds.size > 0 && rng.chance(0.3) ? rng.pick([...p.localIds]) : rng.pick(ids)
            const answer = yield* attempt(
              offline ? "update offline" : "update",
              p.cache.update(target, { fields: { $privacySetting: rng.pick(["FULL", "METADATA"] as const) } }, { offline })
            )
            if (Option.isSome(answer)) checkMeeting(p, answer.value.value, "update")
            return !offline
          }
          if (r < 87) {
            const result = yield* attempt("replay", p.cache.replay)
            return Option.isSome(result) && result.value.replayed > 0
          }
          if (r < 90) {
            const answer = yield* attempt("refresh", p.cache.refresh(rng.sample(ids, rng.int(1, 5))))
            void answer
            return false
          }
          if (r < 91) {
            yield* attempt("rebuild", p.cache.rebuild)
            return false
          }
          // The server changes underneath.
          const all = yield* sb.meetings
          if (r < 97) {
            for (const m of rng.sample(all, rng.int(1, 3))) yield* sb.setPrivacy(m.id, rng.pick(["FULL", "METADATA"] as const))
            tally.outcome("server changes")
          } else if (r < 99) {
            yield* sb.seedMore(rng.int(1, 3))
            tally.outcome("server changes")
          } else if (all.length > 20) {
            yield* sb.remove(rng.pick(all).id)
            tally.outcome("server changes")
          }
          return true
        })

      /** Direct inspection of the shared file. */
      const inspect = (label: string) =>
        Effect.gen(function*() {
          const rows = yield* Env.storedRows(db)
          for (const row of rows) {
            const owner = byFingerprint.get(row.principal)
            if (owner === undefined) {
              leak(`${label}: a row of an unknown principal ${row.principal}`)
              continue
            }
            const s = Env.storedSeen(row)
            if (row.gone === 1 && s.description === null && !s.transcript) continue
            if (row.access_level !== s.access) leak(`${label}: row ${row.id} access column ${row.access_level} vs body ${s.access}`)
            if (row.id.startsWith("local_")) {
              if (!owner.localIds.has(row.id)) leak(`${label}: provisional ${row.id} stored under ${owner.label}, who never created it`)
              continue
            }
            if (s.access === "METADATA") {
              if (row.description !== null || s.description !== null || s.transcript) {
                leak(`${label}: METADATA row ${row.id} of ${owner.label} stores content`)
              }
            } else if (!owner.everFull.has(row.id)) {
              leak(`${label}: FULL row ${row.id} stored for ${owner.label}, never served FULL to it`)
            } else if (s.description !== null && s.description !== owner.everFull.get(row.id)) {
              leak(`${label}: row ${row.id} of ${owner.label} stores a description it was never served`)
            }
          }
          const outbox = yield* Env.outboxRows(db)
          for (const row of outbox) {
            const owner = byFingerprint.get(row.principal)
            if (row.local_id !== null && owner !== undefined && !owner.localIds.has(row.local_id)) {
              leak(`${label}: outbox entry ${row.seq} of ${owner.label} for a provisional id it never created`)
            }
          }
          tally.outcome("file inspections")
        })

      yield* observeServer
      for (let i = 1; i <= sizes.privacySteps; i++) {
        let changed: boolean
        if (rng.chance(0.12)) {
          // Two principals at once, on their own connections to the same file.
          const [a, b] = rng.sample(principals, 2)
          const both = yield* Effect.all([step(a!), step(b!)], { concurrency: 2 })
          changed = both[0] || both[1]
          tally.outcome("concurrent pairs")
        } else {
          changed = yield* step(rng.pick(principals))
        }
        if (changed) yield* observeServer
        for (const [p, m, via] of toCheck.splice(0)) checkNow(p, m, via)
        if (i % 25 === 0) yield* inspect(`step ${i}`)
        assert.deepStrictEqual(leaks, [], `leaks by step ${i} (seed ${Run.seed()})`)
      }

      // Drain every outbox, sync everyone: each cache equals what the sandbox serves its key.
      yield* Effect.sleep(Duration.millis(50))
      for (const p of principals) {
        const replayed = yield* p.cache.replay
        assert.strictEqual(replayed.remaining, 0, `${p.label}: outbox drained`)
      }
      yield* observeServer
      for (const p of principals) {
        yield* p.cache.sync()
        for (const id of (yield* p.cache.deadLetters).map((d) => d.localId)) if (id !== null) p.localIds.delete(id)
      }
      yield* inspect("final")
      const rows = yield* Env.storedRows(db)
      for (const p of principals) {
        const server = yield* Env.serverView(p.oracle)
        const served = yield* Env.cacheView(p.cache)
        // Dead letters' provisional meetings are tombstoned; replayed ones resolved: none is left servable.
        const dServed = Env.diff(server, served)
        const dStored = Env.diff(server, Env.storedView(rows, p.fingerprint))
        tally.leaks += dServed.accessMismatch.filter((id) => served.get(id)?.access === "FULL").length
        assert.isTrue(Env.same(dServed), `${p.label}: served view after the final sync: ${Env.describeDiff(dServed)}`)
        assert.isTrue(Env.same(dStored), `${p.label}: stored rows after the final sync: ${Env.describeDiff(dStored)}`)
        for (const other of principals) {
          if (Env.fileContains(db, other.key)) leak(`the raw API key of ${other.label} is stored in the file`)
        }
      }
      assert.deepStrictEqual(leaks, [], "leaks at the end")

      // The checks are not vacuous: plant a FULL copy of a meeting under a principal the sandbox only
      // ever served METADATA for it (as a broken cache would), and both the read check and the file
      // inspection must flag it.
      const member = principals[0]!
      const admin = principals[2]!
      const target = [...admin.everFull.keys()].find((id) => !member.everFull.has(id) && (rows.some((r) =>
        r.principal === member.fingerprint && r.id === id && r.gone === 0
      )))
      if (target !== undefined) {
        const source = rows.find((r) => r.principal === admin.fingerprint && r.id === target)!
        yield* Env.withSqlite(db, (sqlite) =>
          sqlite.prepare("UPDATE meetings SET body = ?, access_level = 'FULL', description = ? WHERE principal = ? AND id = ?")
            .run(source.body, source.description, member.fingerprint, target))
        const leaksBefore = tally.leaks
        yield* Effect.sleep(Duration.millis(150))
        const read = yield* member.cache.retrieve(target, { policy: "CacheOnly" })
        checkNow(member, read.value, "planted")
        yield* inspect("planted")
        const detected = tally.leaks - leaksBefore
        tally.leaks = leaksBefore
        leaks.length = 0
        tally.outcome("planted leak detected", detected >= 2 ? 1 : 0)
        assert.isAtLeast(detected, 2, "a planted leak is detected by the read check and the file inspection")
      }
      const unhandled = Run.unhandled() - unhandledBefore
      tally.defects += unhandled
      assert.strictEqual(unhandled, 0, "unhandled rejections")
      assert.strictEqual(tally.leaks + tally.defects, 0)
    }).pipe(Logger.withMinimumLogLevel(LogLevel.Error)))
})
