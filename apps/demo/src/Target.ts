/**
 * Where the CLI sends its requests: the server named by `LIGHTFIELD_API_KEY` (and
 * `LIGHTFIELD_BASE_URL`), or else a sandbox started in this process. Plus the layers built on it.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Database, MeetingsCache } from "@lightfield-effect/cache"
import { MeetingsClient, MeetingsConfig } from "@lightfield-effect/core"
import { Sandbox } from "@lightfield-effect/sandbox"
import { Config, Duration, Effect, Layer, Option, Redacted } from "effect"
import type { Scope } from "effect"
import { mkdirSync } from "node:fs"
import { dirname, isAbsolute, resolve } from "node:path"

export interface Target {
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted<string>
  /** Set when the CLI started its own sandbox. */
  readonly sandbox: Option.Option<Sandbox.SandboxShape>
}

/** Seeded meetings in the embedded sandbox. */
export const embeddedMeetings = 1000

export const startSandbox = (options: Sandbox.SandboxOptions = {}) =>
  Sandbox.make({ meetings: embeddedMeetings, ...options })

/** The configured server, or a fresh embedded sandbox (the admin key) when none is configured. */
export const fromEnvironment: Effect.Effect<Target, Sandbox.SandboxError, Scope.Scope> = Effect.gen(function*() {
  const apiKey = yield* Config.option(Config.redacted("LIGHTFIELD_API_KEY")).pipe(Effect.orElseSucceed(() => Option.none()))
  if (Option.isSome(apiKey)) {
    const baseUrl = yield* Config.string("LIGHTFIELD_BASE_URL").pipe(
      Config.withDefault(MeetingsConfig.DefaultBaseUrl),
      Effect.orElseSucceed(() => MeetingsConfig.DefaultBaseUrl)
    )
    return { baseUrl, apiKey: apiKey.value, sandbox: Option.none() }
  }
  const sandbox = yield* startSandbox()
  yield* Effect.logDebug("no LIGHTFIELD_API_KEY: using an embedded sandbox")
  return { baseUrl: yield* sandbox.baseUrl, apiKey: Redacted.make(sandbox.keys.admin), sandbox: Option.some(sandbox) }
})

/**
 * The cache file: `--db`, else `LIGHTFIELD_CACHE_PATH`, else `.lightfield-demo/cache.db`; relative
 * paths start at the directory the user ran pnpm from (`INIT_CWD`, which pnpm sets), not apps/demo.
 */
export const dbPath = (db: Option.Option<string>): Effect.Effect<string> =>
  Effect.gen(function*() {
    const base = yield* Config.string("INIT_CWD").pipe(Effect.orElseSucceed(() => process.cwd()))
    const configured = yield* Config.option(Config.string("LIGHTFIELD_CACHE_PATH")).pipe(
      Effect.orElseSucceed(() => Option.none<string>())
    )
    const file = Option.getOrElse(Option.orElse(db, () => configured), () => ".lightfield-demo/cache.db")
    return isAbsolute(file) ? file : resolve(base, file)
  })

const ensureFolder = (file: string) => Effect.sync(() => mkdirSync(dirname(file), { recursive: true }))

/** The HTTP client for one key (short timeouts: a CLI should not hang for a minute). */
export const networkLayer = (target: Pick<Target, "baseUrl" | "apiKey">) =>
  MeetingsClient.layer({ apiKey: target.apiKey, baseUrl: target.baseUrl, timeout: Duration.seconds(10) }).pipe(
    Layer.provide(NodeHttpClient.layerUndici)
  )

/** The SQLite mirror for one key on one file. */
export const cacheLayer = (target: Pick<Target, "baseUrl" | "apiKey">, filename: string) =>
  MeetingsCache.layer({ apiKey: target.apiKey }).pipe(
    Layer.provide(networkLayer(target)),
    Layer.provide(Layer.unwrapEffect(Effect.as(ensureFolder(filename), Database.layer({ filename }))))
  )
