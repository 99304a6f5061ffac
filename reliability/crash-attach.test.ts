/**
 * Crash during transcript uploads: children attaching a file to a meeting (`Transcripts.attach`,
 * steps in the cache's file) are SIGKILLed at seeded random points (storage slowed by a latency
 * fault), then a last child finishes each run. The sandbox's state shows each meeting with exactly
 * one transcript attached, that file COMPLETED, no second COMPLETED file for the same run, and the
 * meeting update executed once. The summary row says where each kill landed: the step in flight,
 * read from the run's journal row in the cache's file after the kill.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Option } from "effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import type { AttachArgs } from "./child/attach.js"
import * as Child from "./lib/Child.js"
import * as Env from "./lib/Env.js"
import * as Run from "./lib/Run.js"
import { Tally } from "./lib/Summary.js"

const meetings = 3
const killsPerMeeting = 2

/** The step a run was in when its child died: the stage its journal row records is the one in flight. */
const landing = (db: string, meetingId: string) =>
  Env.withSqlite(db, (sqlite) => {
    if (!Env.tableExists(sqlite, "transcript_journal")) return "killed before the run began"
    const row = sqlite.prepare("SELECT step FROM transcript_journal WHERE run_key = ?").get(`attach:${meetingId}`) as
      | { step: string }
      | undefined
    if (row === undefined) return "killed before the run began"
    const stage = (JSON.parse(row.step) as { stage: { _tag: string } }).stage._tag
    switch (stage) {
      case "Creating":
        return "killed during create"
      case "Created":
        return "killed during upload"
      case "Uploaded":
        return "killed during complete"
      case "Completed":
        return "killed during update"
      default:
        return "done before the kill"
    }
  }).pipe(Effect.orElseSucceed(() => "killed before the file existed"))

describe("crash during transcript uploads", () => {
  it.scopedLive("attach children SIGKILLed at random points; each meeting ends with one COMPLETED transcript", () =>
    Effect.gen(function*() {
      const rng = Run.prng("crash-attach")
      const tally = new Tally("crash-attach", "SIGKILL during transcript attach")
      yield* Effect.addFinalizer(() => Effect.sync(() => Run.record(tally)))
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
          const clean = exit.signal === "SIGKILL" || exit.code === 0
          if (!clean || Child.reportedDefect(child.lines())) tally.defects++
          assert.isTrue(clean, `${child.lines().join("\n")}${child.stderr()}`)
          tally.trials++
          tally.outcome(yield* landing(db, meetingId))
          const check = yield* Env.integrity(db)
          if (check !== "ok") tally.defects++
          assert.strictEqual(check, "ok")
        }
        const last = yield* children.take({ last: i === targets.length - 1 })
        yield* last.send(args)
        const done = yield* last.waitForNth(["DONE", "FAILED", "DEFECT"], 1)
        const finished = Option.isSome(done) && done.value.startsWith("DONE")
        if (!finished) tally.lost++
        assert.isTrue(finished, `${last.lines().join("\n")}${last.stderr()}`)
        tally.outcome("finished by a last child")
        yield* last.exit
      }
      const files = yield* sb.files
      const onServer = yield* sb.meetings
      const updates = (yield* sb.requests).filter((r) =>
        r.method === "POST" && /^\/v1\/meetings\/[^/]+$/.test(r.path) && !r.replayed && r.status >= 200 && r.status < 300
      )
      for (const [i, meetingId] of targets.entries()) {
        // A killed child's update may have run before its answer arrived: the replay under the same
        // key answers the next child, so the meeting is written once.
        const executed = updates.filter((r) => r.path === `/v1/meetings/${meetingId}`).length
        if (executed > 1) tally.duplicated += executed - 1
        assert.isAtMost(executed, 1, `meeting ${meetingId}: the update executed ${executed} times`)
        const attached = Option.getOrThrow(onServer.find((m) => m.id === meetingId)!.transcriptFileId)
        const mine = files.filter((f) => f.filename === `t-${i}.txt`)
        const completed = mine.filter((f) => f.status === "COMPLETED").map((f) => f.id)
        if (completed.length > 1) tally.duplicated += completed.length - 1
        assert.deepStrictEqual(completed, [attached], `meeting ${meetingId}: one COMPLETED file, the attached one`)
        assert.isTrue(mine.every((f) => f.status !== "PENDING"), `meeting ${meetingId}: no pending file left behind`)
        const cancelled = mine.filter((f) => f.status === "CANCELLED").length
        if (cancelled > 0) tally.outcome("abandoned files cancelled", cancelled)
      }
    }), { timeout: 240_000 })
})
