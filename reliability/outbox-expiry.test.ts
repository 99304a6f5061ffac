/**
 * Outbox after a lost answer and idempotency-key expiry (issue 10 #1). A create reaches the server
 * but its answer is lost (`DropAfterCommit`): online (the write-through falls back to the outbox),
 * during a replay, or with the replaying child SIGKILLed right after the server executed it. The key
 * lives 24 hours (spec §10): 25 hours later (on the sandbox's clock and the cache's) the server
 * treats it as new, so an entry that may already have run must not be sent blind.
 *
 * Per trial the sandbox's store settles it: the create exists at most once, and if it does not exist
 * the entry is still held (pending or a dead letter the user can retry), never silently dropped.
 */
import { assert, describe, it } from "@effect/vitest"
import type { MeetingParams } from "@lightfield-effect/core"
import { MeetingsClient } from "@lightfield-effect/core"
import { Duration, Effect, Logger, LogLevel, Schedule } from "effect"
import { join } from "node:path"
import type { ReplayArgs } from "./child/replay.js"
import * as Child from "./lib/Child.js"
import { offsetClock } from "./lib/Clock.js"
import * as Env from "./lib/Env.js"
import type { Prng } from "./lib/Prng.js"
import * as Run from "./lib/Run.js"
import * as Scenario from "./lib/Scenario.js"

const dayAndAnHour = 25 * 3_600_000

const fast = MeetingsClient.retrySchedule({ maxRetries: 1, base: Duration.millis(10), maxDelay: Duration.millis(20) })
const clientOptions: Env.ClientOptions = { maxRetries: 1, retrySchedule: fast }

const createParams = (title: string): MeetingParams.CreateMeetingParams => {
  const start = Date.now() - 3 * 86_400_000
  return {
    fields: {
      $title: title,
      $startDate: new Date(start).toISOString(),
      $endDate: new Date(start + 3_600_000).toISOString(),
      $description: `queued ${title}`
    }
  }
}

type Variant = "online create, answer lost" | "replay, answer lost" | "SIGKILL during replay"

const variants = (rng: Prng): ReadonlyArray<Variant> => {
  const large = Run.scale() === "large"
  const kills = large ? 16 : 4
  const plain = large ? 4 : 1
  const list: Array<Variant> = []
  for (let i = 0; i < plain; i++) list.push("online create, answer lost", "replay, answer lost")
  for (let i = 0; i < kills; i++) list.push("SIGKILL during replay")
  // Interleave, so the sandbox's moving clock meets every variant at every age.
  return rng.sample(list, list.length)
}

describe("outbox after a lost answer and key expiry", () => {
  it.scopedLive("a create whose answer was lost reaches the server at most once after its key expired, SIGKILLs included", () =>
    Effect.gen(function*() {
      const rng = Run.prng("outbox-expiry")
      const { fail, finish, tally } = yield* Scenario.start("outbox-expiry", "lost answer + key expiry (+SIGKILL)")
      const dir = yield* Env.tempDir("outbox-expiry")
      const sb = yield* Env.sandbox({ meetings: 5, seed: rng.int(1, 1_000_000) })
      const baseUrl = yield* sb.baseUrl
      const apiKey = sb.keys.member
      const plan = variants(rng)
      const kills = plan.filter((v) => v === "SIGKILL during replay").length
      const replayers = yield* Child.pool("replay", 1)
      let killed = 0
      // The cache's clock: moved forward with the sandbox's (which only moves forward).
      let offset = 0
      const executions = (title: string) =>
        Effect.map(sb.meetings, (all) => all.filter((m) => m.fields["$title"]?.value === title).length)

      for (const [n, variant] of plan.entries()) {
        const label = `trial ${n + 1} (${variant}, seed ${Run.seed()})`
        const db = join(dir, `expiry-${n}.db`)
        const title = `expiry ${Run.seed()} #${n}`
        yield* sb.clearFaults
        const inProcess = <A, E>(f: (cache: Effect.Effect.Success<ReturnType<typeof Env.cache>>) => Effect.Effect<A, E>) =>
          Effect.scoped(Effect.flatMap(Env.cache({ baseUrl, apiKey, db, client: clientOptions }), f)).pipe(
            Effect.withClock(offsetClock(offset))
          )

        // ---- the create reaches the server, its answer does not come back ------------------------
        yield* sb.inject({ fault: { _tag: "DropAfterCommit" }, match: "POST /v1/meetings" })
        if (variant === "online create, answer lost") {
          const created = yield* inProcess((cache) => cache.create(createParams(title)))
          assert.isTrue(created.pending, `${label}: the unanswered create is queued`)
        } else {
          yield* inProcess((cache) => cache.create(createParams(title), { offline: true }))
          if (variant === "replay, answer lost") {
            yield* inProcess((cache) => cache.replay)
          } else {
            killed++
            const child = yield* replayers.take({ last: killed >= kills })
            const args: ReplayArgs = { baseUrl, apiKey, db, clockOffsetMillis: offset }
            yield* child.send(args)
            if (rng.chance(0.2)) {
              // Early: around the moment the entry is picked up, before or while it is sent.
              yield* child.waitFor("READY")
              yield* Effect.sleep(Duration.millis(rng.int(0, 30)))
            } else {
              // Right after the server executed it (before the client's retry), or a little later.
              const executedAt = Effect.flatMap(sb.requests, (log) =>
                log.some((r) => r.method === "POST" && r.fault === "DropAfterCommit")
                  ? Effect.void
                  : Effect.fail("not yet" as const))
              yield* executedAt.pipe(Effect.retry(Schedule.spaced("2 millis")), Effect.timeout("10 seconds"), Effect.ignore)
              yield* Effect.sleep(Duration.millis(rng.pick([0, 0, rng.int(1, 40), rng.int(40, 400)])))
            }
            yield* child.kill
            const exit = yield* child.exit
            if (Child.reportedDefect(child.lines()) || (exit.signal !== "SIGKILL" && exit.code !== 0)) {
              tally.defects++
              fail(`${label}: replay child did not die cleanly: ${child.lines().join(" | ")} ${child.stderr()}`)
            }
            const check = yield* Env.integrity(db)
            if (check !== "ok") {
              tally.defects++
              fail(`${label}: integrity_check after the kill: ${check}`)
            }
          }
        }
        yield* sb.clearFaults
        yield* sb.clearRequests

        // ---- 25 hours later: the key has expired on the server ------------------------------------
        yield* sb.advanceClock(Duration.millis(dayAndAnHour))
        offset += dayAndAnHour
        const after = yield* inProcess((cache) =>
          Effect.gen(function*() {
            yield* cache.replay
            yield* cache.replay
            return { pending: (yield* cache.outbox).length, dead: (yield* cache.deadLetters).length }
          })
        )
        const executed = yield* executions(title)
        tally.trials++
        if (executed > 1) {
          tally.duplicated += executed - 1
          tally.outcome("executed twice")
          fail(`${label}: the create was executed ${executed} times`)
        } else if (executed === 1) {
          tally.outcome(after.dead > 0 ? "executed once, then held as a dead letter" : "executed once")
        } else if (after.pending + after.dead > 0) {
          tally.outcome("never executed, held for the user")
        } else {
          tally.lost++
          tally.outcome("lost")
          fail(`${label}: the create never reached the server and its entry is gone`)
        }
      }

      yield* finish("a create whose answer was lost runs again after its idempotency key expired (issue 10 #1)")
    }).pipe(Logger.withMinimumLogLevel(LogLevel.Error)), 120_000)
})
