/**
 * Library manners (issue 15): core logs each operation at Debug and nothing at Info, so an
 * application's level decides what it sees; warnings (hostile headers, an incomplete scan) stay
 * warnings (tested with those cases).
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { captureLogs, clientFor, pastMeeting, quickRetries, reset, sandboxLayer } from "./helpers.js"

describe("logging", () => {
  layer(sandboxLayer({ rateLimit: false }), { excludeTestServices: true })("against the sandbox", (it) => {
    it.effect("every operation logs one Debug line with its name and outcome; nothing is logged at Info", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const logs = yield* captureLogs
        const meetings = yield* clientFor("admin", quickRetries())
        yield* sandbox.inject({ fault: { _tag: "Status", status: 503 }, match: "GET /v1/meetings/*", times: 1 })
        yield* Effect.gen(function*() {
          const created = yield* meetings.create(yield* pastMeeting("Logged"))
          yield* meetings.retrieve(created.id)
          yield* meetings.update(created.id, { fields: { $privacySetting: "FULL" } })
          yield* meetings.list({ limit: 2 })
          yield* Effect.flip(meetings.retrieve("mtg_does_not_exist"))
          yield* Stream.runDrain(meetings.stream({ pageSize: 25 }))
        }).pipe(Effect.provide(logs.layer))
        assert.deepStrictEqual(logs.lines.filter((l) => l.level !== "DEBUG"), [])
        const outcomes = logs.lines
          .filter((l) => l.message.startsWith("Lightfield call "))
          .map((l) => `${String(l.annotations.call)} ${l.message.slice("Lightfield call ".length)}`)
        // The stream's own list calls log too; the named calls come first, in order.
        assert.deepStrictEqual(outcomes.slice(0, 6), [
          "Meetings.create succeeded",
          "Meetings.retrieve retrying",
          "Meetings.retrieve succeeded",
          "Meetings.update succeeded",
          "Meetings.list succeeded",
          "Meetings.retrieve failed"
        ])
        assert.isTrue(logs.lines.some((l) => l.message === "Lightfield stream done" && l.annotations.complete === true))
      }))

    it.effect("every line core logs inside a call carries service and call: Debug lines and a hostile header's warning", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const logs = yield* captureLogs
        const [one] = yield* sandbox.meetings
        // The default policy: no code but core's runs inside the call.
        const meetings = yield* clientFor("admin", { maxRetries: 1 })
        yield* sandbox.inject({
          fault: { _tag: "Respond", status: 503, headers: { "x-ratelimit-limit": "0.001" } },
          match: "GET /v1/meetings/*",
          times: 1
        })
        yield* meetings.retrieve(one!.id).pipe(Effect.provide(logs.layer))
        const inCall = logs.lines.filter((l) => l.message.startsWith("Lightfield call ") || l.level === "WARN")
        assert.deepStrictEqual(
          inCall.map((l) => [l.level, l.annotations.service, l.annotations.call]),
          [
            ["WARN", "lightfield", "Meetings.retrieve"],
            ["DEBUG", "lightfield", "Meetings.retrieve"],
            ["DEBUG", "lightfield", "Meetings.retrieve"]
          ],
          JSON.stringify(logs.lines)
        )
        assert.isTrue(logs.lines.some((l) => l.message === "Lightfield attempt failed" && l.annotations.call === "Meetings.retrieve"))
      }))
  })
})
