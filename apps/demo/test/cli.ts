/**
 * Runs the demo CLI as a real subprocess, the way a user or a script would: the bundle that
 * `pnpm build` makes, run by plain node. It is built from the sources once per test file, into a
 * folder of its own under apps/demo (so it resolves better-sqlite3 and package.json as dist/
 * does); `removeBundle` (in `afterAll`) deletes it.
 */
import { Effect } from "effect"
import { execFile, execFileSync, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const demoDir = fileURLToPath(new URL("..", import.meta.url))
const repoRoot = join(demoDir, "..", "..")

let built: string | undefined

/** The bundle's entry file (built on first use). */
export const bundledMain = (): string => {
  if (built === undefined) {
    const outdir = mkdtempSync(join(demoDir, ".bundle-"))
    execFileSync(join(repoRoot, "node_modules", ".bin", "tsx"), [
      join(repoRoot, "scripts", "build.ts"), "--only", "demo", "--outdir", outdir
    ], { stdio: ["ignore", "ignore", "inherit"] })
    built = join(outdir, "main.js")
  }
  return built
}

export const removeBundle = () => {
  if (built !== undefined) rmSync(dirname(built), { recursive: true, force: true })
  built = undefined
}

export interface Ran {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** `env` replaces the LIGHTFIELD_* variables of this process (an empty object means "none set"). */
export const runCli = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}) =>
  Effect.async<Ran>((resume) => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("LIGHTFIELD_")))
    const child = execFile(
      process.execPath,
      [bundledMain(), ...args],
      { env: { ...base, ...env, NO_COLOR: "1" }, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
        resume(Effect.succeed({ code, stdout, stderr }))
      }
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** Starts `sandbox` as a long-running subprocess and returns its first stdout lines once it listens. */
export const runSandboxCommand = (args: ReadonlyArray<string>) =>
  Effect.async<string>((resume) => {
    const child = spawn(process.execPath, [bundledMain(), "sandbox", ...args], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8")
      // The keys follow the listening line; wait for the last one.
      if (out.includes("otherOrg")) {
        child.kill("SIGINT")
      }
    })
    child.on("exit", () => resume(Effect.succeed(out)))
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** A long-running command (`watch`): its stdout lines as they come, and a stop (SIGINT) with its exit code. */
export const startCli = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("LIGHTFIELD_")))
      const child = spawn(process.execPath, [bundledMain(), ...args], {
        env: { ...base, ...env, NO_COLOR: "1" },
        stdio: ["ignore", "pipe", "pipe"]
      })
      const lines: Array<string> = []
      let partial = ""
      let stderr = ""
      child.stdout.on("data", (chunk: Buffer) => {
        partial += chunk.toString("utf8")
        const parts = partial.split("\n")
        partial = parts.pop() ?? ""
        lines.push(...parts.filter((l) => l.length > 0))
      })
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")))
      const exited = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? 1)))
      /** Wait (polling) until there are more than `count` lines; the line at index `count`. */
      const line = (count: number, timeoutMillis = 15_000) =>
        Effect.async<string, Error>((resume) => {
          const started = Date.now()
          const timer = setInterval(() => {
            if (lines.length > count) {
              clearInterval(timer)
              resume(Effect.succeed(lines[count]!))
            } else if (Date.now() - started > timeoutMillis || child.exitCode !== null) {
              clearInterval(timer)
              resume(Effect.fail(new Error(`no line ${count} (${lines.length} so far); stderr: ${stderr}`)))
            }
          }, 20)
          return Effect.sync(() => clearInterval(timer))
        })
      const stop = Effect.promise(() => {
        child.kill("SIGINT")
        return exited
      })
      return { child, lines, line, stop }
    }),
    ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
  )
