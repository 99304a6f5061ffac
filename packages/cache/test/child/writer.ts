/**
 * A second process on the cache's file, for the live-query tests. Under the principal argv[3] on
 * the file argv[2]: `create <title>` queues one create offline; `sync <baseUrl> <apiKey>` runs a
 * full sync against that server. Prints `written <epoch ms>` once its commit returned.
 */
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { MeetingsClient } from "@lightfield-effect/core"
import { Effect, Layer } from "effect"
import { Database, MeetingsCache } from "../../src/index.js"
import { pastMeeting } from "../sandbox.js"

const [file, principal, mode, ...rest] = process.argv.slice(2) as [string, string, "create" | "sync", ...Array<string>]
const [baseUrl, apiKey] = mode === "sync" ? rest as [string, string] : ["http://127.0.0.1:9", "k_unused_by_offline_writes"]

const layer = MeetingsCache.layer({ principal }).pipe(
  Layer.provideMerge(
    MeetingsClient.layerWithApiKey(apiKey, { baseUrl, maxRetries: 0, rate: false }).pipe(Layer.provide(NodeHttpClient.layerUndici))
  ),
  Layer.provideMerge(Database.layer({ filename: file }))
)

NodeRuntime.runMain(
  Effect.gen(function*() {
    const cache = yield* MeetingsCache.MeetingsCache
    if (mode === "sync") yield* cache.sync()
    else yield* cache.create(pastMeeting(rest[0] ?? "From another process"), { offline: true })
    yield* Effect.sync(() => process.stdout.write(`written ${Date.now()}\n`))
  }).pipe(Effect.provide(layer), Effect.orDie)
)
