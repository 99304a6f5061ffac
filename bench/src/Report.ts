/** The table, the JSON file under bench/results/ and the README's "## Benchmarks" section. */
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { cpus, totalmem } from "node:os"
import { join } from "node:path"
import { round } from "./Stats.js"
import type { BenchConfig, SuiteResults } from "./Suite.js"

export interface Figure {
  readonly figure: string
  readonly unit: string
  readonly ours: number
  readonly baseline: number | null
  /** ours / baseline (or the figure the target is about). */
  readonly ratio: number | null
  readonly target: string
  readonly pass: boolean
}

export const machine = (): string => {
  const list = cpus()
  const model = list[0]?.model.trim() ?? "unknown CPU"
  return `${list.length} cores, ${model}, ${round(totalmem() / 2 ** 30, 1)} GB RAM, Node ${process.version}, ${process.platform}/${process.arch}`
}

/**
 * Which code was measured: the commit, whether packages/ had uncommitted changes, and a SHA-256 over
 * every file under packages/*\/src (the packages were still changing while the bench was written).
 */
export const sourceFingerprint = (repoRoot: string): { readonly commit: string; readonly dirtyFiles: number; readonly packagesSrcSha256: string } => {
  const git = (args: ReadonlyArray<string>) => {
    try {
      return execFileSync("git", args, { cwd: repoRoot, encoding: "utf8" }).trim()
    } catch {
      return ""
    }
  }
  const hash = createHash("sha256")
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else hash.update(path.slice(repoRoot.length)).update(readFileSync(path))
    }
  }
  const packages = join(repoRoot, "packages")
  for (const pkg of readdirSync(packages).sort()) {
    const src = join(packages, pkg, "src")
    try {
      if (statSync(src).isDirectory()) walk(src)
    } catch {
      // no src folder
    }
  }
  return {
    commit: git(["rev-parse", "--short", "HEAD"]),
    dirtyFiles: git(["status", "--porcelain", "--", "packages"]).split("\n").filter((l) => l.trim() !== "").length,
    packagesSrcSha256: hash.digest("hex").slice(0, 16)
  }
}

const mb = (bytes: number) => bytes / 2 ** 20
const k = (n: number) => (n % 1000 === 0 ? `${n / 1000}k` : String(n))

export const figures = (r: SuiteResults, config: Pick<BenchConfig, "concurrency" | "rate" | "queryLimit">): Array<Figure> => {
  const out: Array<Figure> = []
  const syncRatio = r.sync.oursMedianMs / r.sync.baselineMedianMs
  out.push({
    figure: `1. Full sync, ${k(r.sync.meetings)} meetings, concurrency ${config.concurrency} (median of ${r.sync.ours.length})`,
    unit: "s",
    ours: r.sync.oursMedianMs / 1000,
    baseline: r.sync.baselineMedianMs / 1000,
    ratio: syncRatio,
    target: "≤ 1.2x",
    pass: syncRatio <= 1.2
  })
  const p50 = r.retrieve.ours.p50Ms / r.retrieve.baseline.p50Ms
  const p99 = r.retrieve.ours.p99Ms / r.retrieve.baseline.p99Ms
  out.push({
    figure: `2. Cached retrieve by id (CacheFirst), uniform over all ${k(r.sync.meetings)}, p50`,
    unit: "µs",
    ours: r.retrieve.ours.p50Ms * 1000,
    baseline: r.retrieve.baseline.p50Ms * 1000,
    ratio: p50,
    target: "≤ 2x",
    pass: p50 <= 2
  })
  out.push({
    figure: `2. Cached retrieve by id (CacheFirst), uniform over all ${k(r.sync.meetings)}, p99`,
    unit: "µs",
    ours: r.retrieve.ours.p99Ms * 1000,
    baseline: r.retrieve.baseline.p99Ms * 1000,
    ratio: p99,
    target: "≤ 2x",
    pass: p99 <= 2
  })
  const hot = r.retrieve.hotSet
  if (hot !== null) {
    for (const [label, o, b] of [
      ["p50", hot.ours.p50Ms, hot.baseline.p50Ms],
      ["p99", hot.ours.p99Ms, hot.baseline.p99Ms]
    ] as const) {
      out.push({
        figure: `2. Cached retrieve by id, ids from a working set of ${k(hot.size)}, ${label}`,
        unit: "µs",
        ours: o * 1000,
        baseline: b * 1000,
        ratio: o / b,
        target: "≤ 2x",
        pass: o / b <= 2
      })
    }
  }
  out.push({
    figure: `3. Query date range + organizer, ${config.queryLimit} results, ${k(r.query.cachedMeetings)} cached, p50 (baseline: same SQL raw)`,
    unit: "ms",
    ours: r.query.ours.p50Ms,
    baseline: r.query.rawSql.p50Ms,
    ratio: r.query.ours.p50Ms / r.query.rawSql.p50Ms,
    target: "< 5 ms",
    pass: r.query.ours.p50Ms < 5
  })
  for (const s of r.rss) {
    out.push({
      figure: `4. Peak RSS, sync of ${k(s.meetings)} (fresh process)`,
      unit: "MB",
      ours: mb(s.ours.maxRssBytes),
      baseline: s.baseline === null ? null : mb(s.baseline.maxRssBytes),
      ratio: s.baseline === null ? null : s.ours.maxRssBytes / s.baseline.maxRssBytes,
      target: "< 200 MB",
      pass: mb(s.ours.maxRssBytes) < 200
    })
  }
  const smallest = r.rss[0]
  const largest = r.rss[r.rss.length - 1]
  if (smallest !== undefined && largest !== undefined && largest !== smallest) {
    const growth = largest.ours.maxRssBytes / smallest.ours.maxRssBytes
    const baseGrowth = largest.baseline !== null && smallest.baseline !== null
      ? largest.baseline.maxRssBytes / smallest.baseline.maxRssBytes
      : null
    out.push({
      figure: `4. Peak RSS growth, ${k(largest.meetings)} / ${k(smallest.meetings)}`,
      unit: "x",
      ours: growth,
      baseline: baseGrowth,
      ratio: growth,
      target: "≤ 1.3x",
      pass: growth <= 1.3
    })
  }
  const rl = r.rateLimited
  out.push({
    figure: `5. Rate-limited sync, ${k(rl.meetings)} at ${rl.limitPerSecond}/s: achieved rate / limit (sandbox log)`,
    unit: "",
    ours: rl.fractionFromLog,
    baseline: null,
    ratio: rl.fractionFromLog,
    target: "≥ 0.95",
    pass: rl.fractionFromLog >= 0.95
  })
  out.push({
    figure: `5. Rate-limited sync: 429 responses (of ${rl.listRequests} requests)`,
    unit: "",
    ours: rl.status429,
    baseline: null,
    ratio: null,
    target: "0",
    pass: rl.status429 === 0
  })
  const cold = r.coldStart
  for (
    const [label, ms, cpuMs] of [
      ["--help", cold.helpMedianMs, cold.helpCpuMedianMs],
      ["get <id> on a warm cache", cold.getMedianMs, cold.getCpuMedianMs]
    ] as const
  ) {
    const cpu = Number.isFinite(cpuMs) ? `, CPU ${(cpuMs / 1000).toFixed(2)} s` : ""
    out.push({
      figure: `6. CLI cold start, ${label} (built bin, plain node; baseline node -e 0; median of ${cold.runs}${cpu})`,
      unit: "s",
      ours: ms / 1000,
      baseline: cold.nodeMedianMs / 1000,
      ratio: ms / cold.nodeMedianMs,
      target: "< 0.5 s",
      pass: ms < 500
    })
  }
  if (r.upload !== null) {
    const growth = mb(r.upload.growthBytes)
    out.push({
      figure: `7. Transcript upload + attach, ${mb(r.upload.sizeBytes).toFixed(0)} MB file: peak RSS growth (fresh child)`,
      unit: "MB",
      ours: growth,
      baseline: null,
      ratio: null,
      target: "< 30 MB",
      pass: growth < 30
    })
  }
  return out
}

const fmt = (x: number | null, unit = ""): string => {
  if (x === null || Number.isNaN(x)) return "–"
  const digits = Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2
  return `${x.toFixed(digits)}${unit === "" ? "" : ` ${unit}`}`
}

/** A Markdown table (also readable in a terminal). */
export const table = (rows: ReadonlyArray<Figure>): string => {
  const cells = rows.map((f) => [
    f.figure,
    fmt(f.ours, f.unit === "x" ? "" : f.unit),
    fmt(f.baseline, f.unit === "x" ? "" : f.unit),
    f.ratio === null ? "–" : `${f.ratio.toFixed(2)}x`,
    f.target,
    f.pass ? "pass" : "FAIL"
  ])
  const header = ["Figure", "Ours", "Baseline", "Ratio", "Target", "Result"]
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  const line = (c: ReadonlyArray<string>) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(" | ")} |`
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...cells.map(line)].join("\n")
}

export const writeResults = (
  dir: string,
  payload: { readonly machine: string; readonly figures: ReadonlyArray<Figure>; readonly results: object } & Record<
    string,
    unknown
  >
): string => {
  mkdirSync(dir, { recursive: true })
  const stamp = new Date().toISOString().replace(/[:.]/g, "-")
  const file = join(dir, `bench-${stamp}.json`)
  const text = `${JSON.stringify(payload, null, 2)}\n`
  writeFileSync(file, text)
  writeFileSync(join(dir, "latest.json"), text)
  return file
}

/**
 * Replace (or append) the README's `## Benchmarks` section, up to the next `## ` heading; the rest
 * of the file is left byte for byte.
 */
export const updateReadme = (readmePath: string, section: string): void => {
  const text = readFileSync(readmePath, "utf8")
  const heading = "## Benchmarks"
  const body = `${heading}\n\n${section.trim()}\n`
  const start = text.search(/^## Benchmarks[ \t]*$/m)
  if (start === -1) {
    writeFileSync(readmePath, `${text.replace(/\s*$/, "")}\n\n${body}`)
    return
  }
  const after = text.slice(start + heading.length)
  const next = after.search(/^## /m)
  const rest = next === -1 ? "" : `\n${after.slice(next)}`
  writeFileSync(readmePath, `${text.slice(0, start)}${body}${rest}`)
}
