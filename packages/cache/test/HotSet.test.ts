import { SqlClient } from "@effect/sql"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { Database, Principal } from "../src/index.js"
import * as HotSet from "../src/internal/hotSet.js"
import type { StoredMeeting } from "../src/internal/meetingRow.js"
import { meeting } from "./fixtures.js"

const alice = Principal.fromApiKey("sk_lf_alice")
const bob = Principal.fromApiKey("sk_lf_bob")

const stored = (id: string, fetchedAt = 1): StoredMeeting => ({
  meeting: meeting(id),
  fetchedAt,
  pending: false,
  gone: false,
  writtenAt: null
})

/** A hot set over an in-memory database, `f` run with it. */
const withHot = (capacity: number, f: (hot: HotSet.HotSet) => void) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    f(HotSet.make(sql, capacity))
  }).pipe(Effect.provide(Database.layerMemory))

/** A hot set over an in-memory database, the effect `f` makes run with it. */
const withHotEffect = <A, E>(capacity: number, f: (hot: HotSet.HotSet) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return yield* f(HotSet.make(sql, capacity))
  }).pipe(Effect.provide(Database.layerMemory))

/** Read twice (the second read admits it), as the read path remembers rows. */
const admit = (hot: HotSet.HotSet, principal: Principal.Principal, id: string, s: StoredMeeting) => {
  hot.remember(principal, id, s, hot.generation())
  hot.remember(principal, id, s, hot.generation())
}

describe("hot set", () => {
  it.effect("keeps each principal's copy of an id apart, and invalidating one leaves the other", () =>
    withHot(10, (hot) => {
      const a = stored("m_1", 1)
      const b = stored("m_1", 2)
      admit(hot, alice, "m_1", a)
      assert.isUndefined(hot.get(bob, "m_1"))
      admit(hot, bob, "m_1", b)
      assert.strictEqual(hot.get(alice, "m_1"), a)
      assert.strictEqual(hot.get(bob, "m_1"), b)
      assert.strictEqual(hot.sameVersion(bob, "m_1", 2, false), b)
      assert.isUndefined(hot.sameVersion(alice, "m_1", 2, false))
      hot.invalidate(alice, ["m_1"])
      assert.isUndefined(hot.get(alice, "m_1"))
      assert.strictEqual(hot.get(bob, "m_1"), b)
      admit(hot, alice, "m_1", a)
      hot.invalidate(bob, ["m_1"])
      assert.strictEqual(hot.get(alice, "m_1"), a)
      assert.isUndefined(hot.get(bob, "m_1"))
    }))

  it.effect("admits a row on its second read, and holds at most `capacity` copies (least recently used out)", () =>
    withHot(3, (hot) => {
      hot.remember(alice, "m_1", stored("m_1"), hot.generation())
      assert.isUndefined(hot.get(alice, "m_1"))
      for (const id of ["m_1", "m_2", "m_3"]) admit(hot, alice, id, stored(id))
      assert.isDefined(hot.get(alice, "m_1")) // m_1 is now the most recently used
      admit(hot, bob, "m_2", stored("m_2"))
      // Four copies wanted, three allowed: the least recently used id (m_2, with both copies) went.
      assert.isUndefined(hot.get(alice, "m_2"))
      assert.isDefined(hot.get(alice, "m_1"))
      assert.isDefined(hot.get(alice, "m_3"))
      admit(hot, bob, "m_4", stored("m_4"))
      admit(hot, bob, "m_5", stored("m_5"))
      const kept = ["m_1", "m_3", "m_4", "m_5"].filter((id) => hot.get(alice, id) ?? hot.get(bob, id))
      assert.strictEqual(kept.length, 3)
    }))

  it.effect("a read that saw another generation is not remembered; invalidateAll drops every copy", () =>
    withHot(10, (hot) => {
      const before = hot.generation()
      hot.invalidate(alice, ["m_9"])
      hot.remember(alice, "m_1", stored("m_1"), before)
      hot.remember(alice, "m_1", stored("m_1"), before)
      assert.isUndefined(hot.get(alice, "m_1"))
      admit(hot, alice, "m_1", stored("m_1"))
      admit(hot, bob, "m_1", stored("m_1"))
      hot.invalidateAll()
      assert.isUndefined(hot.get(alice, "m_1"))
      assert.isUndefined(hot.get(bob, "m_1"))
    }))

  it.effect("a second principal's copy of an id makes the id the most recently used; nothing is remembered while a write runs", () =>
    withHot(3, (hot) => {
      for (const id of ["m_1", "m_2"]) admit(hot, alice, id, stored(id))
      admit(hot, bob, "m_1", stored("m_1"))
      admit(hot, alice, "m_3", stored("m_3")) // a fourth copy: the least recently used id (m_2) goes
      assert.isUndefined(hot.get(alice, "m_2"))
      assert.isDefined(hot.get(alice, "m_1"))
      assert.isDefined(hot.get(bob, "m_1"))
      assert.isDefined(hot.get(alice, "m_3"))
    }).pipe(Effect.zipRight(withHotEffect(10, (hot) =>
      Effect.gen(function*() {
        admit(hot, alice, "m_1", stored("m_1"))
        yield* hot.around(alice, ["m_1"], Effect.sync(() => {
          assert.isUndefined(hot.get(alice, "m_1"))
          admit(hot, alice, "m_2", stored("m_2"))
        }))
        assert.isUndefined(hot.get(alice, "m_2"))
        admit(hot, alice, "m_2", stored("m_2"))
        assert.isDefined(hot.get(alice, "m_2"))
      })))))
})
