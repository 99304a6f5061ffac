/**
 * 6. The demo CLI's cold start: the bin `pnpm build` makes (`apps/demo/dist/main.js`, an esbuild
 * bundle) run by plain `node`, wall time from spawn to exit, beside `node -e 0` (what every Node
 * program pays before its first line). `get` reads a meeting from a warm cache (cache-first, so no
 * request is sent; checked). Beside the wall time, the CPU time (user + sys) each start took, from
 * the children's times the kernel adds to this process (`/proc/self/stat`, Linux): on a machine
 * shared with other work, wall time grows with the load, CPU time much less.
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { repoRoot } from "./Paths.js"
import type { SandboxProcess } from "./SandboxProcess.js"
import { median } from "./Stats.js"

export interface ColdStartFigures {
  readonly runs: number
  /** Wall milliseconds of each run, in the order measured (interleaved). */
  readonly nodeMs: ReadonlyArray<number>
  readonly helpMs: ReadonlyArray<number>
  readonly getMs: ReadonlyArray<number>
  readonly nodeMedianMs: number
  readonly helpMedianMs: number
  readonly getMedianMs: number
  /** CPU milliseconds (user + sys) of each run; empty where `/proc` is not available. */
  readonly helpCpuMs: ReadonlyArray<number>
  readonly getCpuMs: ReadonlyArray<number>
  readonly helpCpuMedianMs: number
  readonly getCpuMedianMs: number
}

/** CPU milliseconds of this process's waited-for children so far (cutime + cstime), or NaN. */
const childrenCpuMs = (() => {
  let tick: number | undefined
  return (): number => {
    try {
      tick ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim())
      const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ")
      return ((Number(fields[13]) + Number(fields[14])) * 1000) / tick
    } catch {
      return Number.NaN
    }
  }
})()

const bin = join(repoRoot, "apps", "demo", "dist", "main.js")

/** `pnpm build`'s demo step (the bundle only). */
const buildBin = () =>
  execFileSync(join(repoRoot, "node_modules", ".bin", "tsx"), [join(repoRoot, "scripts", "build.ts"), "--only", "demo"], {
    cwd: repoRoot,
    stdio: ["ignore", "ignore", "inherit"]
  })

export const measureColdStart = async (
  runs: number,
  sandbox: Pick<SandboxProcess, "baseUrl" | "adminKey" | "requests" | "clearRequests">,
  dir: string
): Promise<ColdStartFigures> => {
  buildBin()
  const db = join(dir, "cli-cold-start.db")
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("LIGHTFIELD_")))
  const env = { ...base, NO_COLOR: "1", LIGHTFIELD_API_KEY: sandbox.adminKey, LIGHTFIELD_BASE_URL: sandbox.baseUrl }
  const node = (args: ReadonlyArray<string>) =>
    execFileSync(process.execPath, args, { cwd: repoRoot, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
  const timed = (args: ReadonlyArray<string>) => {
    const cpu = childrenCpuMs()
    const start = performance.now()
    node(args)
    return { wall: performance.now() - start, cpu: childrenCpuMs() - cpu }
  }
  node([bin, "sync", "--db", db, "--json"])
  const [first] = JSON.parse(node([bin, "list", "--db", db, "--json", "--limit", "1"])) as ReadonlyArray<{ id: string }>
  if (first === undefined) throw new Error("the CLI synced no meetings")
  const getArgs = [bin, "get", first.id, "--db", db, "--json"]
  await sandbox.clearRequests()
  const answer = JSON.parse(node(getArgs)) as { source: string }
  if (answer.source !== "cache" || (await sandbox.requests()).length !== 0) {
    throw new Error(`get on the warm cache was not answered from the cache (${answer.source})`)
  }
  // One warm-up of each (file-system caches), then the runs interleaved so load hits all alike.
  const commands = { node: ["-e", "0"], help: [bin, "--help"], get: getArgs }
  for (const args of Object.values(commands)) timed(args)
  const samples = { node: [] as Array<number>, help: [] as Array<number>, get: [] as Array<number> }
  const cpu = { node: [] as Array<number>, help: [] as Array<number>, get: [] as Array<number> }
  for (let i = 0; i < runs; i++) {
    for (const [name, args] of Object.entries(commands) as Array<[keyof typeof commands, Array<string>]>) {
      const t = timed(args)
      samples[name].push(t.wall)
      if (Number.isFinite(t.cpu)) cpu[name].push(t.cpu)
    }
  }
  return {
    runs,
    nodeMs: samples.node,
    helpMs: samples.help,
    getMs: samples.get,
    nodeMedianMs: median(samples.node),
    helpMedianMs: median(samples.help),
    getMedianMs: median(samples.get),
    helpCpuMs: cpu.help,
    getCpuMs: cpu.get,
    helpCpuMedianMs: median(cpu.help),
    getCpuMedianMs: median(cpu.get)
  }
}
