/**
 * One worker of the fleet: a separate Node process with the cache on the shared PostgreSQL mirror,
 * the HTTP client taking its slots from the shared Redis budget. Long-lived (`serve` protocol of
 * `reliability/child/common.ts`): the first job `open` builds the layers once; every later job
 * (`sync`, `count`, `ids`, `refresh`, `queue`, `replay`) runs on them and answers `DONE <json>`. The parent
 * sends a job to all four workers at once, so "at once" is a write to four pipes, not four starts.
 */
import { FetchHttpClient } from "@effect/platform"
import { Database, MeetingsCache } from "@lightfield-effect/cache"
import { MeetingsClient } from "@lightfield-effect/core"
import * as RedisRateBudget from "@lightfield-effect/core/RedisRateBudget"
import { Chunk, Duration, Effect, Layer, Logger, LogLevel, ManagedRuntime, Redacted, Stream } from "effect"
import { say, serve } from "../../reliability/child/common.js"

/** How a worker reaches the server, the mirror and the budget. */
export interface OpenArgs {
  readonly op: "open"
  readonly baseUrl: string
  readonly apiKey: string
  /** `postgres://…` of the shared mirror. */
  readonly dbUrl: string
  /** `redis://…` of the shared budget; absent: the in-process limiter alone. */
  readonly redisUrl?: string
  readonly redisPrefix?: string
  readonly organization?: string
}

/** A job after `open`. */
export type Job =
  | OpenArgs
  | { readonly op: "sync"; readonly pageSize?: number; readonly concurrency?: number; readonly progress?: boolean }
  | { readonly op: "count" }
  | { readonly op: "ids" }
  | { readonly op: "refresh"; readonly ids: ReadonlyArray<string> }
  | { readonly op: "queue"; readonly count: number; readonly tag: string }
  | { readonly op: "replay" }

const layerOf = (a: OpenArgs) => {
  const apiKey = Redacted.make(a.apiKey)
  const client = MeetingsClient.layer({ apiKey, baseUrl: a.baseUrl, timeout: Duration.seconds(10) }).pipe(
    Layer.provide(FetchHttpClient.layer)
  )
  const budgeted = a.redisUrl === undefined ? client : client.pipe(
    Layer.provide(RedisRateBudget.layer({
      url: Redacted.make(a.redisUrl),
      organization: a.organization ?? "org_acme",
      ...(a.redisPrefix === undefined ? {} : { prefix: a.redisPrefix })
    }))
  )
  return MeetingsCache.layer({ apiKey }).pipe(
    Layer.provide(budgeted),
    Layer.provide(Database.layer({ url: a.dbUrl, maxConnections: 4 }))
  )
}

let runtime: ManagedRuntime.ManagedRuntime<MeetingsCache.MeetingsCache, Layer.Layer.Error<ReturnType<typeof layerOf>>> | undefined

const cache = Effect.suspend(() =>
  runtime === undefined ? Effect.dieMessage("the first job must be open") : Effect.provide(MeetingsCache.MeetingsCache, runtime)
)

/** A create body that passes the API's checks (a meeting that ended an hour ago). */
const pastMeeting = (title: string) => {
  const now = Date.now()
  return {
    fields: {
      $title: title,
      $startDate: new Date(now - 2 * 3_600_000).toISOString(),
      $endDate: new Date(now - 3_600_000).toISOString(),
      $attendeeEmails: ["ada@acme.test"]
    }
  }
}

const run = (job: Job): Effect.Effect<unknown, { readonly _tag: string; readonly message: string }> => {
  switch (job.op) {
    case "open":
      return Effect.gen(function*() {
        runtime = ManagedRuntime.make(layerOf(job).pipe(Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))))
        yield* runtime.runtimeEffect
        return { pid: process.pid }
      })
    case "sync":
      return Effect.flatMap(cache, (c) =>
        Effect.map(
          c.sync({
            ...(job.pageSize === undefined ? {} : { pageSize: job.pageSize }),
            ...(job.concurrency === undefined ? {} : { concurrency: job.concurrency }),
            ...(job.progress === true
              ? { onProgress: (p) => Effect.sync(() => say("PROGRESS", { phase: p.phase, pages: p.pages })) }
              : {})
          }),
          (r) => ({ pages: r.pages, meetings: r.meetings, joined: r.joined === true, complete: r.complete })
        ))
    case "count":
      return Effect.flatMap(cache, (c) => Effect.map(c.count(), (served) => ({ served })))
    case "ids":
      return Effect.flatMap(cache, (c) =>
        Effect.map(Stream.runCollect(Stream.map(c.streamLocal, (m) => m.id)), (ids) => ({ ids: Chunk.toArray(ids) })))
    case "refresh":
      return Effect.flatMap(cache, (c) => Effect.map(c.refresh(job.ids), (r) => ({ refreshed: r.refreshed.length })))
    case "queue":
      return Effect.flatMap(cache, (c) =>
        Effect.map(
          Effect.forEach(
            Array.from({ length: job.count }, (_, i) => `${job.tag}-${i}`),
            (title) => c.create(pastMeeting(title), { offline: true })
          ),
          (queued) => ({ queued: queued.length })
        ))
    case "replay":
      return Effect.flatMap(cache, (c) =>
        Effect.map(c.replay, (r) => ({ replayed: r.replayed, dead: r.dead, remaining: r.remaining })))
  }
}

serve(run)
