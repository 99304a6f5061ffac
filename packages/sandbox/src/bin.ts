/**
 * `pnpm sandbox --port 4010 --seed 200 [--meetings 200] [--rate 25] [--index-lag-ms 0]`
 * Starts the stand-in server, prints its base URL and API keys, serves until SIGINT.
 * The only place in this package that runs an effect.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Duration, Effect } from "effect"
import * as Sandbox from "./Sandbox.js"

const usage = `Usage: pnpm sandbox [--port 4010] [--host 127.0.0.1] [--seed 1] [--meetings 200]
                    [--other-org-meetings 20] [--rate 25] [--capacity N] [--index-lag-ms 0]`

const parseArgs = (argv: ReadonlyArray<string>): Map<string, string> => {
  const args = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--") continue
    if (arg === "--help" || arg === "-h") {
      args.set("help", "true")
      continue
    }
    if (!arg.startsWith("--")) throw new Error(`Unexpected argument '${arg}'.\n${usage}`)
    const eq = arg.indexOf("=")
    if (eq > 0) args.set(arg.slice(2, eq), arg.slice(eq + 1))
    else args.set(arg.slice(2), argv[++i] ?? "")
  }
  return args
}

const numberArg = (args: Map<string, string>, name: string): number | undefined => {
  const raw = args.get(name)
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (raw.trim() === "" || !Number.isFinite(n) || n < 0) throw new Error(`--${name} needs a non-negative number, got '${raw}'.\n${usage}`)
  return n
}

const program = Effect.gen(function*() {
  const args = yield* Effect.try({ try: () => parseArgs(process.argv.slice(2)), catch: (e) => e as Error })
  if (args.has("help")) return yield* Console.log(usage)
  const options = yield* Effect.try({
    try: (): Sandbox.SandboxOptions => {
      const rate = numberArg(args, "rate")
      const capacity = numberArg(args, "capacity")
      const port = numberArg(args, "port")
      const seed = numberArg(args, "seed")
      const meetings = numberArg(args, "meetings")
      const otherOrgMeetings = numberArg(args, "other-org-meetings")
      const lag = numberArg(args, "index-lag-ms")
      return {
        port: port ?? 4010,
        ...(args.has("host") ? { host: args.get("host")! } : {}),
        ...(seed === undefined ? {} : { seed }),
        ...(meetings === undefined ? {} : { meetings }),
        ...(otherOrgMeetings === undefined ? {} : { otherOrgMeetings }),
        ...(rate === undefined ? {} : {
          rateLimit: rate === 0 ? false : { perSecond: rate, ...(capacity === undefined ? {} : { capacity }) }
        }),
        ...(lag === undefined ? {} : { indexLag: Duration.millis(lag) })
      }
    },
    catch: (e) => e as Error
  })
  const sandbox = yield* Sandbox.make(options)
  const baseUrl = yield* sandbox.baseUrl
  const meetings = options.meetings ?? 200
  yield* Console.log(`Lightfield sandbox listening on ${baseUrl}  (${meetings} meetings, seed ${options.seed ?? 1})`)
  yield* Console.log(`Send: Authorization: Bearer <key>, Lightfield-Version: ${Sandbox.apiVersion}`)
  for (const [label, key] of Object.entries(sandbox.keys)) {
    yield* Console.log(`  ${label.padEnd(9)} ${key}`)
  }
  yield* Console.log(`Admin endpoints under ${baseUrl}/__sandbox (GET /keys, POST /faults, GET /requests, ...). Ctrl-C stops.`)
  return yield* Effect.never
}).pipe(Effect.scoped)

// A port that is taken is an expected failure: one clear line and a non-zero exit, no stack trace.
const main = program.pipe(
  // (`catchIf`, not `catchTag`: the argument errors are plain `Error`s, which absorb the union.)
  Effect.catchIf((error): error is Sandbox.SandboxError => error instanceof Sandbox.SandboxError, (error) =>
    Console.error(`${error.message} (pick another with --port N, or --port 0 for a free one)`).pipe(
      Effect.zipRight(Effect.sync(() => {
        process.exitCode = 1
      }))
    ))
)

NodeRuntime.runMain(main)
