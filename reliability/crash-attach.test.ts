/**
 * Crash during transcript uploads: children attaching a file to a meeting (`Transcripts.attach`,
 * steps in the cache's file) are SIGKILLed at seeded random points (storage slowed by a latency
 * fault), then a last child finishes each run. The sandbox's state shows each meeting with exactly
 * one transcript attached, that file COMPLETED, and no second COMPLETED file for the same run.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Option } from "effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import type { AttachArgs } from "./child/attach.js"
import * as Child from "./lib/Child.js"
import * as Env from "./lib/Env.js"
import * as Run from "./lib/Run.js"

const meetings = 3
const killsPerMeeting = 2

describe("crash during transcript uploads", () => {
  it.scopedLive("attach children SIGKILLed at random points; each meeting ends with one COMPLETED transcript", () =>
    Effect.gen(function*() {
      const rng = Run.prng("crash-attach")
      const dir = yield* Env.tempDir("attach")
      const sb = yield* Env.sandbox({ meetings: meetings + 2, seed: rng.int(1, 1_000_000), legacyFileIds: false })
      const baseUrl = yield* sb.baseUrl
      const key = sb.keys.admin
      const db = join(dir, "attach.db")
      const children = yield* Child.pool("attach", 1)
      const targets = (yield* sb.meetings).slice(0, meetings).map((m) => m.id as string)
      yield* sb.inject({ fault: { _tag: "Latency", millis: rng.int(150, 400) }, match: "PUT /__storage/*" })
      yield* sb.inject({ fault: { _tag: "Latency", millis: rng.int(50, 150) }, match: "POST /v1/**" })
      for (const [i, meetingId] of targets.entries()) {
        const file = join(dir, `t-${i}.txt`)
        writeFileSync(file, `Speaker ${i}: words.\n`.repeat(50_000 + rng.int(0, 50_000)))
        const args: AttachArgs = { baseUrl, apiKey: key, db, meetingId, file }
        for (let kill = 1; kill <= killsPerMeeting; kill++) {
          const child = yield* children.take()
          yield* child.send(args)
          yield* child.waitFor("READY")
          yield* Effect.sleep(Duration.millis(rng.int(0, 900)))
          yield* child.kill
          const exit = yield* child.exit
          assert.isTrue(exit.signal === "SIGKILL" || exit.code === 0, `${child.lines().join("\n")}${child.stderr()}`)
          assert.strictEqual(yield* Env.integrity(db), "ok")
        }
        const last = yield* children.take({ last: i === targets.length - 1 })
        yield* last.send(args)
        const done = yield* last.waitForNth(["DONE", "FAILED", "DEFECT"], 1)
        assert.isTrue(Option.isSome(done) && done.value.startsWith("DONE"), `${last.lines().join("\n")}${last.stderr()}`)
        yield* last.exit
      }
      const files = yield* sb.files
      const onServer = yield* sb.meetings
      for (const [i, meetingId] of targets.entries()) {
        const attached = Option.getOrThrow(onServer.find((m) => m.id === meetingId)!.transcriptFileId)
        const mine = files.filter((f) => f.filename === `t-${i}.txt`)
        const completed = mine.filter((f) => f.status === "COMPLETED").map((f) => f.id)
        assert.deepStrictEqual(completed, [attached], `meeting ${meetingId}: one COMPLETED file, the attached one`)
        assert.isTrue(mine.every((f) => f.status !== "PENDING"), `meeting ${meetingId}: no pending file left behind`)
      }
    }), { timeout: 240_000 })
})
