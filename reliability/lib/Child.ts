/**
 * Child processes for the crash scenarios: `node --import tsx reliability/child/<name>.ts`, its
 * arguments sent as one JSON line on stdin once it has loaded (`start`), stdout read line by line
 * (see `child/common.ts` for the protocol), SIGKILL on demand. A child still running when its scope
 * closes is SIGKILLed, so a failing test never leaves one behind.
 *
 * Loading the packages through tsx takes a second or more, so a `Pool` keeps children loaded ahead
 * of time: kill delays are measured from `start`, not from the spawn.
 */
import { type ChildProcess, spawn as spawnProcess } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Deferred, Duration, Effect, Option, Scope } from "effect"

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url))

export const entry = (name: ChildName): string =>
  fileURLToPath(new URL(`../child/${name}.ts`, import.meta.url))

export interface ChildExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface ChildHandle {
  readonly pid: number
  /** Send the arguments (the child waits for them after `LOADED`); a `serve` child takes one job per call. */
  readonly send: (args: unknown) => Effect.Effect<void>
  /** Stdout lines so far. */
  readonly lines: () => ReadonlyArray<string>
  readonly stderr: () => string
  /** The first line starting with `prefix` (waits for it); `None` if the child exits first. */
  readonly waitFor: (prefix: string) => Effect.Effect<Option.Option<string>>
  /** The `n`-th line (1-based) starting with one of `prefixes`; `None` if the child exits first. */
  readonly waitForNth: (prefixes: ReadonlyArray<string>, n: number) => Effect.Effect<Option.Option<string>>
  /** SIGKILL (no-op once exited). */
  readonly kill: Effect.Effect<void>
  readonly exit: Effect.Effect<ChildExit>
  /** Whether the child has exited. */
  readonly exited: () => boolean
}

export type ChildName = "sync" | "replay" | "enqueue" | "attach"

/** A child of `reliability/child/` by name, or any other entry file (e.g. the fleet suite's worker). */
export const spawn = (name: ChildName | URL): Effect.Effect<ChildHandle, never, Scope.Scope> =>
  Effect.gen(function*() {
    const exitDeferred = yield* Deferred.make<ChildExit>()
    const lines: Array<string> = []
    let stderr = ""
    let buffer = ""
    let done = false
    const waiters = new Set<() => void>()
    const notify = () => {
      for (const w of waiters) w()
    }
    const child: ChildProcess = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const proc = spawnProcess(process.execPath, ["--import", "tsx", typeof name === "string" ? entry(name) : fileURLToPath(name)], {
          cwd: repoRoot,
          stdio: ["pipe", "pipe", "pipe"],
          env: { ...process.env, NODE_NO_WARNINGS: "1" }
        })
        proc.stdout!.setEncoding("utf8")
        proc.stdout!.on("data", (chunk: string) => {
          buffer += chunk
          let at = buffer.indexOf("\n")
          while (at >= 0) {
            lines.push(buffer.slice(0, at))
            buffer = buffer.slice(at + 1)
            at = buffer.indexOf("\n")
          }
          notify()
        })
        proc.stderr!.setEncoding("utf8")
        proc.stderr!.on("data", (chunk: string) => {
          // Keep the tail only: a child may log a lot before it is killed.
          stderr = (stderr + chunk).slice(-8000)
        })
        proc.on("exit", (code, signal) => {
          done = true
          if (buffer !== "") {
            lines.push(buffer)
            buffer = ""
          }
          Deferred.unsafeDone(exitDeferred, Effect.succeed({ code, signal }))
          notify()
        })
        // A child killed before it read its arguments makes the pipe fail; that is expected.
        proc.stdin!.on("error", () => {})
        return proc
      }),
      (proc) =>
        Effect.suspend(() => {
          if (done) return Effect.void
          proc.kill("SIGKILL")
          return Effect.asVoid(Deferred.await(exitDeferred).pipe(Effect.timeout(Duration.seconds(10)), Effect.ignore))
        })
    )

    const find = (prefixes: ReadonlyArray<string>, n: number) =>
      Option.fromNullable(lines.filter((l) => prefixes.some((p) => l.startsWith(p)))[n - 1])
    const waitForNth = (prefixes: ReadonlyArray<string>, n: number): Effect.Effect<Option.Option<string>> =>
      Effect.async<Option.Option<string>>((resume) => {
        const check = () => {
          const found = find(prefixes, n)
          if (Option.isSome(found) || done) {
            waiters.delete(check)
            resume(Effect.succeed(found))
          }
        }
        waiters.add(check)
        check()
        return Effect.sync(() => waiters.delete(check))
      })

    const handle: ChildHandle = {
      pid: child.pid ?? -1,
      send: (args) =>
        Effect.sync(() => {
          if (!done) child.stdin!.write(`${JSON.stringify(args)}\n`)
        }),
      lines: () => lines.slice(),
      stderr: () => stderr,
      waitFor: (prefix) => waitForNth([prefix], 1),
      waitForNth,
      kill: Effect.suspend(() => {
        if (done) return Effect.void
        child.kill("SIGKILL")
        return Effect.asVoid(Deferred.await(exitDeferred))
      }),
      exit: Deferred.await(exitDeferred),
      exited: () => done
    }
    return handle
  })

/** The payload of the last line starting with `tag` (`DONE {...}` → the parsed JSON). */
export const payload = <A>(lines: ReadonlyArray<string>, tag: string): Option.Option<A> => {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!
    if (line === tag) return Option.some(undefined as A)
    if (line.startsWith(`${tag} `)) return Option.some(JSON.parse(line.slice(tag.length + 1)) as A)
  }
  return Option.none()
}

/** Whether the child reported a defect or an unhandled rejection. */
export const reportedDefect = (lines: ReadonlyArray<string>): boolean =>
  lines.some((l) => l.startsWith("DEFECT") || l.startsWith("UNHANDLED"))

/** Children of one kind loaded ahead of time (`ahead` waiting), all killed when the scope closes. */
export interface Pool {
  /** A loaded child (waits for one if none is ready); unless `last`, a fresh spawn replaces it. */
  readonly take: (options?: { readonly last?: boolean }) => Effect.Effect<ChildHandle>
}

export const pool = (name: ChildName, ahead: number): Effect.Effect<Pool, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const spawnIn = Effect.provideService(spawn(name), Scope.Scope, scope)
    const queue: Array<ChildHandle> = []
    for (let i = 0; i < ahead; i++) queue.push(yield* spawnIn)
    return {
      take: (options) => Effect.gen(function*() {
        const child = queue.shift() ?? (yield* spawnIn)
        if (options?.last !== true) queue.push(yield* spawnIn)
        yield* child.waitFor("LOADED")
        return child
      })
    }
  })
