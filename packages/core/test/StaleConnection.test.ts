/**
 * A keep-alive connection the server closed while it sat in the pool (a restart, an idle timeout)
 * fails the next request on it before any answer. A `failFast` read makes that attempt again at
 * once on a fresh connection instead of waiting for the retry policy's backoff: the backoff came
 * before the refused connection that ends the call, so `NetworkFirst` answered from the cache only
 * after it (~0.4 s). (Writes keep the policy: a lost answer is retried or queued on its terms.)
 */
import { FetchHttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Sandbox } from "@lightfield-effect/sandbox"
import { Effect, Layer, Schedule } from "effect"
import { Meetings, MeetingsClient } from "../src/index.js"

const platforms = [
  ["fetch", FetchHttpClient.layer],
  ["undici", NodeHttpClient.layerUndici],
  ["node:http", NodeHttpClient.layer]
] as const

describe("a pooled connection the server closed", () => {
  for (const [name, platform] of platforms) {
    it.scopedLive(`[regression] (${name}) is replaced at once: the call is answered without the policy's backoff`, () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.make({ meetings: 3, rateLimit: false })
        const baseUrl = yield* sandbox.baseUrl
        // A policy whose first delay is a minute: only an immediate second attempt answers in time.
        const client = MeetingsClient.layerWithApiKey(sandbox.keys.admin, {
          baseUrl,
          retrySchedule: Schedule.intersect(Schedule.spaced("60 seconds"), Schedule.recurs(3))
        }).pipe(Layer.provide(platform))
        yield* Effect.gen(function*() {
          const meetings = yield* Meetings.Meetings
          const page = yield* meetings.list({ limit: 1 })
          // The server goes away and comes back: the pooled socket is dead, the server is up.
          yield* sandbox.stop
          yield* sandbox.start
          const again = yield* meetings.retrieve(page.data[0]!.id).pipe(Effect.timeout("20 seconds"), Effect.either)
          assert.isTrue(again._tag === "Right", `no answer without the backoff: ${again._tag === "Left" ? again.left._tag : ""}`)
          // With failFast and the server gone for good: the call ends at the refused connection,
          // after one immediate re-attempt (never the minute's backoff).
          yield* meetings.list({ limit: 1 })
          yield* sandbox.stop
          const refused = yield* meetings.retrieve(page.data[0]!.id, { failFast: true }).pipe(
            Effect.timeout("20 seconds"),
            Effect.flip
          )
          assert.strictEqual(refused._tag, "MeetingsUnavailable")
          assert.strictEqual(refused._tag === "MeetingsUnavailable" ? refused.reason : "", "Transport")
        }).pipe(Effect.provide(client))
      }), { timeout: 90_000 })
  }
})
