/** The fleet figures (10 and 11) as table rows, and how they replace their rows in the README's table. */
import type { FleetFigures } from "./Fleet.js"
import type { Figure } from "./Report.js"

const k = (n: number) => (n % 1000 === 0 ? `${n / 1000}k` : String(n))

export const fleetFigures = (f: FleetFigures): Array<Figure> => {
  const pg = f.pgSync
  const pgRatio = pg.oursMedianMs / pg.baselineMedianMs
  const w = f.workers
  const requests = w.fleetListRequests / w.soloListRequests
  const wall = w.fleetMs / w.soloMs
  return [
    {
      figure: `10. Full sync, ${k(pg.meetings)} meetings into PostgreSQL (baseline: plain pg, one upsert per page; median of ${pg.ours.length})`,
      unit: "s",
      ours: pg.oursMedianMs / 1000,
      baseline: pg.baselineMedianMs / 1000,
      ratio: pgRatio,
      target: "≤ 2x",
      pass: pgRatio <= 2
    },
    {
      figure: `11. ${w.workers} worker processes sync ${k(w.meetings)} at once (one PG mirror, Redis budget, 25/s): list requests (baseline: one sync)`,
      unit: "",
      ours: w.fleetListRequests,
      baseline: w.soloListRequests,
      ratio: requests,
      target: "≤ 1.05x",
      pass: requests <= 1.05
    },
    {
      figure: `11. ${w.workers} workers at once: 429 responses (of ${w.fleetListRequests} list requests)`,
      unit: "",
      ours: w.fleet429,
      baseline: null,
      ratio: null,
      target: "0",
      pass: w.fleet429 === 0
    },
    {
      figure: `11. ${w.workers} workers at once: wall time (baseline: one worker alone; ${w.joined} joined the lease holder's scan)`,
      unit: "s",
      ours: w.fleetMs / 1000,
      baseline: w.soloMs / 1000,
      ratio: wall,
      target: "≤ 1.25x",
      pass: wall <= 1.25
    }
  ]
}

/** What the README says about figures 10 and 11 (one paragraph line, replaced on each run). */
export const fleetNote =
  "Figures 10 and 11 (`pnpm bench --only fleet` runs just these and replaces their rows): PostgreSQL at `LIGHTFIELD_BENCH_PG_URL` " +
  "(default 127.0.0.1:5432; a scratch database per sync), Redis at `LIGHTFIELD_BENCH_REDIS_URL`; 10 syncs into a fresh database " +
  "with our client at `rate: false` beside plain `pg` (the same crawl as the SQLite baseline, one multi-row upsert per page); " +
  "11 runs the fleet suite's worker (`fleet/child/worker.ts`) as separate processes against the sandbox at `--rate 25`."

/**
 * The README's `## Benchmarks` text with the rows of figures 10 and 11 replaced by `rows` (appended
 * to the table when it has none yet) and the note line replaced or added before "Raw figures".
 */
export const withFleetRows = (readme: string, rows: ReadonlyArray<string>): string => {
  const lines = readme.split("\n")
  const start = lines.findIndex((l) => /^## Benchmarks\s*$/.test(l))
  if (start === -1) return readme
  const endRel = lines.slice(start + 1).findIndex((l) => l.startsWith("## "))
  const end = endRel === -1 ? lines.length : start + 1 + endRel
  let section = lines.slice(start, end).filter((l) => !/^\| 1[01]\. /.test(l) && !l.startsWith("Figures 10 and 11"))
  const lastRow = section.reduce((at, l, i) => (l.startsWith("|") ? i : at), -1)
  section = lastRow === -1 ? [...section, ...rows] : [...section.slice(0, lastRow + 1), ...rows, ...section.slice(lastRow + 1)]
  const raw = section.findIndex((l) => l.startsWith("Raw figures"))
  if (raw !== -1) section.splice(raw, 0, fleetNote)
  return [...lines.slice(0, start), ...section, ...lines.slice(end)].join("\n")
}
