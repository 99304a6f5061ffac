/**
 * The demo CLI: the only place that runs effects. Typed failures print one line and exit with a
 * code per kind (see README); anything else is a bug and exits 1 with its cause.
 */
import { CliConfig, Command, ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Config, Console, Effect, Exit, Layer, Logger, LogLevel } from "effect"
import { root } from "./Commands.js"
import { describe, exitCodeOf, isDemoFailure } from "./Failure.js"

const cli = Command.run(root, { name: "lightfield-demo", version: "0.1.0" })

const program = Effect.suspend(() => cli(process.argv)).pipe(
  Effect.as(0),
  Effect.catchIf(isDemoFailure, (e) => Effect.as(Console.error(describe(e)), exitCodeOf(e))),
  // @effect/cli has already printed the usage problem.
  Effect.catchIf(ValidationError.isValidationError, () => Effect.succeed(2))
)

// Warnings only, unless LIGHTFIELD_DEBUG is set (then retries and their delays show).
const LogLevelLive = Layer.unwrapEffect(
  Config.boolean("LIGHTFIELD_DEBUG").pipe(
    Config.withDefault(false),
    Effect.orElseSucceed(() => false),
    Effect.map((debug) => Logger.minimumLogLevel(debug ? LogLevel.Debug : LogLevel.Warning))
  )
)

const MainLive = Layer.mergeAll(NodeContext.layer, CliConfig.layer({ showBuiltIns: false }), LogLevelLive)

program.pipe(
  Effect.provide(MainLive),
  NodeRuntime.runMain({
    disableErrorReporting: false,
    teardown: (exit, onExit) =>
      onExit(Exit.isSuccess(exit) && typeof exit.value === "number" ? exit.value : Exit.isSuccess(exit) ? 0 : Cause.isInterruptedOnly(exit.cause) ? 130 : 1)
  })
)
