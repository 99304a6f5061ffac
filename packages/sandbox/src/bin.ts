#!/usr/bin/env node
/**
 * `lightfield-sandbox --port 4010 --seed 200 [--meetings 200] [--rate 25] [--index-lag-ms 0] [--debug]`
 * (in this workspace: `pnpm sandbox …`). Starts the stand-in server, prints its base URL and API
 * keys, serves until SIGINT/SIGTERM. The only place in this package that runs an effect.
 *
 * Exit codes: 2 for a bad argument (message and usage on stderr), 1 when it cannot listen.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Logger, LogLevel } from "effect"
import * as Cli from "./internal/cli.js"
import * as Sandbox from "./Sandbox.js"

const serve = (options: Sandbox.SandboxOptions) =>
  Effect.gen(function*() {
    const sandbox = yield* Sandbox.make(options)
    for (const line of Cli.banner(yield* sandbox.baseUrl, sandbox.keys, options)) yield* Console.log(line)
    return yield* Effect.never
  }).pipe(Effect.scoped)

const program = Effect.gen(function*() {
  const command = yield* Cli.parse(process.argv.slice(2))
  if (command._tag === "Help") return yield* Console.log(Cli.usage)
  // The request fibers inherit the level: `--debug` shows one line per request.
  return yield* serve(command.options).pipe(Logger.withMinimumLogLevel(command.debug ? LogLevel.Debug : LogLevel.Info))
})

const exitWith = (code: number) =>
  Effect.sync(() => {
    process.exitCode = code
  })

// Expected failures: one clear message and a non-zero exit, no stack trace.
const main = program.pipe(
  Effect.catchTags({
    ArgumentError: (error) => Console.error(`${error.message}\n${Cli.usage}`).pipe(Effect.zipRight(exitWith(2))),
    SandboxError: (error) =>
      Console.error(`${error.message} (pick another with --port N, or --port 0 for a free one)`).pipe(
        Effect.zipRight(exitWith(1))
      )
  })
)

NodeRuntime.runMain(main)
