/** The cache's `TranscriptJournal`: steps survive reopening the file, per principal and run key. */
import { assert, describe, it } from "@effect/vitest"
import { TranscriptJournal } from "@lightfield-effect/core"
import { Effect, Option } from "effect"
import { TranscriptSteps } from "../src/index.js"
import { databaseLayer } from "./fixtures.js"
import { databases } from "./databases.js"

const step = (fileId: string): TranscriptJournal.TranscriptStep => ({
  source: { filename: "t.txt", mimeType: "text/plain", sizeBytes: 3 },
  keys: { file: "k1", complete: "k2", meeting: "k3" },
  stage: { _tag: "Completed", fileId }
})

describe.each(databases)("TranscriptSteps ($name)", (db) => {
  it.scoped("a step put by one connection is read by the next; principals and keys are apart; remove forgets it", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const withJournal = <A, E>(principal: string, f: (j: TranscriptJournal.TranscriptJournalShape) => Effect.Effect<A, E>) =>
        Effect.flatMap(TranscriptSteps.make(principal), f).pipe(Effect.provide(databaseLayer(file)))
      yield* withJournal("alice", (j) => Effect.zipRight(j.put("attach:m1", step("fil_a")), j.put("attach:m1", step("fil_b"))))
      const read = yield* withJournal("alice", (j) => j.get("attach:m1"))
      assert.deepStrictEqual(Option.map(read, (s) => s.stage), Option.some({ _tag: "Completed" as const, fileId: "fil_b" }))
      assert.isTrue(Option.isNone(yield* withJournal("bob", (j) => j.get("attach:m1"))))
      assert.isTrue(Option.isNone(yield* withJournal("alice", (j) => j.get("attach:m2"))))
      yield* withJournal("alice", (j) => j.remove("attach:m1"))
      assert.isTrue(Option.isNone(yield* withJournal("alice", (j) => j.get("attach:m1"))))
    }))
})
