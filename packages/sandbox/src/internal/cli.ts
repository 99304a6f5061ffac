/**
 * The command line of the `lightfield-sandbox` bin (also `pnpm sandbox`): flags into
 * `SandboxOptions`, read through effect's `Config` so every bad value is a typed `ArgumentError`
 * before anything listens, and the banner it prints once it listens.
 */
import type { ConfigError } from "effect"
import { Config, ConfigProvider, Duration, Effect, Either, Option, Schema } from "effect"
import type { SandboxKeys } from "../SandboxShape.js"
import * as RateLimiter from "./rateLimiter.js"
import type { SandboxOptions } from "../SandboxShape.js"
import { Endpoint } from "@lightfield-effect/core"

/** The usage text (`--help`, and after an argument error). */
export const usage = `Usage: lightfield-sandbox [--port 4010] [--host 127.0.0.1] [--seed 1] [--meetings 200]
                          [--other-org-meetings 20] [--rate 25] [--capacity N] [--index-lag-ms 0]
                          [--upload-url-ttl-ms 3600000] [--legacy-file-ids] [--debug]
  --port 0 picks a free port; --rate 0 switches rate limiting off; --debug logs every request;
  --legacy-file-ids takes unknown fil_ ids as completed transcript files.`

/** A command-line argument the bin cannot use; it prints the message and the usage, and exits 2. */
export class ArgumentError extends Schema.TaggedError<ArgumentError>()("ArgumentError", {
  message: Schema.String
}) {}

/** What the command line asks for. */
export type Command =
  | { readonly _tag: "Help" }
  | { readonly _tag: "Serve"; readonly options: SandboxOptions; readonly debug: boolean }

const valueFlags = [
  "port",
  "host",
  "seed",
  "meetings",
  "other-org-meetings",
  "rate",
  "capacity",
  "index-lag-ms",
  "upload-url-ttl-ms"
] as const
const switchFlags = ["debug", "help", "legacy-file-ids"] as const

const isOneOf = <A extends string>(all: ReadonlyArray<A>, s: string): s is A => (all as ReadonlyArray<string>).includes(s)

/** `--name value`, `--name=value` and switches into a flat map; anything else is an `ArgumentError`. */
const flagsOf = (argv: ReadonlyArray<string>): Either.Either<Map<string, string>, ArgumentError> => {
  const flags = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--") continue
    if (arg === "-h") {
      flags.set("help", "true")
      continue
    }
    if (!arg.startsWith("--")) return Either.left(new ArgumentError({ message: `Unexpected argument '${arg}'.` }))
    const eq = arg.indexOf("=")
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2)
    if (isOneOf(switchFlags, name)) {
      if (eq > 0) return Either.left(new ArgumentError({ message: `--${name} takes no value.` }))
      flags.set(name, "true")
      continue
    }
    if (!isOneOf(valueFlags, name)) return Either.left(new ArgumentError({ message: `Unknown option '--${name}'.` }))
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i]
    if (value === undefined || value.trim() === "" || (eq < 0 && value.startsWith("--"))) {
      return Either.left(new ArgumentError({ message: `--${name} needs a value.` }))
    }
    flags.set(name, value)
  }
  return Either.right(flags)
}

const atLeast = (name: string, min: number, config: Config.Config<number>) =>
  Config.validate(config, { message: `must be at least ${min}`, validation: (n: number) => n >= min }).pipe(
    Config.nested(name)
  )

const options = Config.all({
  port: Config.validate(atLeast("port", 0, Config.integer()), {
    message: "must be at most 65535",
    validation: (n: number) => n <= 65_535
  }).pipe(Config.withDefault(4010)),
  host: Config.option(Config.nonEmptyString("host")),
  seed: Config.option(atLeast("seed", 0, Config.integer())),
  meetings: Config.option(
    Config.validate(atLeast("meetings", 0, Config.integer()), {
      message: "must be at most 1000000",
      validation: (n: number) => n <= 1_000_000
    })
  ),
  otherOrgMeetings: Config.option(atLeast("other-org-meetings", 0, Config.integer())),
  rate: Config.option(atLeast("rate", 0, Config.number())),
  capacity: Config.option(atLeast("capacity", 1, Config.number())),
  indexLagMillis: Config.option(atLeast("index-lag-ms", 0, Config.number())),
  uploadUrlTtlMillis: Config.option(atLeast("upload-url-ttl-ms", 1, Config.number())),
  legacyFileIds: Config.boolean("legacy-file-ids").pipe(Config.withDefault(false)),
  debug: Config.boolean("debug").pipe(Config.withDefault(false))
})

/** The first problem of a config error, as `--flag: what is wrong`. */
const describe = (error: ConfigError.ConfigError): string => {
  switch (error._op) {
    case "And":
    case "Or":
      return describe(error.left)
    default:
      return `--${error.path.join(".")}: ${error.message}`
  }
}

/** The command of `argv` (without the node and script paths). */
export const parse = (argv: ReadonlyArray<string>): Effect.Effect<Command, ArgumentError> =>
  Effect.gen(function*() {
    const flags = yield* flagsOf(argv)
    if (flags.has("help")) return { _tag: "Help" } as const
    const read = yield* Effect.withConfigProvider(options, ConfigProvider.fromMap(flags)).pipe(
      Effect.mapError((error) => new ArgumentError({ message: describe(error) }))
    )
    const rate = Option.getOrUndefined(read.rate)
    const capacity = Option.getOrUndefined(read.capacity)
    if (capacity !== undefined && rate === 0) {
      return yield* new ArgumentError({ message: "--capacity needs rate limiting on (--rate above 0)." })
    }
    // `--capacity` alone keeps the default rate.
    const perSecond = rate ?? (capacity === undefined ? undefined : RateLimiter.defaultLimit.perSecond)
    const sandboxOptions: SandboxOptions = {
      port: read.port,
      ...Option.match(read.host, { onNone: () => ({}), onSome: (host) => ({ host }) }),
      ...Option.match(read.seed, { onNone: () => ({}), onSome: (seed) => ({ seed }) }),
      ...Option.match(read.meetings, { onNone: () => ({}), onSome: (meetings) => ({ meetings }) }),
      ...Option.match(read.otherOrgMeetings, { onNone: () => ({}), onSome: (otherOrgMeetings) => ({ otherOrgMeetings }) }),
      ...(perSecond === undefined ? {} : {
        rateLimit: perSecond === 0 ? false : { perSecond, ...(capacity === undefined ? {} : { capacity }) }
      }),
      ...Option.match(read.indexLagMillis, { onNone: () => ({}), onSome: (ms) => ({ indexLag: Duration.millis(ms) }) }),
      ...Option.match(read.uploadUrlTtlMillis, { onNone: () => ({}), onSome: (ms) => ({ uploadUrlTtl: Duration.millis(ms) }) }),
      ...(read.legacyFileIds ? { legacyFileIds: true } : {})
    }
    return { _tag: "Serve", options: sandboxOptions, debug: read.debug } as const
  })

/** What the bin prints once it listens: the base URL, the headers to send, the keys, the admin endpoints. */
export const banner = (baseUrl: string, keys: SandboxKeys, options: SandboxOptions): ReadonlyArray<string> => [
  `Lightfield sandbox listening on ${baseUrl}  (${options.meetings ?? 200} meetings, seed ${options.seed ?? 1})`,
  `Send: Authorization: Bearer <key>, Lightfield-Version: ${Endpoint.ApiVersion}`,
  ...Object.entries(keys).map(([label, key]) => `  ${label.padEnd(9)} ${key}`),
  `Admin endpoints under ${baseUrl}/__sandbox (GET /keys, POST /faults, GET /requests, ...). Ctrl-C stops.`
]
