/** The table, the JSON file under bench/results/ and the README's "## Benchmarks" section. */
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { cpus, totalmem } from "node:os"
import { join } from "node:path"
import { fallbackRows } from "./Fallback.js"
import { steadyRateRows } from "./SteadyRate.js"
import { round } from "./Stats.js"
import type { BenchConfig, RetrieveFigures, RssFigures, SuiteResults, SyncFigures } from "./Suite.js"
import type { UploadFigures } from "./UploadRss.js"

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

/** Figure 7: the median growth of the upload children, the file size in the label. */
export const uploadFigure = (upload: UploadFigures): Figure => {
  const growth = mb(upload.medianGrowthBytes)
  return {
    figure: `7. Transcript upload + attach, ${mb(upload.sizeBytes).toFixed(0)} MB file: peak RSS growth (fresh child, median of ${upload.runs.length}; max ${
      mb(upload.maxGrowthBytes).toFixed(1)
    } MB)`,
    unit: "MB",
    ours: growth,
    baseline: null,
    ratio: null,
    target: "< 30 MB",
    pass: growth < 30
  }
}

const syncFigures = (sync: SyncFigures, concurrency: number): Array<Figure> => {
  const ratio = sync.oursMedianMs / sync.baselineMedianMs
  const cpuRatio = sync.oursCpuMsPer1000 / sync.baselineCpuMsPer1000
  return [
    {
      figure: `1. Full sync, ${k(sync.meetings)} meetings, concurrency ${concurrency} (median of ${sync.ours.length})`,
      unit: "s",
      ours: sync.oursMedianMs / 1000,
      baseline: sync.baselineMedianMs / 1000,
      ratio,
      target: "≤ 1.2x",
      pass: ratio <= 1.2
    },
    {
      figure: `1. Full sync: client CPU (user + sys) per 1,000 meetings (median of ${sync.ours.length})`,
      unit: "ms",
      ours: sync.oursCpuMsPer1000,
      baseline: sync.baselineCpuMsPer1000,
      ratio: cpuRatio,
      target: "–",
      pass: true
    },
    {
      figure: `1. Sync without the network (the same pages held in memory, parsed): CPU per 1,000 meetings (median of ${sync.offline.oursCpuMs.length})`,
      unit: "ms",
      ours: sync.offline.oursCpuMsPer1000,
      baseline: sync.offline.baselineCpuMsPer1000,
      ratio: sync.offline.oursCpuMsPer1000 / sync.offline.baselineCpuMsPer1000,
      target: "context",
      pass: true
    }
  ]
}

const retrieveFigures = (retrieve: RetrieveFigures, meetings: number): Array<Figure> => {
  const out: Array<Figure> = []
  const row = (figure: string, o: number, b: number, limit: number): Figure => ({
    figure,
    unit: "µs",
    ours: o * 1000,
    baseline: b * 1000,
    ratio: o / b,
    target: `≤ ${limit}x`,
    pass: o / b <= limit
  })
  out.push(row(`2. Cached retrieve by id (CacheFirst), uniform over all ${k(meetings)}, p50`, retrieve.ours.p50Ms, retrieve.baseline.p50Ms, 1.5))
  out.push(row(`2. Cached retrieve by id (CacheFirst), uniform over all ${k(meetings)}, p99`, retrieve.ours.p99Ms, retrieve.baseline.p99Ms, 2))
  const hot = retrieve.hotSet
  if (hot !== null) {
    out.push(row(`2. Cached retrieve by id, ids from a working set of ${k(hot.size)}, p50`, hot.ours.p50Ms, hot.baseline.p50Ms, 1.5))
    out.push(row(`2. Cached retrieve by id, ids from a working set of ${k(hot.size)}, p99`, hot.ours.p99Ms, hot.baseline.p99Ms, 2))
  }
  return out
}

const rssFigures = (rss: ReadonlyArray<RssFigures>): Array<Figure> => {
  const out: Array<Figure> = []
  for (const s of rss) {
    out.push({
      figure: `4. Peak RSS, sync of ${k(s.meetings)} (fresh process; CPU ${s.ours.cpuMsPer1000.toFixed(0)} ms / 1k meetings${
        s.baseline === null ? "" : `, baseline ${s.baseline.cpuMsPer1000.toFixed(0)}`
      })`,
      unit: "MB",
      ours: mb(s.ours.maxRssBytes),
      baseline: s.baseline === null ? null : mb(s.baseline.maxRssBytes),
      ratio: s.baseline === null ? null : s.ours.maxRssBytes / s.baseline.maxRssBytes,
      target: "< 160 MB",
      pass: mb(s.ours.maxRssBytes) < 160
    })
    if (s.baselineLoaded !== null) {
      out.push({
        figure: `4. Peak RSS, sync of ${k(s.meetings)}, beside the baseline with our modules loaded, never used`,
        unit: "MB",
        ours: mb(s.ours.maxRssBytes),
        baseline: mb(s.baselineLoaded.maxRssBytes),
        ratio: s.ours.maxRssBytes / s.baselineLoaded.maxRssBytes,
        target: "context",
        pass: true
      })
    }
  }
  const smallest = rss[0]
  const largest = rss[rss.length - 1]
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
      target: "≤ 1.15x",
      pass: growth <= 1.15
    })
    if (largest.baselineLoaded !== null && smallest.baselineLoaded !== null) {
      out.push({
        figure: `4. Peak RSS growth, ${k(largest.meetings)} / ${k(smallest.meetings)}, beside the baseline with our modules loaded`,
        unit: "x",
        ours: growth,
        baseline: largest.baselineLoaded.maxRssBytes / smallest.baselineLoaded.maxRssBytes,
        ratio: null,
        target: "context",
        pass: true
      })
    }
  }
  return out
}

export const figures = (r: SuiteResults, config: Pick<BenchConfig, "concurrency" | "rate" | "queryLimit">): Array<Figure> => {
  const out: Array<Figure> = []
  if (r.sync !== null) out.push(...syncFigures(r.sync, config.concurrency))
  if (r.retrieve !== null && r.sync !== null) out.push(...retrieveFigures(r.retrieve, r.sync.meetings))
  if (r.query !== null) {
    out.push({
      figure: `3. Query date range + organizer, ${config.queryLimit} results, ${k(r.query.cachedMeetings)} cached, p50 (baseline: same SQL raw)`,
      unit: "ms",
      ours: r.query.ours.p50Ms,
      baseline: r.query.rawSql.p50Ms,
      ratio: r.query.ours.p50Ms / r.query.rawSql.p50Ms,
      target: "< 5 ms",
      pass: r.query.ours.p50Ms < 5
    })
  }
  out.push(...rssFigures(r.rss))
  const rl = r.rateLimited
  if (rl !== null) {
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
  }
  const cold = r.coldStart
  if (cold !== null) {
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
  }
  if (r.upload !== null) out.push(uploadFigure(r.upload))
  if (r.fallback !== null) out.push(...fallbackRows(r.fallback))
  if (r.steadyRate !== null) out.push(...steadyRateRows(r.steadyRate))
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
