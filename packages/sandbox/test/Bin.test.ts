/**
 * The `lightfield-sandbox` bin as a user runs it: a child process (through tsx here; the packed
 * package runs the compiled `dist/bin.js` with plain node), its banner, its exit codes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Duration, Effect } from "effect"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as Sandbox from "../src/Sandbox.js"

const bin = fileURLToPath(new URL("../src/bin.ts", import.meta.url))

interface Run {
  readonly output: () => string
  /** Resolves once `text` has appeared on stdout or stderr. */
  readonly waitFor: (text: string) => Effect.Effect<void>
  readonly exit: Effect.Effect<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  readonly signal: (signal: NodeJS.Signals) => Effect.Effect<void>
}

/** Runs the bin with `args`; SIGKILLed when the scope closes if still running. */
const run = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const exited = yield* Deferred.make<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>()
    let output = ""
    let done = false
    const waiters = new Set<() => void>()
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const proc = spawn(process.execPath, ["--import", "tsx", bin, ...args], {
          stdio: ["ignore", "pipe", "pipe"],
          env: { ...process.env, NODE_NO_WARNINGS: "1" }
        })
        const collect = (chunk: Buffer) => {
          output += chunk.toString("utf8")
          for (const w of waiters) w()
        }
        proc.stdout.on("data", collect)
        proc.stderr.on("data", collect)
        proc.on("exit", (code, signal) => {
          done = true
          Deferred.unsafeDone(exited, Effect.succeed({ code, signal }))
          for (const w of waiters) w()
        })
        return proc
      }),
      (proc) => Effect.sync(() => proc.exitCode === null && proc.signalCode === null && proc.kill("SIGKILL"))
    )
    const result: Run = {
      output: () => output,
      waitFor: (text) =>
        Effect.async<void, Error>((resume) => {
          const check = () => {
            if (output.includes(text)) resume(Effect.void)
            else if (done) resume(Effect.fail(new Error(`exited before printing '${text}':\n${output}`)))
            else return
            waiters.delete(check)
          }
          waiters.add(check)
          check()
          return Effect.sync(() => waiters.delete(check))
        }).pipe(
          Effect.timeoutFail({
            duration: Duration.seconds(30),
            onTimeout: () => new Error(`'${text}' not printed within 30 s; output so far:\n${output}`)
          }),
          Effect.orDie
        ),
      exit: Deferred.await(exited),
      signal: (signal) => Effect.sync(() => void child.kill(signal))
    }
    return result
  })

const field = (output: string, pattern: RegExp): string => {
  const match = pattern.exec(output)
  assert.isNotNull(match, `${pattern} in:\n${output}`)
  return match![1]!
}

describe("lightfield-sandbox bin", () => {
  it.live("prints its base URL and the seed's keys, serves, logs each request at --debug, stops on SIGTERM", () =>
    Effect.gen(function*() {
      const sandbox = yield* run(["--port", "0", "--seed", "11", "--meetings", "4", "--debug"])
      yield* sandbox.waitFor("Admin endpoints")
      const out = sandbox.output()
      const baseUrl = field(out, /listening on (http:\/\/127\.0\.0\.1:\d+) {2}\(4 meetings, seed 11\)/)
      const keys = Sandbox.keysFor(11)
      for (const [label, key] of Object.entries(keys)) assert.match(out, new RegExp(`^  ${label}\\s+${key}$`, "m"))
      const res = yield* Effect.promise(() =>
        fetch(`${baseUrl}/v1/meetings?limit=2`, {
          headers: { authorization: `Bearer ${keys.admin}`, "lightfield-version": Sandbox.apiVersion }
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as { readonly totalCount: number } }))
      )
      assert.deepStrictEqual([res.status, res.body.totalCount], [200, 4])
      yield* sandbox.waitFor("sandbox GET /v1/meetings?limit=2 -> 200")
      yield* sandbox.signal("SIGTERM")
      const exit = yield* sandbox.exit
      assert.isTrue(exit.code !== null || exit.signal !== null)
    }).pipe(Effect.scoped), 60_000)

  it.live("without --debug, no request lines", () =>
    Effect.gen(function*() {
      const sandbox = yield* run(["--port", "0", "--meetings", "2"])
      yield* sandbox.waitFor("Admin endpoints")
      const baseUrl = field(sandbox.output(), /listening on (http:\S+)/)
      yield* Effect.promise(() => fetch(`${baseUrl}/v1/meetings`).then((r) => r.arrayBuffer()))
      // The health check answers after the API request, so its log line would be out by now.
      yield* Effect.promise(() => fetch(`${baseUrl}/__sandbox/health`).then((r) => r.arrayBuffer()))
      assert.notInclude(sandbox.output(), "sandbox GET")
    }).pipe(Effect.scoped), 60_000)

  it.live("a bad argument: exit 2, the message and the usage, no stack trace", () =>
    Effect.gen(function*() {
      const sandbox = yield* run(["--seed", "x"])
      const exit = yield* sandbox.exit
      assert.strictEqual(exit.code, 2)
      assert.match(sandbox.output(), /^--seed: .*"x"/m)
      assert.include(sandbox.output(), "Usage: lightfield-sandbox")
      assert.notMatch(sandbox.output(), /^\s+at /m)
    }).pipe(Effect.scoped), 60_000)

  it.live("a port in use: exit 1 with one line saying so", () =>
    Effect.gen(function*() {
      const taken = yield* Sandbox.make({ meetings: 0, otherOrgMeetings: 0 })
      const port = field(yield* taken.baseUrl, /:(\d+)$/)
      const sandbox = yield* run(["--port", port])
      const exit = yield* sandbox.exit
      assert.strictEqual(exit.code, 1)
      assert.include(sandbox.output(), `port ${port} on 127.0.0.1 is already in use`)
      assert.notMatch(sandbox.output(), /^\s+at /m)
    }).pipe(Effect.scoped), 60_000)
})
