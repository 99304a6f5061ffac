/**
 * What every child process shares: its arguments (one JSON line on stdin), the cache layers for one
 * API key on one file, and the line protocol on stdout the parent test reads:
 *
 *   LOADED                  modules loaded, waiting for the arguments on stdin
 *   READY                   layers built, the interesting work starts now
 *   PROGRESS <json>         optional progress
 *   DONE <json>             finished successfully
 *   FAILED <json>           ended with a typed failure (tag + message)
 *   DEFECT <text>           ended with a defect (Cause.isDie) or an interruption: a bug
 *   UNHANDLED <text>        an unhandled promise rejection
 *
 * Exit codes: 0 done, 2 typed failure, 3 defect/unhandled rejection.
 */
import { FetchHttpClient } from "@effect/platform"
import { Database, MeetingsCache } from "@lightfield-effect/cache"
import { MeetingsClient } from "@lightfield-effect/core"
import { createInterface } from "node:readline"
import { Cause, Duration, Effect, Exit, Layer, Logger, LogLevel, Redacted } from "effect"

export interface CacheArgs {
  readonly baseUrl: string
  readonly apiKey: string
  readonly db: string
}

export const say = (tag: string, payload?: unknown): void => {
  process.stdout.write(payload === undefined ? `${tag}\n` : `${tag} ${JSON.stringify(payload)}\n`)
}

/**
 * The SQLite mirror for one key on one file, over real HTTP (Node's built-in fetch: loading
 * `@effect/platform-node` as well would make every child start noticeably slower).
 */
export const cacheLayer = (a: CacheArgs) =>
  MeetingsCache.layer({ apiKey: Redacted.make(a.apiKey) }).pipe(
    Layer.provide(
      MeetingsClient.layer({ apiKey: Redacted.make(a.apiKey), baseUrl: a.baseUrl, timeout: Duration.seconds(5) })
    ),
    Layer.provide(FetchHttpClient.layer),
    Layer.provideMerge(Database.layer({ filename: a.db }))
  )

/**
 * Run the child's program. Modules are loaded when this is called; the child prints `LOADED` and
 * waits for its arguments (one JSON line on stdin), so the parent can start children ahead of time
 * and time its kills from `GO` (the arguments) rather than from the slow module loading.
 */
export const main = <Args, A, E extends { readonly _tag: string; readonly message: string }>(
  program: (args: Args) => Effect.Effect<A, E>
): void => {
  process.on("unhandledRejection", (reason) => {
    say("UNHANDLED", String(reason))
    process.exitCode = 3
  })
  let started = false
  const input = createInterface({ input: process.stdin })
  input.on("line", (line) => {
    if (started || line.trim() === "") return
    started = true
    input.close()
    run(program(JSON.parse(line) as Args))
  })
  // The parent went away before sending arguments.
  input.once("close", () => {
    if (!started) process.exit(0)
  })
  say("LOADED")
}

const run = <A, E extends { readonly _tag: string; readonly message: string }>(program: Effect.Effect<A, E>): void => {
  void Effect.runPromiseExit(program.pipe(Logger.withMinimumLogLevel(LogLevel.Warning))).then((exit) => {
    if (Exit.isSuccess(exit)) {
      say("DONE", exit.value)
      process.exit(process.exitCode ?? 0)
    }
    const cause = exit.cause
    if (Cause.isDie(cause) || Cause.isInterruptedOnly(cause)) {
      say("DEFECT", Cause.pretty(cause).split("\n").slice(0, 6).join(" | "))
      process.exit(3)
    }
    const failure = Cause.failureOption(cause)
    say(
      "FAILED",
      failure._tag === "Some"
        ? { tag: failure.value._tag, message: failure.value.message }
        : { tag: "?", message: Cause.pretty(cause) }
    )
    process.exit(2)
  })
}

/**
 * A long-lived child for work that is not killed: one job per stdin line, run one after the other,
 * each answered `DONE`/`FAILED`/`DEFECT`; exits when stdin closes. Saves a module load per job.
 */
export const serve = <Args, A, E extends { readonly _tag: string; readonly message: string }>(
  program: (args: Args) => Effect.Effect<A, E>
): void => {
  process.on("unhandledRejection", (reason) => {
    say("UNHANDLED", String(reason))
    process.exitCode = 3
  })
  const jobs: Array<Args> = []
  let busy = false
  const next = (): void => {
    const job = jobs.shift()
    if (job === undefined) {
      busy = false
      return
    }
    busy = true
    void Effect.runPromiseExit(program(job).pipe(Logger.withMinimumLogLevel(LogLevel.Warning))).then((exit) => {
      if (Exit.isSuccess(exit)) say("DONE", exit.value)
      else if (Cause.isDie(exit.cause) || Cause.isInterruptedOnly(exit.cause)) {
        say("DEFECT", Cause.pretty(exit.cause).split("\n").slice(0, 6).join(" | "))
        process.exitCode = 3
      } else {
        const failure = Cause.failureOption(exit.cause)
        say("FAILED", failure._tag === "Some" ? { tag: failure.value._tag, message: failure.value.message } : { tag: "?" })
      }
      next()
    })
  }
  const input = createInterface({ input: process.stdin })
  input.on("line", (line) => {
    if (line.trim() === "") return
    jobs.push(JSON.parse(line) as Args)
    if (!busy) next()
  })
  input.once("close", () => {
    const wait = () => (busy ? setTimeout(wait, 20) : process.exit())
    wait()
  })
  say("LOADED")
}
