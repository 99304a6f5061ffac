/**
 * A second process on the cache's file, for the live-query test: queues one create offline under
 * the principal given as argv[3] on the file argv[2], then prints `written <epoch ms>` after commit.
 */
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { MeetingsClient } from "@lightfield-effect/core"
import { Effect, Layer } from "effect"
import { Database, MeetingsCache } from "../../src/index.js"
import { pastMeeting } from "../sandbox.js"

const [file, principal, title] = process.argv.slice(2) as [string, string, string]

const layer = MeetingsCache.layer({ principal }).pipe(
  Layer.provideMerge(
    MeetingsClient.layerWithApiKey("k_unused_by_offline_writes", { baseUrl: "http://127.0.0.1:9", maxRetries: 0 }).pipe(
      Layer.provide(NodeHttpClient.layerUndici)
    )
  ),
  Layer.provideMerge(Database.layer({ filename: file }))
)

NodeRuntime.runMain(
  Effect.gen(function*() {
    const cache = yield* MeetingsCache.MeetingsCache
    yield* cache.create(pastMeeting(title), { offline: true })
    yield* Effect.sync(() => process.stdout.write(`written ${Date.now()}\n`))
  }).pipe(Effect.provide(layer), Effect.orDie)
)
