/**
 * Regression tests for the review findings (B1-B12, D1-D3, A2): each fails without its fix.
 */
import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { MeetingCodec, Meetings, MeetingsError } from "@lightfield-effect/core"
import { ConfigProvider, Context, Deferred, Duration, Effect, Either, Exit, Fiber, Layer, Option } from "effect"
import { hostname } from "node:os"
import { CachedMeetings, MeetingsCache } from "../src/index.js"
import * as MeetingRow from "../src/internal/meetingRow.js"
import { cacheLayer, createParams, databaseLayer, eventually, fakeLayer, makeFake, many, meeting, withCache } from "./fixtures.js"
import { databases } from "./databases.js"

describe.each(databases)("sync reconciles only complete scans (B1) and serialises scans across connections (B2) ($name)", (db) => {
  it.scopedLive("a scan whose stream closed with complete: false marks nothing gone and stays unfinished", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake(many(60))
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          const first = yield* cache.sync()
          assert.isTrue(first.complete)
          fake.state.meetings.delete("m_00001")
          fake.state.incompleteScan = true
          const partial = yield* cache.sync()
          assert.isFalse(partial.complete)
          assert.deepStrictEqual(partial.gone, [])
          assert.strictEqual(yield* cache.count(), 60)
          const state = Option.getOrThrow(yield* cache.syncState)
          assert.isNull(state.finishedAt)
          // The next complete scan finishes the job.
          fake.state.incompleteScan = false
          const next = yield* cache.sync()
          assert.isTrue(next.complete)
          assert.deepStrictEqual(next.gone, ["m_00001"])
          assert.strictEqual(next.resumedAfterInterrupted, 1)
          assert.strictEqual(yield* cache.count(), 59)
        }))
    }))

  it.scopedLive("two connections syncing one principal concurrently: nothing that exists on the server ends up gone", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake(many(300))
      fake.state.pageDelay = "3 millis"
      const run = withCache(file, fake, (cache) => cache.sync({ batchSize: 25, batchWindow: "5 millis" }))
      const [a, b] = yield* Effect.all([run, run], { concurrency: 2 })
      assert.deepStrictEqual([...a.gone, ...b.gone], [])
      const stats = yield* withCache(file, fake, (cache) => cache.stats)
      assert.strictEqual(stats.meetings, 300)
      assert.strictEqual(stats.gone, 0)
      // The lease serialised them: both ran to completion, one after the other.
      assert.isTrue(a.complete && b.complete)
    }))

  it.scopedLive("a scan whose lease was taken over stops writing and does not reconcile", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake(many(300))
      fake.state.pageDelay = "10 millis"
      const started = yield* Deferred.make<void>()
      // A's lease expires at once, so B may take over while A is still scanning.
      const a = yield* Effect.fork(withCache(file, fake, (cache) =>
        cache.sync({
          lease: "1 millis",
          batchSize: 25,
          batchWindow: "1 millis",
          onProgress: (p) => (p.meetings > 0 ? Deferred.succeed(started, undefined) : Effect.void)
        })))
      yield* Deferred.await(started)
      const b = yield* withCache(file, fake, (cache) => cache.sync())
      const resultA = yield* Fiber.join(a)
      assert.isTrue(b.complete)
      if (db.name === "postgres") {
        // A live scan holds its session's advisory lock, whatever its row lease says: B waits for it
        // and joins the completed scan (a holder whose session ended: test/fleet/Coordination.test.ts).
        assert.isTrue(resultA.complete)
        assert.isTrue(b.joined)
      } else {
        assert.isFalse(resultA.complete)
      }
      assert.deepStrictEqual([...resultA.gone, ...b.gone], [])
      const stats = yield* withCache(file, fake, (cache) => cache.stats)
      assert.strictEqual(stats.meetings, 300)
      assert.strictEqual(stats.gone, 0)
    }))
})

/** A pid of this host that is certainly not running. */
const deadPid = (): number => {
  for (let pid = 999_999; ; pid++) {
    try {
      process.kill(pid, 0)
    } catch (error) {
      if ((error as { code?: string }).code === "ESRCH") return pid
    }
  }
}

describe.each(databases)("the sync lease ($name)", (db) => {
  const holdLease = (file: string, owner: string) =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`INSERT INTO sync_state
        (principal, scan_id, started_at, finished_at, last_complete_at, pages, items, interrupted, lease_until, lease_owner)
        VALUES ('tester', 'other-scan', ${Date.now()}, NULL, NULL, 3, 75, 0, ${Date.now() + 3_600_000}, ${owner})`
    }).pipe(Effect.provide(databaseLayer(file)))

  /** Another session holds the sync lease of `tester` until the scope closes. */
  const holdAdvisoryLock = (url: string) =>
    Effect.gen(function*() {
      const context = yield* Layer.build(databaseLayer(url))
      const sql = Context.get(context, SqlClient.SqlClient)
      const conn = yield* sql.reserve
      const [text, params] = sql`SELECT pg_advisory_lock(hashtextextended(${"lf-sync:tester"}, 0))`.compile()
      yield* conn.execute(text, params, undefined)
    })

  it.scopedLive("a lease held by a live scan is waited for (then a Busy CacheError); one held by a dead process is taken over at once", () =>
    Effect.gen(function*() {
      const fake = makeFake(many(30))
      const live = yield* db.fresh
      yield* holdLease(live, `${hostname()}/${process.pid}`)
      // On PostgreSQL a live holder is a session holding the principal's advisory lock (a lease row
      // without one belongs to a session that ended, below).
      if (db.name === "postgres") yield* holdAdvisoryLock(live)
      const busy = yield* Effect.flip(withCache(live, fake, (cache) => cache.sync({ leaseWait: "200 millis" })))
      assert.strictEqual(busy._tag, "CacheError")
      assert.strictEqual(busy._tag === "CacheError" ? busy.reason : "", "Busy")

      const dead = yield* db.fresh
      yield* holdLease(dead, `${hostname()}/${deadPid()}`)
      const started = Date.now()
      const result = yield* withCache(dead, fake, (cache) => cache.sync({ leaseWait: "10 seconds" }))
      assert.isBelow(Date.now() - started, 5_000)
      assert.isTrue(result.complete)
      assert.strictEqual(result.resumedAfterInterrupted, 1)
      assert.strictEqual(result.meetings, 30)
    }))
})

describe.each(databases)("list (B3, B5, A2) ($name)", (db) => {
  it.scopedLive("StaleWhileRevalidate list: one background sync in flight, however many callers", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake(many(100))
      fake.state.pageDelay = "5 millis"
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          yield* cache.sync()
          assert.strictEqual(fake.state.streams, 1)
          // Let the mirror go stale (maxAge 500 ms: long enough that the refreshed one stays fresh below).
          yield* Effect.sleep("550 millis")
          const pages = yield* Effect.all(
            Array.from({ length: 10 }, () => cache.listCached({ limit: 5 }, { policy: "StaleWhileRevalidate", maxAge: "500 millis" })),
            { concurrency: 10 }
          )
          assert.isTrue(pages.every((p) => p.source === "cache" && p.stale))
          yield* eventually(Effect.map(cache.syncState, (s) => Option.exists(s, (x) => x.finishedAt !== null) && fake.state.streams >= 2))
          // More callers while the mirror is fresh again do not start another one.
          yield* cache.list({ limit: 5 }, { policy: "StaleWhileRevalidate", maxAge: "500 millis" })
          yield* Effect.sleep("100 millis")
          assert.strictEqual(fake.state.streams, 2)
        }))
    }))

  it.scopedLive("list validates its params under every policy (no LIMIT -1 over the mirror)", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake(many(40))
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          yield* cache.sync()
          const before = fake.state.requests.length
          for (const policy of ["CacheFirst", "StaleWhileRevalidate", "NetworkFirst", "CacheOnly"] as const) {
            const negative = yield* Effect.flip(cache.list({ limit: -1 }, { policy }))
            assert.strictEqual(negative._tag, "InvalidParams", policy)
            assert.strictEqual(negative._tag === "InvalidParams" ? negative.param : "", "limit")
            const tooBig = yield* Effect.flip(cache.list({ limit: 26 }, { policy }))
            assert.strictEqual(tooBig._tag, "InvalidParams", policy)
            const offset = yield* Effect.flip(cache.list({ offset: -5 }, { policy }))
            assert.strictEqual(offset._tag, "InvalidParams", policy)
          }
          assert.strictEqual(fake.state.requests.length, before)
          assert.strictEqual((yield* cache.list({ limit: 25 }, { policy: "CacheOnly" })).data.length, 25)
        }))
    }))

  it.scopedLive("listCached says where the page came from and how old it is", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake(many(30))
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          const remote = yield* cache.listCached({ limit: 10 }, { policy: "NetworkFirst" })
          assert.strictEqual(remote.source, "network")
          assert.strictEqual(remote.value.data.length, 10)
          yield* Effect.sleep("20 millis")
          const local = yield* cache.listCached({ limit: 10 }, { policy: "CacheOnly", maxAge: "1 milli" })
          assert.strictEqual(local.source, "cache")
          assert.isTrue(local.stale)
          assert.isFalse(local.pending)
          assert.isTrue(Duration.greaterThanOrEqualTo(local.age, Duration.millis(20)))
        }))
    }))
})

describe.each(databases)("outbox (B4, B6, B10, B11) ($name)", (db) => {
  it.scopedLive("an invalid Idempotency-Key is refused before anything is stored or sent", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake([meeting("mtg_1")])
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          yield* cache.retrieve("mtg_1")
          const requests = fake.state.requests.length
          for (const key of ["", "k".repeat(256)]) {
            for (const offline of [true, false]) {
              const created = yield* Effect.flip(cache.create(createParams("Bad key"), { idempotencyKey: key, offline }))
              assert.strictEqual(created._tag, "InvalidParams")
              assert.strictEqual(created._tag === "InvalidParams" ? created.param : "", "Idempotency-Key")
              const updated = yield* Effect.flip(
                cache.update("mtg_1", { fields: { $privacySetting: "METADATA" } }, { idempotencyKey: key, offline })
              )
              assert.strictEqual(updated._tag === "InvalidParams" ? updated.param : updated._tag, "Idempotency-Key")
            }
          }
          assert.strictEqual((yield* cache.outbox).length, 0)
          assert.strictEqual((yield* cache.stats).pending, 0)
          assert.strictEqual(fake.state.requests.length, requests)
          // 255 characters is fine.
          const ok = yield* cache.create(createParams("Long key"), { idempotencyKey: "k".repeat(255), offline: true })
          assert.isTrue(ok.pending)
        }))
    }))

  it.scopedLive("a pending FULL row is redacted when the server starts serving the meeting as METADATA", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake([meeting("mtg_1", { description: "Secret pricing notes", transcript: "fil_1" })])
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          yield* cache.retrieve("mtg_1")
          const queued = yield* cache.update("mtg_1", { fields: { $privacySetting: "METADATA" } }, { offline: true })
          assert.isTrue(queued.pending)
          fake.state.meetings.set("mtg_1", meeting("mtg_1", { access: "METADATA", privacy: "FULL" }))
          yield* cache.refresh(["mtg_1"])
          const sql = yield* SqlClient.SqlClient
          const rows = yield* sql<{ access_level: string; description: string | null; body: string; pending: number }>`
            SELECT access_level, description, body, pending FROM meetings WHERE principal = 'tester' AND id = 'mtg_1'`
          assert.strictEqual(rows.length, 1)
          const row = rows[0]!
          assert.strictEqual(row.access_level, "METADATA")
          assert.isNull(row.description)
          assert.notInclude(row.body, "Secret pricing notes")
          assert.notInclude(row.body, "fil_1")
          assert.strictEqual(row.pending, 1)
          const read = yield* cache.retrieve("mtg_1", { policy: "CacheOnly" })
          assert.isTrue(read.pending)
          assert.isTrue(Option.isNone(read.value.description))
          // The queued update is re-applied on the redacted copy.
          assert.deepStrictEqual(read.value.privacySetting, Option.some("METADATA"))
          assert.strictEqual((yield* cache.query({ text: "pricing" })).length, 0)
          // Same through a sync.
          yield* cache.sync()
          const after = yield* sql<{ body: string }>`SELECT body FROM meetings WHERE principal = 'tester' AND id = 'mtg_1'`
          assert.notInclude(after[0]!.body, "Secret pricing notes")
        }))
    }))

  it.scopedLive("a retried dead letter goes to the end of the queue (new seq)", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake()
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          yield* cache.create(createParams("Old"), { offline: true })
          fake.state.writeFailure = new MeetingsError.Unprocessable({ message: "no", param: "fields.$startDate" })
          assert.strictEqual((yield* cache.replay).dead, 1)
          fake.state.writeFailure = undefined
          const dead = (yield* cache.deadLetters)[0]!
          yield* cache.create(createParams("Newer"), { offline: true })
          yield* cache.retryDeadLetter(dead.seq)
          const queue = yield* cache.outbox
          assert.strictEqual(queue.length, 2)
          assert.strictEqual(queue[1]!.idempotencyKey, dead.idempotencyKey)
          assert.isTrue(queue[1]!.seq > queue[0]!.seq)
          assert.isTrue(queue[1]!.seq > dead.seq)
          const replayed = yield* cache.replay
          assert.strictEqual(replayed.replayed, 2)
          const titles = fake.state.requests.filter((r) => r.op === "create").map((r) => r.idempotencyKey)
          assert.strictEqual(titles[titles.length - 1], dead.idempotencyKey)
        }))
    }))

  it.scopedLive("rebuild keeps pending update rows (and queued creates)", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake(many(20))
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          yield* cache.sync()
          yield* cache.update("m_00003", { fields: { $privacySetting: "METADATA" } }, { offline: true })
          const created = yield* cache.create(createParams("Queued"), { offline: true })
          yield* cache.rebuild
          const stats = yield* cache.stats
          assert.strictEqual(stats.meetings, 2)
          assert.strictEqual(stats.pending, 2)
          const updated = yield* cache.retrieve("m_00003", { policy: "CacheOnly" })
          assert.isTrue(updated.pending)
          assert.deepStrictEqual(updated.value.privacySetting, Option.some("METADATA"))
          assert.isTrue((yield* cache.retrieve(created.value.id, { policy: "CacheOnly" })).pending)
          const sql = yield* SqlClient.SqlClient
          const attendees = yield* sql<{ n: number }>`SELECT COUNT(*) AS n FROM meeting_attendees WHERE principal = 'tester'`
          assert.strictEqual(Number(attendees[0]!.n), 2) // m_00003's attendee and the queued create's one
        }))
    }))
})

const partialBody = {
  id: "mtg_1",
  accessLevel: "FULL",
  createdAt: "2026-01-01T00:00:00Z",
  updatedAt: null,
  objectType: "meeting",
  httpLink: null,
  fields: []
}

describe.each(databases)("errors are typed (B12, D1, D2, D3) ($name)", (db) => {
  it.scopedLive("layerMeetings: a local cache failure is distinguishable from an API outage", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake([meeting("mtg_1")])
      const live = CachedMeetings.layer({ policy: "CacheOnly" }).pipe(
        Layer.provide(cacheLayer(file, fake))
      )
      const error = yield* Effect.flip(Effect.flatMap(Meetings.Meetings, (m) => m.retrieve("mtg_1")).pipe(Effect.provide(live)))
      assert.strictEqual(error._tag, "MeetingsUnavailable")
      // A miss is told apart by its reason, never Transport (and the CacheMiss is kept as the cause).
      assert.strictEqual(error._tag === "MeetingsUnavailable" ? error.reason : "", "NotCached")
      assert.strictEqual(error._tag === "MeetingsUnavailable" ? (error.cause as { _tag?: string })?._tag : "", "CacheMiss")
      assert.isTrue(CachedMeetings.isLocalFailure(error))
      assert.isFalse(
        CachedMeetings.isLocalFailure(new MeetingsError.MeetingsUnavailable({ reason: "Transport", message: "down" }))
      )
    }))

  it.scopedLive("a query with an unparseable date is a typed CacheError naming the field", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake()
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          const from = yield* Effect.flip(cache.query({ from: "yesterday" }))
          assert.strictEqual(from._tag, "CacheError")
          assert.strictEqual(from.reason, "InvalidQuery")
          assert.include(from.message, "from")
          const to = yield* Effect.flip(cache.count({ to: new Date(Number.NaN) }))
          assert.strictEqual(to.reason, "InvalidQuery")
          assert.include(to.message, "to")
          assert.deepStrictEqual(yield* cache.query({ from: "2026-01-01T00:00:00Z" }), [])
        }))
    }))

  it.scopedLive("an invalid explicit principal fails the layer with a typed error, from options and from Config", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake()
      const exit = yield* Effect.exit(withCache(file, fake, () => Effect.void, { principal: "user 1" }))
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(withCache(file, fake, () => Effect.void, { principal: "user 1" }))
      assert.strictEqual(error._tag, "CacheError")
      assert.strictEqual(error.reason, "Config")

      const fromConfig = MeetingsCache.layerConfig().pipe(
        Layer.provide(fakeLayer(fake)),
        Layer.provide(databaseLayer(file)),
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["LIGHTFIELD_CACHE_PRINCIPAL", "user 1"]]))))
      )
      const configError = yield* Effect.flip(Effect.provide(Effect.void, fromConfig))
      assert.notStrictEqual(configError._tag, "CacheError")
      assert.include(String(configError), "LIGHTFIELD_CACHE_PRINCIPAL")
    }))

  it("a stored body that parses but is not a meeting is a Decode CacheError", () => {
    const row = (body: string) => ({ id: "mtg_1", body, fetched_at: 1, pending: 0, gone: 0, written_at: null })
    // Parses, has timestamps, but no `relationships` (and `fields` of the wrong shape).
    const broken = MeetingRow.decode(row(JSON.stringify(partialBody)))
    assert.isTrue(Either.isLeft(broken))
    if (Either.isLeft(broken)) assert.strictEqual(broken.left.reason, "Decode")
    const garbage = MeetingRow.decode(row("not json"))
    assert.isTrue(Either.isLeft(garbage))
    const good = MeetingRow.decode(row(MeetingCodec.encodeMeetingJson(meeting("mtg_1"))))
    assert.isTrue(Either.isRight(good))
  })

  it.scopedLive("a row whose body lacks fields is served as a Decode CacheError, not a defect", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake([meeting("mtg_1")])
      yield* withCache(file, fake, (cache) => Effect.asVoid(cache.retrieve("mtg_1")))
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`UPDATE meetings SET body = ${JSON.stringify(partialBody)}`
      }).pipe(Effect.provide(databaseLayer(file)))
      const error = yield* Effect.flip(withCache(file, fake, (cache) => cache.retrieve("mtg_1", { policy: "CacheOnly" })))
      assert.strictEqual(error._tag, "CacheError")
      assert.strictEqual(error._tag === "CacheError" ? error.reason : "", "Decode")
    }))
})
