/** Runs the demo CLI as a real subprocess (tsx), the way a user or a script would. */
import { Effect } from "effect"
import { execFile, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

export const mainFile = fileURLToPath(new URL("../src/main.ts", import.meta.url))

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
      ["--import", "tsx", mainFile, ...args],
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
    const child = spawn(process.execPath, ["--import", "tsx", mainFile, "sandbox", ...args], {
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
