/**
 * Dependency chains of dead letters (issue 10 #3). Offline: a create C, an update U of C's
 * provisional `local_` id, then independent writes (a create I and an update of a synced meeting).
 * The replay meets a 422 for C, so C is a dead letter and U can never be sent as it is. Then every
 * order of retrying and discarding C and U (one or two steps; three in the large size), and replays.
 *
 * Per order: no replay stops for good (nothing stays pending behind a dead entry), the independent
 * writes and a later online create go through at once, nothing is sent that should not be (no
 * `local_` id on the wire, nothing of a discarded create, no update before its create), every write
 * runs at most once, and what the user retried with its dependency alive is executed.
 */
import { describe, it } from "@effect/vitest"
import type { MeetingsCache } from "@lightfield-effect/cache"
import type { MeetingParams } from "@lightfield-effect/core"
import { MeetingsClient } from "@lightfield-effect/core"
import { Duration, Effect, Logger, LogLevel } from "effect"
import { join } from "node:path"
import * as Env from "./lib/Env.js"
import * as Run from "./lib/Run.js"
import * as Scenario from "./lib/Scenario.js"

type Action = "retry C" | "retry U" | "discard C" | "discard U"
const actions: ReadonlyArray<Action> = ["retry C", "retry U", "discard C", "discard U"]

/** Every sequence of distinct actions of length 1..`max`. */
const orders = (max: number): ReadonlyArray<ReadonlyArray<Action>> => {
  const out: Array<ReadonlyArray<Action>> = []
  const grow = (prefix: ReadonlyArray<Action>) => {
    if (prefix.length > 0) out.push(prefix)
    if (prefix.length === max) return
    for (const a of actions) if (!prefix.includes(a)) grow([...prefix, a])
  }
  grow([])
  return out
}

const fast = MeetingsClient.retrySchedule({ maxRetries: 1, base: Duration.millis(10), maxDelay: Duration.millis(20) })

const createParams = (title: string): MeetingParams.CreateMeetingParams => {
  const start = Date.now() - 2 * 86_400_000
  return { fields: { $title: title, $startDate: new Date(start).toISOString(), $endDate: new Date(start + 1_800_000).toISOString() } }
}

describe("dependency chains of dead letters", () => {
  it.scopedLive("every order of retry/discard of a dead create and its update: no deadlock, nothing sent that should not be", () =>
    Effect.gen(function*() {
      const scenario = yield* Scenario.start("dead-letters", "dead-letter dependency chains")
      const tally = scenario.tally
      const rng = Run.prng("dead-letters")
      const dir = yield* Env.tempDir("dead-letters")
      const sb = yield* Env.sandbox({ meetings: 8, seed: rng.int(1, 1_000_000) })
      const baseUrl = yield* sb.baseUrl
      const apiKey = sb.keys.member
      const existing = (yield* sb.meetings)[2]!.id
      const plan = orders(Run.scale() === "large" ? 3 : 2)

      for (const [n, order] of plan.entries()) {
        const label = `order ${n + 1} [${order.join(", ")}]`
        const fail = (what: string) => scenario.fail(`${label}: ${what}`)
        const titles = { c: `dl ${Run.seed()} C${n}`, i: `dl ${Run.seed()} I${n}`, later: `dl ${Run.seed()} N${n}` }
        const privacy = rng.pick(["FULL", "METADATA"] as const)
        yield* sb.clearFaults
        yield* sb.clearRequests
        const exit = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
          const cache: MeetingsCache.MeetingsCacheShape = yield* Env.cache({
            baseUrl,
            apiKey,
            db: join(dir, `dl-${n}.db`),
            client: { maxRetries: 1, retrySchedule: fast }
          })
          yield* cache.get(existing, { policy: "NetworkFirst" })
          const c = yield* cache.create(createParams(titles.c), { offline: true })
          yield* cache.update(c.value.id, { fields: { $privacySetting: privacy } }, { offline: true })
          yield* cache.create(createParams(titles.i), { offline: true })
          yield* cache.update(existing, { fields: { $privacySetting: privacy } }, { offline: true })
          const queued = yield* cache.outbox
          const seqOf = (pick: (e: (typeof queued)[number]) => boolean) => queued.find(pick)!.seq
          const seq = {
            C: seqOf((e) => e.op === "create" && JSON.stringify(e.params).includes(titles.c)),
            U: seqOf((e) => e.op === "update" && e.targetId === c.value.id),
            I: seqOf((e) => e.op === "create" && JSON.stringify(e.params).includes(titles.i)),
            X: seqOf((e) => e.op === "update" && e.targetId === existing)
          }
          const keyOf = new Map(queued.map((e) => [e.seq, e.idempotencyKey]))

          // ---- the create is refused for good; its update cannot be sent ------------------------
          yield* sb.inject({ fault: { _tag: "Respond", status: 422 }, match: "POST /v1/meetings", times: 1 })
          yield* cache.replay
          yield* cache.replay
          const sentAfterFirst = yield* sb.requests
          const ran = (s: number) =>
            sentAfterFirst.filter((r) => r.idempotencyKey === keyOf.get(s) && !r.replayed && r.status >= 200 && r.status < 300).length
          if (ran(seq.I) !== 1) fail(`the independent create ran ${ran(seq.I)} times while C was dead`)
          if (ran(seq.X) !== 1) fail(`the independent update ran ${ran(seq.X)} times while C was dead`)
          tally.outcome(ran(seq.I) === 1 && ran(seq.X) === 1 ? "independent writes replayed" : "independent writes held back")

          // ---- the user's order (a step may be refused with a typed error, e.g. retrying an
          // update whose create is gone; only accepted steps set expectations) -----------------
          const accepted = new Map<Action, number>()
          /** How many requests the sandbox had logged when the step was accepted. */
          const sentBefore = new Map<Action, number>()
          for (const [at, action] of order.entries()) {
            const target = action.endsWith("C") ? seq.C : seq.U
            const step = action.startsWith("retry") ? cache.retryDeadLetter(target) : cache.discardDeadLetter(target)
            const result = Scenario.ended(tally, yield* Effect.exit(step))
            if (result._tag === "Success") {
              accepted.set(action, at)
              sentBefore.set(action, (yield* sb.requests).length)
            }
            else if (result._tag === "Defect") fail(`${action}: ${result.label}`)
            else tally.outcome(`${action}: typed refusal`)
            yield* cache.replay
          }
          const last = yield* cache.replay
          const pending = yield* cache.outbox
          const dead = yield* cache.deadLetters

          // ---- no deadlock: nothing waits for ever, a new write goes straight through ------------
          if (pending.length > 0) {
            fail(`${pending.length} entries stay pending for good (${last.stoppedBy._tag === "Some" ? last.stoppedBy.value.tag : "-"})`)
            tally.outcome("deadlock")
          }
          const later = yield* cache.create(createParams(titles.later))
          if (later.pending) fail("a new online create was queued behind the stuck entries")

          // ---- the server's side -----------------------------------------------------------------
          const log = yield* sb.requests
          const runs = (s: number) =>
            log.filter((r) => r.idempotencyKey === keyOf.get(s) && !r.replayed && r.status >= 200 && r.status < 300)
          for (const [name, s] of Object.entries(seq)) {
            if (runs(s).length > 1) {
              tally.duplicated += runs(s).length - 1
              fail(`${name} executed ${runs(s).length} times`)
            }
          }
          const onWire = log.filter((r) => r.path.includes("local_"))
          if (onWire.length > 0) fail(`a provisional id was sent: ${onWire.map((r) => `${r.method} ${r.path}`).join(", ")}`)
          const cRan = runs(seq.C).length === 1
          const uRan = runs(seq.U).length === 1
          const at = (a: Action) => accepted.get(a) ?? Infinity
          const uDead = dead.some((e) => e.seq === seq.U)
          /** Where in the log an entry was executed (-1: never). */
          const ranAt = (s: number) => log.findIndex((r) => r.idempotencyKey === keyOf.get(s) && !r.replayed && r.status >= 200 && r.status < 300)
          const after = (a: Action, s: number) => sentBefore.has(a) && ranAt(s) >= sentBefore.get(a)!
          if (uRan && (!cRan || ranAt(seq.U) < ranAt(seq.C))) fail("the update ran before (or without) its create")
          if (after("discard C", seq.C)) fail("a discarded create was sent")
          if (after("discard U", seq.U)) fail("a discarded update was sent")
          if (after("discard C", seq.U)) fail("an update of a discarded create was sent")
          // What the user retried while it was alive runs (an update once its create has run), or
          // is still held as a dead letter for them: never silently dropped.
          if (at("retry C") < at("discard C") && !cRan) fail("the retried create never ran")
          if (at("retry U") < Math.min(at("discard U"), at("discard C")) && cRan && !uRan && !uDead) {
            fail("the retried update never ran and is not held")
          }
          tally.outcome(cRan ? (uRan ? "C and U executed" : "C executed, U held or dropped") : uRan ? "U without C" : "neither sent")
        })))
        tally.trials++
        const end = Scenario.ended(tally, exit)
        if (end._tag !== "Success") fail(`ended with ${end.label}`)
      }

      tally.lost += scenario.failures().filter((f) => f.includes("never ran")).length
      yield* scenario.finish("dead-letter dependencies deadlock the outbox or send what should not be sent (issue 10 #3)")
    }).pipe(Logger.withMinimumLogLevel(LogLevel.Error)), 120_000)
})
