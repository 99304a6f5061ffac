/**
 * Library manners (issue 15): per-operation events are logged at Debug, so an app's Info output is
 * its own; warnings stay warnings.
 */
import { assert, describe, it } from "@effect/vitest"
import { MeetingsError } from "@lightfield-effect/core"
import { Effect, Logger, LogLevel } from "effect"
import { databases } from "./databases.js"
import { createParams, makeFake, many, withCache } from "./fixtures.js"

/** Every log line of `self` as `[level, message]`, at every level. */
const logsOf = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const lines: Array<readonly [string, string]> = []
    const capture = Logger.make(({ logLevel, message }) => {
      lines.push([logLevel.label, String(Array.isArray(message) ? message[0] : message)])
    })
    yield* self.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, capture)), Logger.withMinimumLogLevel(LogLevel.All))
    return lines
  })

describe.each(databases)("log levels ($name)", (db) => {
  it.scopedLive("[regression] sync, offline writes, replay and rebuild log at Debug; a dead letter is still a warning", () =>
    Effect.gen(function*() {
      const file = yield* db.fresh
      const fake = makeFake(many(30))
      const lines = yield* logsOf(withCache(file, fake, (cache) =>
        Effect.gen(function*() {
          yield* cache.sync()
          yield* cache.sync()
          fake.state.down = true
          yield* cache.create(createParams("Offline"))
          yield* cache.update("m_00001", { fields: { $privacySetting: "METADATA" } })
          fake.state.down = false
          yield* cache.replay
          yield* cache.rebuild
          yield* cache.create(createParams("Refused"), { offline: true })
          fake.state.writeFailure = new MeetingsError.Unprocessable({ message: "no" })
          yield* cache.replay
        })))
      const info = lines.filter(([level]) => level === "INFO")
      assert.deepStrictEqual(info, [], "nothing at Info")
      assert.isTrue(lines.some(([level, message]) => level === "DEBUG" && message === "sync complete"))
      assert.isTrue(lines.some(([level, message]) => level === "WARN" && message === "outbox entry is a dead letter"))
    }))
})
