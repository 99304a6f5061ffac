/**
 * Crash during a queued delete's replay: a child queues offline deletes (`{ offline: true }`),
 * then replay children are SIGKILLed at seeded random points while they send them (deletes slowed
 * by a latency fault; one answer lost after commit now and then). After a restart the queue drains
 * and the sandbox proves each queued delete was executed exactly once: one non-replayed execution
 * per idempotency key, each meeting in the trash once, none brought back by a later sync. The
 * summary row says where each kill landed (how many of the trial's deletes had left the queue).
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Option } from "effect"
import { join } from "node:path"
import type { EnqueueArgs } from "./child/enqueue.js"
import * as Child from "./lib/Child.js"
import * as Env from "./lib/Env.js"
import * as Run from "./lib/Run.js"
import { Tally } from "./lib/Summary.js"

const trials = 3
const deletesPerTrial = 4
const killsPerTrial = 2

describe("crash during a queued delete's replay", () => {
  it.scopedLive("replay children SIGKILLed at random points; every queued delete is executed once", () =>
    Effect.gen(function*() {
      const rng = Run.prng("crash-delete")
      const tally = new Tally("crash-delete", "SIGKILL during queued deletes' replay")
      yield* Effect.addFinalizer(() => Effect.sync(() => Run.record(tally)))
      const dir = yield* Env.tempDir("delete")
      const sb = yield* Env.sandbox({ meetings: trials * deletesPerTrial + 5, seed: rng.int(1, 1_000_000) })
      const baseUrl = yield* sb.baseUrl
      const key = sb.keys.admin
      const enqueuer = yield* Child.spawn("enqueue")
      const replayers = yield* Child.pool("replay", 1)
      let kills = 0
      const available = (yield* sb.meetings).map((m) => m.id as string)
      for (let trial = 1; trial <= trials; trial++) {
        const label = `trial ${trial}/${trials} (seed ${Run.seed()})`
        const db = join(dir, `delete-${trial}.db`)
        yield* sb.clearFaults
        yield* sb.clearRequests
        const targets = available.splice(0, deletesPerTrial)
        const enqueueArgs: EnqueueArgs = {
          baseUrl,
          apiKey: key,
          db,
          prime: targets,
          writes: targets.map((target) => ({ op: "delete" as const, target }))
        }
        yield* enqueuer.send(enqueueArgs)
        const answer = yield* enqueuer.waitForNth(["DONE", "FAILED", "DEFECT"], trial)
        assert.isTrue(Option.isSome(answer) && answer.value.startsWith("DONE"), `${label}: ${enqueuer.lines().join("\n")}`)
        const queued = (yield* Env.outboxRows(db)).filter((r) => r.status === "pending")
        assert.deepStrictEqual(queued.map((r) => [r.op, r.target_id]), targets.map((t) => ["delete", t]), label)
        assert.strictEqual((yield* sb.requests).filter((r) => r.method === "DELETE").length, 0, `${label}: nothing sent offline`)

        const latency = rng.int(80, 200)
        if (rng.chance(0.5)) yield* sb.inject({ fault: { _tag: "DropAfterCommit" }, match: "DELETE /v1/meetings/*", times: 1 })
        yield* sb.inject({ fault: { _tag: "Latency", millis: latency }, match: "DELETE /v1/meetings/*" })
        for (let kill = 1; kill <= killsPerTrial; kill++) {
          kills++
          const child = yield* replayers.take({ last: trial === trials && kill === killsPerTrial })
          yield* child.send({ baseUrl, apiKey: key, db })
          yield* child.waitFor("READY")
          yield* Effect.sleep(Duration.millis(rng.int(0, deletesPerTrial * (latency + 40))))
          yield* child.kill
          const exit = yield* child.exit
          const clean = exit.signal === "SIGKILL" || exit.code === 0
          if (!clean || Child.reportedDefect(child.lines())) tally.defects++
          assert.isTrue(clean, `${label}: ${child.lines().join("\n")}${child.stderr()}`)
          const check = yield* Env.integrity(db)
          if (check !== "ok") tally.defects++
          assert.strictEqual(check, "ok", `${label}: integrity after kill ${kill}`)
          const left = (yield* Env.outboxRows(db)).filter((r) => r.status === "pending").length
          tally.trials++
          tally.outcome(`killed with ${deletesPerTrial - left} of ${deletesPerTrial} acknowledged`)
        }

        yield* sb.clearFaults
        yield* Effect.scoped(Effect.gen(function*() {
          const cache = yield* Env.cache({ baseUrl, apiKey: key, db })
          let result = yield* cache.replay
          for (let i = 0; i < 5 && result.remaining > 0; i++) {
            yield* Effect.sleep(Duration.millis(300))
            result = yield* cache.replay
          }
          assert.deepStrictEqual((yield* cache.deadLetters).map((d) => d.lastError?._tag), [], `${label}: dead letters`)
          assert.strictEqual((yield* cache.outbox).length, 0, `${label}: queue drained`)
          yield* cache.sync()
          for (const id of targets) {
            const read = yield* Effect.flip(cache.retrieve(id, { policy: "NetworkFirst" }))
            assert.strictEqual(read._tag, "MeetingNotFound", `${label}: ${id} stays deleted after a sync`)
          }
        }))
        const keys = new Set(queued.map((r) => r.idempotency_key))
        const deletes = (yield* sb.requests).filter((r) => r.method === "DELETE")
        for (const r of deletes) assert.isTrue(keys.has(r.idempotencyKey ?? ""), `${label}: a DELETE under an unknown key`)
        const executions = deletes.filter((r) =>
          !r.replayed && ((r.status >= 200 && r.status < 300) || (r.status === 0 && r.fault === "DropAfterCommit"))
        )
        for (const k of keys) {
          const n = executions.filter((r) => r.idempotencyKey === k).length
          // A killed client's request may be logged 499 after its handler ran; the trash settles it.
          if (n > 1) tally.duplicated += n - 1
          assert.isAtMost(n, 1, `${label}: key ${k} executed ${n} times`)
        }
        const trashed = (yield* sb.deletedMeetings).map((d) => d.id)
        for (const id of targets) {
          const n = trashed.filter((t) => t === id).length
          if (n === 0) tally.lost++
          assert.strictEqual(n, 1, `${label}: ${id} deleted once`)
        }
      }
      assert.strictEqual(kills, trials * killsPerTrial)
    }), { timeout: 240_000 })
})
