/**
 * Runs `sync-child.ts` in a fresh process. The child is bundled once with esbuild
 * into `bench/build/child/` and run with plain `node`: under tsx the loader thread and its source
 * maps add ~160 MB of RSS that an application built for production would not carry, and that
 * would drown what the sync itself costs. Only the bench's and our packages' code is bundled (as
 * their `dist` would be); effect and the other dependencies stay external and load from
 * node_modules as they do in an installed application. Bundled, they would be tree-shaken, which
 * hides what their modules cost a user who runs the packages with plain `node` (a barrel import of
 * `@effect/platform` alone held ~20 MB of strings that way).
 */
import { spawn } from "node:child_process"
import { rmSync } from "node:fs"
import { join } from "node:path"
import { benchDir, repoRoot } from "./Paths.js"
import type { ChildResult, Contender } from "./SyncChild.js"
import { resultPrefix } from "./SyncChild.js"

const outdir = join(benchDir, "build", "child")
let bundled: Promise<string> | undefined

/** Bundle the child (once per process); answers the entry file to run. */
export const bundleChild = (): Promise<string> => {
  bundled ??= (async () => {
    const esbuild = await import("esbuild")
    rmSync(outdir, { recursive: true, force: true })
    await esbuild.build({
      entryPoints: { "sync-child": join(benchDir, "sync-child.ts") },
      bundle: true,
      splitting: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outdir,
      outExtension: { ".js": ".mjs" },
      // Resolved from bench/ at run time, as an application resolves them: the native addon, and
      // every dependency that is not ours.
      external: ["better-sqlite3", "effect", "@effect/*", "pg", "ioredis"],
      logLevel: "warning",
      banner: { js: "import { createRequire as __benchCreateRequire } from 'node:module'; const require = __benchCreateRequire(import.meta.url);" }
    })
    return join(outdir, "sync-child.mjs")
  })()
  return bundled
}

export interface RunChildOptions {
  readonly mode: Contender
  readonly baseUrl: string
  readonly apiKey: string
  readonly filename: string
  readonly concurrency: number
  /** Extra node flags, e.g. `--cpu-prof`. */
  readonly nodeFlags?: ReadonlyArray<string>
  readonly timeoutMs?: number
}

/** Spawn the bundled `sync-child` and wait for its result. */
export const runSyncChild = async (options: RunChildOptions): Promise<ChildResult> => {
  const entry = await bundleChild()
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [
        ...(options.nodeFlags ?? []),
        entry,
        options.mode,
        options.baseUrl,
        options.apiKey,
        options.filename,
        String(options.concurrency)
      ],
      { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] }
    )
    let out = ""
    let err = ""
    child.stdout.setEncoding("utf8").on("data", (c: string) => {
      out += c
    })
    child.stderr.setEncoding("utf8").on("data", (c: string) => {
      err += c
    })
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 900_000)
    child.once("error", (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.once("exit", (code, signal) => {
      clearTimeout(timer)
      const line = out.split("\n").reverse().find((l) => l.startsWith(resultPrefix))
      if (code !== 0 || line === undefined) {
        reject(new Error(`sync child (${options.mode}) failed: code ${code} signal ${signal}\n${out}\n${err}`))
        return
      }
      resolvePromise(JSON.parse(line.slice(resultPrefix.length)) as ChildResult)
    })
  })
}
