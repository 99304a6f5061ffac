/**
 * The outbox's durability rules (issue 10): every send is recorded before it goes out, so an entry
 * whose idempotency key may have expired is never sent blind again.
 */
import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { MeetingsError } from "@lightfield-effect/core"
import { Effect, Fiber, TestClock } from "effect"
import { join } from "node:path"
import type { MeetingsCache } from "../src/index.js"
import { createParams, type Fake, makeFake, tempDir, withCache } from "./fixtures.js"
import { databases, type TestDatabase } from "./databases.js"

/** Wait (without the clock: these tests run on the TestClock) until `check` holds. */
const until = (check: () => boolean): Effect.Effect<void> =>
  Effect.suspend(() => (check() ? Effect.void : Effect.zipRight(Effect.yieldNow(), until(check))))

const creates = (fake: Fake) => fake.state.requests.filter((r) => r.op === "create")

/** A fresh cache file with one create queued offline, on the TestClock set to now. */
const queuedOffline = (title: string) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(Date.now())
    const file = join(yield* tempDir, "c.db")
    const fake = makeFake()
    yield* withCache(file, fake, (cache) => cache.create(createParams(title), { offline: true }))
    return { file, fake }
  })

/** The replay of `file` fails with a CacheError while outbox writes of this kind cannot commit. */
const replayFailingOn = (file: string, fake: Fake, event: "DELETE" | "UPDATE") =>
  withCache(file, fake, (cache) =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe(`CREATE TRIGGER fail_write BEFORE ${event} ON outbox BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`)
      const error = yield* Effect.flip(cache.replay)
      yield* sql`DROP TRIGGER fail_write`
      assert.strictEqual(error._tag, "CacheError")
    }))

/** A day later, the server has forgotten every idempotency key. */
const dayLater = (fake: Fake) =>
  Effect.zipRight(TestClock.adjust("24 hours"), Effect.sync(() => fake.state.idempotency.clear()))

/** After a day, a replay sends nothing: the entry is a dead letter that says why. */
const expiresUnsent = (file: string, fake: Fake, sentBefore: number) =>
  Effect.gen(function*() {
    yield* dayLater(fake)
    const replay = yield* withCache(file, fake, (cache) =>
      Effect.gen(function*() {
        const result = yield* cache.replay
        return { result, dead: yield* cache.deadLetters }
      }))
    assert.strictEqual(creates(fake).length, sentBefore, "nothing is sent once the key may have expired")
    assert.strictEqual(fake.state.meetings.size, 1, "the server holds one copy")
    assert.strictEqual(replay.result.replayed, 0)
    assert.deepStrictEqual(replay.dead.map((d) => d.lastError?._tag), ["IdempotencyKeyExpired"])
  })

describe.each(databases)("outbox: every send is recorded before it goes out ($name)", (db) => {
  it.scoped("[regression] an online create whose answer was lost is queued as sent: a day later it is not sent again", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.now())
      const file = yield* db.fresh
      const fake = makeFake()
      fake.state.dropAfterCommit = true
      const queued = yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          const created = yield* cache.create(createParams("Lost answer"))
          assert.isTrue(created.pending)
          return (yield* cache.outbox)[0]!
        }))
      assert.strictEqual(queued.sends, 1)
      assert.isNotNull(queued.firstSentAt)
      yield* expiresUnsent(file, fake, 1)
    }))

  it.scoped("[regression] a replay interrupted while its create is in flight leaves the entry marked as sent", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.now())
      const file = yield* db.fresh
      const fake = makeFake()
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          yield* cache.create(createParams("Interrupted"), { offline: true })
          fake.state.hangAfterCommit = true
          const replay = yield* Effect.fork(cache.replay)
          yield* until(() => creates(fake).length === 1)
          yield* Fiber.interrupt(replay)
          fake.state.hangAfterCommit = false
          const entry = (yield* cache.outbox)[0]!
          assert.strictEqual(entry.sends, 1)
          assert.isNotNull(entry.firstSentAt)
        }))
      yield* expiresUnsent(file, fake, 1)
    }))

  it.scoped("[regression] a replayed create whose local commit failed is not sent blind a day later", () =>
    Effect.gen(function*() {
      const { fake, file } = yield* queuedOffline("Commit fails")
      // The server's answer arrives, but the transaction that records it cannot commit.
      yield* replayFailingOn(file, fake, "DELETE")
      assert.strictEqual(creates(fake).length, 1)
      yield* expiresUnsent(file, fake, 1)
    }))

  it.scoped("[regression] when the send cannot be recorded, nothing is sent", () =>
    Effect.gen(function*() {
      const { fake, file } = yield* queuedOffline("Unrecorded")
      yield* replayFailingOn(file, fake, "UPDATE")
      assert.strictEqual(creates(fake).length, 0)
      // Once the disk is fine again it goes out, once.
      assert.strictEqual((yield* withCache(file, fake, (cache) => cache.replay)).replayed, 1)
      assert.strictEqual(creates(fake).length, 1)
    }))

  it.scoped("an entry sent within the key's lifetime is resent with its key (the server replays the answer)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.now())
      const file = yield* db.fresh
      const fake = makeFake()
      fake.state.dropAfterCommit = true
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          yield* cache.create(createParams("Soon"))
          yield* TestClock.adjust("22 hours")
          assert.strictEqual((yield* cache.replay).replayed, 1)
          assert.strictEqual(fake.state.meetings.size, 1)
          assert.isTrue(creates(fake)[1]!.replayed)
        }))
    }))
})

const unprocessable = new MeetingsError.Unprocessable({ message: "no", param: "fields.$startDate" })

/** A queued create and an update on its provisional id, both dead letters after a 422. */
const deadPair = (cache: MeetingsCache.MeetingsCacheShape, fake: Fake) =>
  Effect.gen(function*() {
    const created = yield* cache.create(createParams("Doomed"), { offline: true })
    yield* cache.update(created.value.id, { fields: { $privacySetting: "METADATA" } }, { offline: true })
    fake.state.writeFailure = unprocessable
    assert.strictEqual((yield* cache.replay).dead, 2)
    fake.state.writeFailure = undefined
    const [create, update] = yield* cache.deadLetters
    return { create: create!, update: update!, localId: created.value.id }
  })

/** A fresh cache whose outbox holds `deadPair`, then `f`. */
const withDeadPair = <A, E>(
  db: TestDatabase,
  f: (
    cache: MeetingsCache.MeetingsCacheShape,
    pair: Effect.Effect.Success<ReturnType<typeof deadPair>>,
    fake: Fake
  ) => Effect.Effect<A, E, SqlClient.SqlClient>
) =>
  Effect.gen(function*() {
    const file = yield* db.fresh
    const fake = makeFake()
    return yield* withCache(file, fake, (cache) => Effect.flatMap(deadPair(cache, fake), (pair) => f(cache, pair, fake)))
  })

describe.each(databases)("outbox: dependencies never deadlock the queue ($name)", (db) => {
  it.scopedLive("[regression] retrying the update before its create replays both, in order; online creates go through", () =>
    withDeadPair(db, (cache, { create, update }, fake) =>
      Effect.gen(function*() {
        yield* cache.retryDeadLetter(update.seq)
        yield* cache.retryDeadLetter(create.seq)
        const result = yield* cache.replay
        assert.strictEqual(result.replayed, 2)
        assert.strictEqual(result.remaining, 0)
        const sent = fake.state.requests.filter((r) => !r.replayed).map((r) => r.op)
        assert.deepStrictEqual(sent.slice(-2), ["create", "update"])
        const online = yield* cache.create(createParams("Online"))
        assert.strictEqual(online.source, "network")
      })))

  it.scopedLive("[regression] discarding a dead create makes its update a dead letter that says so; nothing waits behind it", () =>
    withDeadPair(db, (cache, { create, update }) =>
      Effect.gen(function*() {
        yield* cache.discardDeadLetter(create.seq)
        yield* cache.retryDeadLetter(update.seq)
        yield* cache.create(createParams("Independent"), { offline: true })
        const result = yield* cache.replay
        assert.strictEqual(result.replayed, 1)
        assert.strictEqual(result.remaining, 0)
        const dead = yield* cache.deadLetters
        assert.deepStrictEqual(dead.map((d) => [d.seq === update.seq || d.op, d.lastError?._tag]), [["update", "DependencyFailed"]])
        assert.include(dead[0]!.lastError?.message ?? "", "discarded")
        const online = yield* cache.create(createParams("Online"))
        assert.strictEqual(online.source, "network")
        assert.isFalse(online.pending)
      })))

  it.scopedLive("[regression] discarding a dead create says so on the dead letters of its updates", () =>
    withDeadPair(db, (cache, { create, localId }) =>
      Effect.gen(function*() {
        yield* cache.discardDeadLetter(create.seq)
        const dead = yield* cache.deadLetters
        assert.deepStrictEqual(dead.map((d) => [d.op, d.targetId, d.lastError?._tag]), [["update", localId, "DependencyFailed"]])
        assert.include(dead[0]!.lastError?.message ?? "", "discarded")
        assert.strictEqual((yield* cache.outbox).length, 0)
      })))

  it.scopedLive("[regression] an entry that keeps meeting a conflict does not hold back independent entries or online creates", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake()
      fake.state.refuseTitles.set("Conflicted", new MeetingsError.Conflict({ message: "locked" }))
      yield* withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          const stuck = yield* cache.create(createParams("Conflicted"), { offline: true })
          yield* cache.update(stuck.value.id, { fields: { $privacySetting: "METADATA" } }, { offline: true })
          yield* cache.create(createParams("Independent"), { offline: true })
          const result = yield* cache.replay
          assert.strictEqual(result.replayed, 1)
          assert.strictEqual(result.remaining, 2)
          const online = yield* cache.create(createParams("Online"))
          assert.strictEqual(online.source, "network")
          // The stuck create and its update still wait, in order.
          assert.deepStrictEqual((yield* cache.outbox).map((e) => e.op), ["create", "update"])
          fake.state.refuseTitles.clear()
          assert.strictEqual((yield* cache.replay).replayed, 2)
        }))
    }))

  it.scopedLive("retrying a dead create re-queues it alone; its update waits as a dead letter until it is retried too", () =>
    withDeadPair(db, (cache, { create, update }) =>
      Effect.gen(function*() {
        yield* cache.retryDeadLetter(create.seq)
        assert.deepStrictEqual((yield* cache.outbox).map((e) => e.op), ["create"])
        assert.strictEqual((yield* cache.replay).replayed, 1)
        assert.deepStrictEqual((yield* cache.deadLetters).map((e) => e.seq), [update.seq])
        yield* cache.retryDeadLetter(update.seq)
        assert.strictEqual((yield* cache.replay).replayed, 1)
        assert.strictEqual((yield* cache.deadLetters).length, 0)
      })))
})
