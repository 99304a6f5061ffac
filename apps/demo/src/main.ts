/**
 * The demo CLI: the only place that runs effects. Typed failures print one line and exit with a
 * code per kind (see README); anything else is a bug and exits 1 with its cause.
 *
 * Built by `pnpm build` into one bundle run by plain node (`apps/demo/dist/main.js`, see
 * scripts/build.ts); what only some commands need is loaded when they run (see Commands.ts).
 */
import { CliConfig, Command, ValidationError } from "@effect/cli"
// Module paths, not the package index: the index re-exports all of undici, which would load on every start.
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Config, Console, Effect, Exit, Layer, Logger, LogLevel } from "effect"
import { readFileSync } from "node:fs"
import { root } from "./Commands.js"
import { describe, exitCodeOf, isDemoFailure } from "./Failure.js"
import { normalizePolicyArgs } from "./Input.js"

// src/main.ts and dist/main.js both sit one folder below the package.
const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }

const cli = Command.run(root, { name: "lightfield-demo", version })

const program = Effect.suspend(() => cli(normalizePolicyArgs(process.argv))).pipe(
  Effect.as(0),
  Effect.catchIf(isDemoFailure, (e) => Effect.as(Console.error(describe(e)), exitCodeOf(e))),
  // @effect/cli has already printed the usage problem.
  Effect.catchIf(ValidationError.isValidationError, () => Effect.succeed(2))
)

// Warnings only, unless LIGHTFIELD_DEBUG is set or a command gets --debug (then retries and their
// delays show). Logs go to stderr, so stdout holds only a command's output.
const LogLevelLive = Layer.unwrapEffect(
  Config.boolean("LIGHTFIELD_DEBUG").pipe(
    Config.withDefault(false),
    Effect.orElseSucceed(() => false),
    Effect.map((debug) => Logger.minimumLogLevel(debug ? LogLevel.Debug : LogLevel.Warning))
  )
)
const LoggerLive = Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true }))

const MainLive = Layer.mergeAll(NodeContext.layer, CliConfig.layer({ showBuiltIns: true }), LogLevelLive, LoggerLive)

program.pipe(
  Effect.provide(MainLive),
  NodeRuntime.runMain({
    disableErrorReporting: false,
    // The logger above (pretty, on stderr) instead of runMain's (pretty, on stdout).
    disablePrettyLogger: true,
    teardown: (exit, onExit) =>
      onExit(Exit.isSuccess(exit) && typeof exit.value === "number" ? exit.value : Exit.isSuccess(exit) ? 0 : Cause.isInterruptedOnly(exit.cause) ? 130 : 1)
  })
)
