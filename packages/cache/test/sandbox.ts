/** Helpers for the integration tests: the sandbox over real HTTP, core's client, the cache. */
import { NodeHttpClient } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { MeetingsClient } from "@lightfield-effect/core"
import type { MeetingParams } from "@lightfield-effect/core"
import { Sandbox } from "@lightfield-effect/sandbox"
import { DateTime, Effect, Layer } from "effect"
import { MeetingsCache, Principal } from "../src/index.js"
import { databaseLayer } from "./fixtures.js"

export type KeyName = keyof Sandbox.SandboxKeys

/**
 * The cache for one sandbox key, on `file` (a SQLite file or a `postgres://` URL), over the real HTTP client. By default without client
 * retries (tests are quick); `client: "defaultRetries"` keeps the client's default retry policy.
 */
export const cacheLayer = (
  sandbox: Sandbox.SandboxShape,
  key: KeyName,
  file: string,
  options: Omit<MeetingsCache.MeetingsCacheOptions, "apiKey" | "principal"> = {},
  client: "noRetries" | "defaultRetries" = "noRetries"
) =>
  Layer.unwrapEffect(
    Effect.map(sandbox.baseUrl, (baseUrl) =>
      MeetingsCache.layer({ apiKey: sandbox.keys[key], ...options } as MeetingsCache.MeetingsCacheOptions).pipe(
        Layer.provideMerge(
          MeetingsClient.layerWithApiKey(sandbox.keys[key], {
            baseUrl,
            rate: false,
            timeout: "3 seconds",
            ...(client === "noRetries" ? { maxRetries: 0 } : {})
          }).pipe(Layer.provide(NodeHttpClient.layerUndici))
        ),
        Layer.provideMerge(databaseLayer(file))
      ))
  )

export const withCache = <A, E>(
  sandbox: Sandbox.SandboxShape,
  key: KeyName,
  file: string,
  f: (cache: MeetingsCache.MeetingsCacheShape) => Effect.Effect<A, E, SqlClient.SqlClient>,
  options?: Omit<MeetingsCache.MeetingsCacheOptions, "apiKey" | "principal">,
  client?: "noRetries" | "defaultRetries"
) => Effect.flatMap(MeetingsCache.MeetingsCache, f).pipe(Effect.provide(cacheLayer(sandbox, key, file, options, client)))

export const principalOf = (sandbox: Sandbox.SandboxShape, key: KeyName) => Principal.fromApiKey(sandbox.keys[key])

/** A create body for a meeting that ended an hour ago. */
export const pastMeeting = (title: string, extra: Partial<MeetingParams.CreateMeetingParams["fields"]> = {}): MeetingParams.CreateMeetingParams => {
  const now = Date.now()
  return {
    fields: {
      $title: title,
      $startDate: DateTime.formatIso(DateTime.unsafeMake(now - 2 * 60 * 60 * 1000)),
      $endDate: DateTime.formatIso(DateTime.unsafeMake(now - 60 * 60 * 1000)),
      $description: `Description of ${title}`,
      $attendeeEmails: ["ada@acme.example"],
      ...extra
    }
  }
}

/** Every id the cache serves for its principal (all pages of a local query). */
export const cachedIds = (cache: MeetingsCache.MeetingsCacheShape) =>
  Effect.map(cache.query({ limit: 1_000_000 }), (rows) => rows.filter((r) => !r.pending).map((r) => r.value.id).sort())

/** Rows as stored, for privacy assertions on the database itself. */
export const storedRows = (principal: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return yield* sql<{ id: string; access_level: string; description: string | null; body: string; gone: number }>`
      SELECT id, access_level, description, body, gone FROM meetings WHERE principal = ${principal}`
  })
