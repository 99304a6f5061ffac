/** `pnpm bench`: run the suite at full size, print the table, write bench/results/*.json and the README section. */
import { loadavg } from "node:os"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { FleetConfig, FleetFigures } from "./Fleet.js"
import { available as fleetAvailable, runFleet } from "./Fleet.js"
import { fleetFigures, fleetNote, withFleetRows } from "./FleetReport.js"
import { figures, machine, sourceFingerprint, table, updateReadme, writeResults } from "./Report.js"
import { benchDir, repoRoot } from "./Paths.js"
import { benchParts, fullConfig, runSuite } from "./Suite.js"
import type { BenchConfig, BenchPart } from "./Suite.js"

/** `--only sync,retrieve,rss` (or `--only=…`): the parts named; `undefined` without the flag. */
export const parseOnly = (argv: ReadonlyArray<string>): ReadonlyArray<BenchPart> | undefined => {
  const i = argv.findIndex((a) => a === "--only" || a.startsWith("--only="))
  if (i === -1) return undefined
  const value = argv[i]!.startsWith("--only=") ? argv[i]!.slice("--only=".length) : argv[i + 1] ?? ""
  const names = value.split(",").map((n) => n.trim()).filter((n) => n !== "")
  const unknown = names.filter((n) => !(benchParts as ReadonlyArray<string>).includes(n))
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(`--only takes a comma-separated list of ${benchParts.join(", ")}; got ${JSON.stringify(value)}`)
  }
  return names as Array<BenchPart>
}

const fleetConfig = (log: (line: string) => void): FleetConfig => ({
  pgMeetings: 20_000,
  pgReps: 3,
  concurrency: 4,
  workerMeetings: 2_000,
  rate: 25,
  log
})

/** `--only fleet`: figures 10 and 11 alone; their rows (and note) in the README are replaced. */
const mainFleet = async (writeReadme: boolean): Promise<void> => {
  const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`)
  if (!(await fleetAvailable())) {
    console.error("pnpm bench --only fleet needs PostgreSQL (LIGHTFIELD_BENCH_PG_URL, default 127.0.0.1:5432) and Redis")
    process.exitCode = 1
    return
  }
  const host = machine()
  const source = sourceFingerprint(repoRoot)
  const results = await runFleet(fleetConfig(log))
  const rows = fleetFigures(results)
  const rendered = table(rows)
  console.log(`\n${host}; commit ${source.commit}\n\n${rendered}\n`)
  const { log: _log, ...config } = fleetConfig(log)
  const file = writeResults(join(benchDir, "results", "fleet"), { machine: host, date: new Date().toISOString(), source, config, figures: rows, results })
  console.log(`figures written to ${file}`)
  if (writeReadme) {
    const readme = join(repoRoot, "README.md")
    // The rows only: the README table's header and widths come from the full run.
    const bodyRows = rendered.split("\n").slice(2)
    writeFileSync(readme, withFleetRows(readFileSync(readme, "utf8"), bodyRows))
    console.log("README.md ## Benchmarks: rows 10 and 11 replaced")
  }
}

export const main = async (argv: ReadonlyArray<string>): Promise<void> => {
  const started = performance.now()
  const onlyValue = argv.includes("--only") ? argv[argv.indexOf("--only") + 1] : undefined
  // `--only fleet`: figures 10 and 11 alone (PostgreSQL and Redis), their README rows replaced.
  if (onlyValue === "fleet") return mainFleet(!argv.includes("--no-readme"))
  // The machine is shared: the 1-minute load average at the start and the end of the run goes with the figures.
  const loadAtStart = loadavg()[0] ?? 0
  const only = parseOnly(argv)
  // A partial run leaves the README's table (the whole suite's) alone.
  const writeReadme = !argv.includes("--no-readme") && only === undefined
  const profileDir = join(benchDir, "results", "profiles")
  const config: BenchConfig = {
    ...fullConfig,
    ...(only === undefined ? {} : { only }),
    // `--cpu-prof`: a V8 CPU profile of every RSS child (ours and baseline) under bench/results/profiles/.
    ...(argv.includes("--cpu-prof") ? { childNodeFlags: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] } : {}),
    log: (line) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`)
  }
  const host = machine()
  const source = sourceFingerprint(repoRoot)
  config.log(`bench on ${host}; code ${source.commit} (+${source.dirtyFiles} changed files in packages/, src ${source.packagesSrcSha256})`)
  const results = await runSuite(config)
  // Figures 10 and 11 need PostgreSQL and Redis; without them the run says so and goes on.
  let fleet: FleetFigures | null = null
  if (only !== undefined) config.log("[fleet] not run: --only names other parts")
  else if (await fleetAvailable()) fleet = await runFleet(fleetConfig(config.log))
  else config.log("[fleet] skipped: no PostgreSQL at LIGHTFIELD_BENCH_PG_URL (default 127.0.0.1:5432)")
  const rows = [...figures(results, config), ...(fleet === null ? [] : fleetFigures(fleet))]
  const totalSeconds = (performance.now() - started) / 1000
  const load = `load average ${loadAtStart.toFixed(1)} at the start, ${(loadavg()[0] ?? 0).toFixed(1)} at the end`
  const rendered = table(rows)
  console.log(`\n${host}\n\n${rendered}\n`)
  const passed = rows.filter((r) => r.pass).length
  console.log(`${passed}/${rows.length} targets met; whole run ${totalSeconds.toFixed(0)} s`)
  const { log: _log, ...configJson } = config
  const file = writeResults(join(benchDir, "results"), {
    machine: host,
    date: new Date().toISOString(),
    totalSeconds,
    load,
    source,
    config: configJson,
    figures: rows,
    results: { ...results, fleet }
  })
  console.log(`figures written to ${file}`)
  if (writeReadme) {
    updateReadme(
      join(repoRoot, "README.md"),
      [
        "`pnpm bench` (not part of `pnpm test`) starts the sandbox in its own process (`--rate 0`; `--rate 25` for figure 5)",
        "and compares the cache with a plain baseline: global `fetch`, `JSON.parse`, a better-sqlite3 prepared upsert in one",
        "transaction per page, the same page concurrency (4, the cache's default), its own file (id primary key, the JSON, three",
        "indexed columns). Unthrottled syncs run our client with `rate: false` (the sandbox does not limit); figure 5 uses the",
        "client's default of 25/s. Sync and retrieve: medians of 3 runs after a warm-up, in the bench process. Peak RSS:",
        "`process.resourceUsage().maxRSS` of a fresh child per size, run by plain `node` (so tsx's loader does not count): our",
        "code bundled as its `dist` would be, effect and every other dependency loaded from node_modules as an installed",
        "application loads them (not tree-shaken). Beside it, the same baseline in a child that first imports our stack",
        "(ours, effect, @effect/platform-node, @effect/sql) and never uses it: what loading the modules costs. CLI cold start: wall time from spawn to exit of the demo's built bin (`pnpm build`'s bundle) run",
        "by plain `node`, beside `node -e 0`; `get` reads from a warm cache (no request sent); medians of 9 interleaved runs",
        "after a warm-up, with the CPU time (user + sys) of those starts. Transcript upload: peak RSS growth of a fresh child",
        "(the largest rise over the lowest RSS before it, sampled every 5 ms from 250 ms after a warm-up attach and a full GC), median of 3 children. Sync CPU: `process.cpuUsage` (user + sys) of the",
        "bench process around each timed sync (the sandbox runs in its own process), per 1,000 meetings; the RSS rows also",
        "give each child's own sync CPU. Sync without the network: the same pages fetched once and held in memory as parsed",
        "JSON, then stored by `MeetingsCache.sync` (over a `Meetings` whose `streamWire` emits them) and by the baseline's",
        "page store, each into a fresh file: what the sync engine and the store cost, a bound on the sync figure however",
        "cheap the HTTP client (and core's checks) become. Flags: `--no-readme`; `--cpu-prof` (profiles of the RSS children in",
        "`bench/results/profiles/`); `--only sync,retrieve,rss` (any of sync, retrieve, rss, query, rate, cold, upload, fallback, steady;",
        "results to `bench/results/`, README left alone).",
        ...(fleet === null ? [] : [fleetNote]),
        "Raw figures: `bench/results/latest.json`.",
        "",
        `Last run: ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${host}; commit ${source.commit}` +
          `${source.dirtyFiles > 0 ? ` plus ${source.dirtyFiles} uncommitted file${source.dirtyFiles === 1 ? "" : "s"} in packages/` : ""}; whole run ${totalSeconds.toFixed(0)} s; ${load}.`,
        "",
        rendered
      ].join("\n")
    )
    console.log("README.md ## Benchmarks updated")
  }
}
