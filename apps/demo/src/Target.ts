/**
 * Where the CLI sends its requests: the server named by `--api-key`/`LIGHTFIELD_API_KEY` (and
 * `--base-url`/`LIGHTFIELD_BASE_URL`), or else a sandbox started in this process. Plus the layers
 * built on it. Loaded on demand by the commands that need it (it pulls in the cache, SQLite and the
 * HTTP client); the sandbox is loaded only when one is started.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { CachedMeetings, Database, MeetingsCache, TranscriptSteps } from "@lightfield-effect/cache"
import { FilesClient, MeetingsClient, MeetingsConfig, RateBudget, Transcripts } from "@lightfield-effect/core"
import type { MeetingsError } from "@lightfield-effect/core"
import type { Sandbox } from "@lightfield-effect/sandbox"
import { Config, Duration, Effect, Layer, Option, Redacted } from "effect"
import type { Scope } from "effect"
import { mkdirSync } from "node:fs"
import { dirname, isAbsolute, resolve } from "node:path"
import { logExchanges } from "./Debug.js"
import { CachePathError, UsageError } from "./Failure.js"
import * as Input from "./Input.js"
import * as Output from "./Output.js"

export interface Target {
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted<string>
  /** Set when the CLI started its own sandbox. */
  readonly sandbox: Option.Option<Sandbox.SandboxShape>
  /** `--debug`: log every request and response. */
  readonly debug: boolean
  /** `--redis`/`LIGHTFIELD_REDIS_URL`: the rate budget shared with every instance of the organisation. */
  readonly redis: Option.Option<Redacted.Redacted<string>>
}

/** What the command line says about the server (each falls back to the environment). */
export interface Connection {
  readonly apiKey: Option.Option<Redacted.Redacted<string>>
  readonly baseUrl: Option.Option<string>
  readonly debug: boolean
  readonly redis: Option.Option<Redacted.Redacted<string>>
}

/** Seeded meetings in the embedded sandbox. */
export const embeddedMeetings = 1000

export const startSandbox = (options: Sandbox.SandboxOptions = {}) =>
  Effect.flatMap(
    Effect.promise(() => import("@lightfield-effect/sandbox")),
    ({ Sandbox }) => Sandbox.make({ meetings: embeddedMeetings, ...options })
  )

const fromConfig = <A>(config: Config.Config<A>) =>
  Config.option(config).pipe(Effect.orElseSucceed(() => Option.none<A>()))

/** `LIGHTFIELD_REDIS_URL`, if set. */
export const redisFromEnv: Effect.Effect<Option.Option<Redacted.Redacted<string>>> = fromConfig(
  Config.redacted("LIGHTFIELD_REDIS_URL")
)

/**
 * The configured server (flag, else environment), or a fresh embedded sandbox (its admin key) when
 * no key is configured. A base URL without a key is refused: it would silently go unused.
 */
export const fromEnvironment = (
  connection: Connection
): Effect.Effect<Target, Sandbox.SandboxError | UsageError, Scope.Scope> =>
  Effect.gen(function*() {
    const key = Option.isSome(connection.apiKey) ? connection.apiKey : yield* fromConfig(Config.redacted("LIGHTFIELD_API_KEY"))
    const url = Option.isSome(connection.baseUrl) ? connection.baseUrl : yield* fromConfig(Config.string("LIGHTFIELD_BASE_URL"))
    const redis = Option.isSome(connection.redis) ? connection.redis : yield* redisFromEnv
    if (Option.isSome(key)) {
      const baseUrl = yield* Input.baseUrl(Option.getOrElse(url, () => MeetingsConfig.DefaultBaseUrl))
      return { baseUrl, apiKey: key.value, sandbox: Option.none(), debug: connection.debug, redis }
    }
    if (Option.isSome(connection.baseUrl)) {
      return yield* new UsageError({ message: "--base-url needs an API key: --api-key or LIGHTFIELD_API_KEY" })
    }
    const sandbox = yield* startSandbox()
    yield* Effect.logDebug("no LIGHTFIELD_API_KEY: using an embedded sandbox")
    return {
      baseUrl: yield* sandbox.baseUrl,
      apiKey: Redacted.make(sandbox.keys.admin),
      sandbox: Option.some(sandbox),
      debug: connection.debug,
      redis
    }
  })

/** Whether `--db` names a PostgreSQL server rather than a SQLite file. */
export const isPostgresUrl = (db: string): boolean => /^postgres(ql)?:\/\//i.test(db)

/** The database for messages: a file as is, a URL without its password. */
export const shownDb = (db: string): string => (isPostgresUrl(db) ? MeetingsConfig.withoutCredentials(db) : db)

/**
 * The cache: `--db` (a file, or a `postgres://` URL), else `LIGHTFIELD_CACHE_URL` (PostgreSQL),
 * else `LIGHTFIELD_CACHE_PATH`, else `.lightfield-demo/cache.db`; relative paths start at the
 * directory the user ran pnpm from (`INIT_CWD`, which pnpm sets), not apps/demo.
 */
export const dbPath = (db: Option.Option<string>): Effect.Effect<string> =>
  Effect.gen(function*() {
    const base = yield* Config.string("INIT_CWD").pipe(Effect.orElseSucceed(() => process.cwd()))
    const server = yield* fromConfig(Config.string("LIGHTFIELD_CACHE_URL"))
    const configured = yield* fromConfig(Config.string("LIGHTFIELD_CACHE_PATH"))
    const file = Option.getOrElse(Option.orElse(Option.orElse(db, () => server), () => configured), () => ".lightfield-demo/cache.db")
    return isPostgresUrl(file) || isAbsolute(file) ? file : resolve(base, file)
  })

const errorCode = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string" ? cause.code : ""

/** The cache file's folder, created if missing; a file in the way or a read-only place is a typed error. */
export const ensureFolder = (file: string): Effect.Effect<void, CachePathError> =>
  Effect.try({
    try: () => {
      mkdirSync(dirname(file), { recursive: true })
    },
    catch: (cause) => {
      const folder = dirname(file)
      const code = errorCode(cause)
      const why = code === "EEXIST" || code === "ENOTDIR"
        ? `${folder} (or a folder above it) is a file, not a folder`
        : code === "EACCES" || code === "EPERM" || code === "EROFS"
        ? `${folder} cannot be created here (${code}: not writable)`
        : `${folder} cannot be created (${code === "" ? String(cause) : code})`
      return new CachePathError({ path: file, message: `Cannot use ${file} as the cache file: ${why}`, cause })
    }
  })

/** What the client layers need of a target. */
export type ClientTarget = Pick<Target, "baseUrl" | "apiKey"> & {
  readonly debug?: boolean
  readonly redis?: Option.Option<Redacted.Redacted<string>>
}

/**
 * The shared rate budget on Redis for `--redis`, for the organisation `LIGHTFIELD_ORGANIZATION`
 * (else a fingerprint of the key); none without a Redis URL. Redis is loaded only then.
 */
export const budgetLayer = (target: ClientTarget) =>
  Layer.scoped(
    RateBudget.RateBudget,
    Effect.flatMap(fromConfig(Config.nonEmptyString("LIGHTFIELD_ORGANIZATION")), (organization) =>
      RateBudget.make(Option.map(target.redis ?? Option.none(), (url) => ({
        url,
        organization: Option.getOrElse(organization, () => RateBudget.keyFingerprint(target.apiKey))
      }))))
  )

/** The HTTP client for one key (short timeouts: a CLI should not hang for a minute). */
export const networkLayer = (target: ClientTarget) =>
  MeetingsClient.layer({
    apiKey: target.apiKey,
    baseUrl: target.baseUrl,
    timeout: Duration.seconds(10),
    ...(target.debug === true ? { transformClient: logExchanges } : {})
  }).pipe(Layer.provide(Layer.merge(FetchHttpClient.layer, budgetLayer(target))))

/** The database of `dbPath`: a SQLite file (its folder created), or a PostgreSQL server. */
export const databaseLayer = (db: string) =>
  isPostgresUrl(db)
    ? Database.layer({ url: Redacted.make(db), maxConnections: 4 })
    : Layer.unwrapEffect(Effect.as(ensureFolder(db), Database.layer({ filename: db })))

/** The mirror for one key in one database (and its connection, for the transcript steps). */
export const cacheLayer = (target: ClientTarget, db: string) =>
  MeetingsCache.layer({ apiKey: target.apiKey }).pipe(
    Layer.provide(networkLayer(target)),
    Layer.provideMerge(databaseLayer(db))
  )

/**
 * The platform client of the files API: Node's http client (not fetch: a streamed PUT must carry
 * Content-Length, which fetch drops; undici answered Transport errors from the bundle), over an agent
 * that keeps connections alive. `NodeHttpClient.layer`'s agent is `new http.Agent()`, which closes
 * the socket after every answer: one new TCP connection per request. Loaded when a command first
 * needs it: the module brings undici with it (~90 ms of every start that never uploads).
 */
export const filesHttpClient = Layer.unwrapEffect(
  Effect.promise(() =>
    import("@effect/platform-node/NodeHttpClient").then((NodeHttpClient) =>
      NodeHttpClient.layerWithoutAgent.pipe(Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: true })))
    )
  )
)

/** Uploads stream files from disk (loaded with the files client). */
const fileSystem = Layer.unwrapEffect(Effect.promise(() => import("@effect/platform-node/NodeFileSystem").then((m) => m.layer)))

/** The files API for one key (uploads streamed from disk). */
const filesLayer = (target: Pick<Target, "baseUrl" | "apiKey">) =>
  FilesClient.layer({ apiKey: target.apiKey, baseUrl: target.baseUrl, timeout: Duration.seconds(30) }).pipe(
    Layer.provide(Layer.merge(filesHttpClient, fileSystem))
  )

/** What a command body gets: the cache, where it talks to, and the cache file. */
export interface Session {
  readonly cache: MeetingsCache.MeetingsCacheShape
  readonly target: Target
  readonly file: string
  /**
   * Transcript uploads: the files API over HTTP, the meeting written through the cache, every step
   * recorded in the cache file (so a second run resumes an interrupted one).
   */
  readonly transcripts: Effect.Effect<Transcripts.TranscriptsShape, MeetingsError.InvalidConfig>
}

/** Run `f` with the cache for the configured target (or an embedded sandbox). */
export const withCache = <A, E>(
  options: Connection & { readonly db: Option.Option<string> },
  f: (session: Session) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    const target = yield* fromEnvironment(options)
    if (Option.isSome(target.sandbox)) {
      yield* Output.note(`(no LIGHTFIELD_API_KEY set: talking to an embedded sandbox at ${target.baseUrl})`)
    }
    const file = yield* dbPath(options.db)
    return yield* Effect.gen(function*() {
      const cache = yield* MeetingsCache.MeetingsCache
      const sql = yield* SqlClient.SqlClient
      const transcripts = Effect.gen(function*() {
        const journal = yield* Effect.provideService(TranscriptSteps.make(cache.principal), SqlClient.SqlClient, sql)
        return yield* Transcripts.make(journal)
      }).pipe(
        Effect.provide(Layer.merge(
          CachedMeetings.layer().pipe(Layer.provide(Layer.succeed(MeetingsCache.MeetingsCache, cache))),
          filesLayer(target)
        ))
      )
      return yield* f({ cache, target, file, transcripts })
    }).pipe(Effect.provide(cacheLayer(target, file)))
  }).pipe(Effect.scoped)
