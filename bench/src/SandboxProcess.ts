/**
 * The sandbox in its own process (`packages/sandbox/src/bin.ts`), so its CPU does not count against
 * the process being measured, and both contenders talk to the same server.
 */
import { spawn } from "node:child_process"
import { get as httpGet } from "node:http"
import { join } from "node:path"
import { repoRoot, tsNodeArgs } from "./Paths.js"

export interface SandboxProcessOptions {
  readonly meetings: number
  /** Requests per second per category; 0 switches rate limiting off. */
  readonly rate: number
  readonly seed?: number
}

export interface LoggedRequest {
  readonly method: string
  readonly path: string
  readonly status: number
  /** Sandbox-clock epoch millis. */
  readonly at: number
}

export interface SandboxProcess {
  readonly baseUrl: string
  readonly adminKey: string
  readonly pid: number
  /** Spawn to "listening" (includes generating the seeded meetings). */
  readonly startupMs: number
  /**
   * The listing's `totalCount` as the admin sees it, asked on a connection of its own
   * (`agent: false`): a pooled `fetch` connection left idle by an earlier part can be closed by
   * the sandbox just as it is reused ("other side closed").
   */
  readonly totalCount: () => Promise<number>
  readonly requests: () => Promise<ReadonlyArray<LoggedRequest>>
  readonly clearRequests: () => Promise<void>
  /** SIGTERM this process (and only it), wait for it to exit. */
  readonly stop: () => Promise<void>
}

const totalCountOf = (baseUrl: string, adminKey: string): Promise<number> =>
  new Promise((resolvePromise, reject) => {
    const req = httpGet(`${baseUrl}/v1/meetings?limit=1`, {
      agent: false,
      headers: { authorization: `Bearer ${adminKey}`, "lightfield-version": "2026-03-01" }
    }, (res) => {
      let text = ""
      res.setEncoding("utf8").on("data", (chunk: string) => {
        text += chunk
      }).on("end", () => {
        let total: unknown
        try {
          total = (JSON.parse(text) as { readonly totalCount?: unknown }).totalCount
        } catch {
          total = undefined
        }
        if (res.statusCode === 200 && typeof total === "number") resolvePromise(total)
        else reject(new Error(`sandbox totalCount: HTTP ${res.statusCode} ${text.slice(0, 200)}`))
      }).on("error", reject)
    })
    req.setTimeout(10_000, () => req.destroy(new Error("sandbox totalCount: no answer within 10 s")))
    req.on("error", reject)
  })

const binPath = join(repoRoot, "packages", "sandbox", "src", "bin.ts")

export const startSandbox = (options: SandboxProcessOptions): Promise<SandboxProcess> =>
  new Promise((resolvePromise, reject) => {
    const started = performance.now()
    const child = spawn(
      process.execPath,
      tsNodeArgs(binPath, [
        "--port",
        "0",
        "--meetings",
        String(options.meetings),
        "--rate",
        String(options.rate),
        "--seed",
        String(options.seed ?? 1)
      ]),
      { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] }
    )
    let out = ""
    let err = ""
    let settled = false
    const exited = new Promise<void>((done) => child.once("exit", () => done()))
    const fail = (message: string) => {
      if (settled) return
      settled = true
      child.kill("SIGTERM")
      reject(new Error(`${message}\nstdout: ${out}\nstderr: ${err}`))
    }
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      err += chunk
    })
    child.once("exit", (code) => fail(`sandbox exited early with code ${code}`))
    child.once("error", (e) => fail(`cannot spawn sandbox: ${e.message}`))
    const timer = setTimeout(() => fail("sandbox did not start within 120 s"), 120_000)
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk
      if (settled) return
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1]
      const key = /^\s*admin\s+(\S+)\s*$/m.exec(out)?.[1]
      // The admin line comes after the URL; wait until the "Admin endpoints" line closes the banner.
      if (url === undefined || key === undefined || !out.includes("Admin endpoints")) return
      settled = true
      clearTimeout(timer)
      const startupMs = performance.now() - started
      const pid = child.pid ?? -1
      resolvePromise({
        baseUrl: url,
        adminKey: key,
        pid,
        startupMs,
        totalCount: () => totalCountOf(url, key),
        requests: async () => {
          const res = await fetch(`${url}/__sandbox/requests`)
          const body = (await res.json()) as { readonly requests: ReadonlyArray<LoggedRequest> }
          return body.requests
        },
        clearRequests: async () => {
          await fetch(`${url}/__sandbox/requests`, { method: "DELETE" })
        },
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
          const killer = setTimeout(() => child.kill("SIGKILL"), 5000)
          await exited
          clearTimeout(killer)
        }
      })
    })
  })

/** Run `f` with a sandbox that is stopped afterwards whatever happens. */
export const withSandbox = async <A>(
  options: SandboxProcessOptions,
  f: (sandbox: SandboxProcess) => Promise<A>
): Promise<A> => {
  const sandbox = await startSandbox(options)
  try {
    return await f(sandbox)
  } finally {
    await sandbox.stop()
  }
}
