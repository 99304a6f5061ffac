import { NodeFileSystem, NodeHttpClient } from "@effect/platform-node"
import { Sandbox } from "@lightfield-effect/sandbox"
import { Clock, DateTime, Effect, HashMap, Layer, Logger, LogLevel, Redacted, Schedule, Stream } from "effect"
import type { MeetingParams } from "../src/index.js"
import { Files, FilesClient, MeetingsClient, type MeetingsConfig } from "../src/index.js"

/** A sandbox plus the real (undici) HTTP client, for `it.layer(…, { excludeTestServices: true })`. */
export const sandboxLayer = (options?: Sandbox.SandboxOptions) =>
  Layer.mergeAll(Sandbox.layer(options), NodeHttpClient.layerUndici)

/** The real HTTP client against the sandbox, authenticated as one of its seeded keys (or any string). */
export const clientFor = (
  key: keyof Sandbox.SandboxKeys | { readonly raw: string },
  options?: Omit<MeetingsConfig.Options, "apiKey" | "baseUrl">
) =>
  Effect.gen(function*() {
    const sandbox = yield* Sandbox.Sandbox
    const baseUrl = yield* sandbox.baseUrl
    const apiKey = typeof key === "string" ? sandbox.keys[key] : key.raw
    return yield* MeetingsClient.make({ ...options, apiKey: Redacted.make(apiKey), baseUrl })
  })

/** Start each test from a clean request log and no faults. */
export const reset = Effect.gen(function*() {
  const sandbox = yield* Sandbox.Sandbox
  yield* sandbox.clearFaults
  yield* sandbox.clearRequests
  return sandbox
})

/** A valid create body for a meeting that ended an hour ago (by the fiber's clock). */
export const pastMeeting = (title: string) =>
  Effect.map(Clock.currentTimeMillis, (now): MeetingParams.CreateMeetingParams => ({
    fields: {
      $title: title,
      $startDate: DateTime.formatIso(DateTime.unsafeMake(now - 2 * 60 * 60 * 1000)),
      $endDate: DateTime.formatIso(DateTime.unsafeMake(now - 60 * 60 * 1000)),
      $attendeeEmails: ["ada@acme.example"]
    }
  }))

export const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** Milliseconds an effect took on the live clock. */
export const timed = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const result = yield* self
    return [result, (yield* Clock.currentTimeMillis) - start] as const
  })

/** The default retry policy with a 50 ms base, for tests that do not measure the backoff itself. */
export const quickRetries = (maxRetries = 2) => ({
  retrySchedule: MeetingsClient.retrySchedule({ maxRetries, base: "50 millis" })
})

/**
 * Wait (polling the sandbox, at most 5 s) until at least `atLeast` API requests are being handled:
 * a deterministic gate for "the first request has reached the server", instead of a sleep.
 */
export const awaitInFlight = (sandbox: Sandbox.SandboxShape, atLeast = 1) =>
  Effect.flatMap(sandbox.inFlight, (n) => (n >= atLeast ? Effect.succeed(n) : Effect.fail(n))).pipe(
    Effect.retry(Schedule.spaced("2 millis").pipe(Schedule.upTo("5 seconds"))),
    Effect.orDieWith((n) => new Error(`${n} requests in flight after 5 s, expected ${atLeast}`))
  )

/** A logger that keeps every line (level and message), provided with `Effect.provide(logs.layer)`. */
export const captureLogs = Effect.sync(() => {
  const lines: Array<{
    readonly level: string
    readonly message: string
    readonly annotations: Readonly<Record<string, unknown>>
  }> = []
  const logger = Logger.make(({ annotations, logLevel, message }) => {
    lines.push({
      level: logLevel.label,
      message: Array.isArray(message) ? message.join(" ") : String(message),
      annotations: Object.fromEntries(HashMap.toEntries(annotations))
    })
  })
  return {
    lines,
    layer: Layer.merge(Logger.replace(Logger.defaultLogger, logger), Logger.minimumLogLevel(LogLevel.All))
  }
})

/** The real files client against the sandbox (reading paths through `NodeFileSystem`). */
export const filesFor = (
  key: keyof Sandbox.SandboxKeys,
  options?: Omit<FilesClient.Options, "apiKey" | "baseUrl">
) =>
  Effect.gen(function*() {
    const sandbox = yield* Sandbox.Sandbox
    const baseUrl = yield* sandbox.baseUrl
    return yield* FilesClient.make({ ...options, apiKey: Redacted.make(sandbox.keys[key]), baseUrl }).pipe(
      Effect.provide(NodeFileSystem.layer)
    )
  })

const encoder = new TextEncoder()

/** A re-runnable stream source of `text`. */
export const textSource = (text: string) => {
  const bytes = encoder.encode(text)
  return Files.fromStream(Stream.succeed(bytes), bytes.length)
}

/** A `COMPLETED` file holding `text`: create, upload, complete. */
export const completedFile = (files: Files.FilesShape, text = "hello transcript") =>
  Effect.gen(function*() {
    const size = encoder.encode(text).length
    const session = yield* files.create({ filename: "t.txt", mimeType: "text/plain", sizeBytes: size })
    const uploaded = yield* files.upload(session, textSource(text))
    yield* files.complete(session.id, { md5: uploaded.md5 })
    return session.id
  })
