/**
 * Runs the whole harness at a tiny size so it does not rot. No timing assertions: only that every
 * measurement ran and produced sane figures.
 */
import { assert, describe, it } from "@effect/vitest"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { figures, table, updateReadme } from "../src/Report.js"
import type { BenchConfig } from "../src/Suite.js"
import { benchParts, runs, runSuite } from "../src/Suite.js"

const smoke: BenchConfig = {
  syncMeetings: 200,
  concurrency: 4,
  syncReps: 1,
  retrieveWarmupOps: 50,
  retrieveOps: 200,
  retrieveReps: 1,
  retrieveHotSet: 50,
  rssSizes: [200, 300],
  rssBaseline: true,
  queryWarmup: 5,
  queryIterations: 20,
  queryLimit: 100,
  rateLimitedMeetings: 200,
  rate: 25,
  cliRuns: 1,
  fallbackRuns: 1,
  steadyRateMeetings: 200,
  log: () => {}
}

const positive = (x: number, what: string) => assert.isTrue(Number.isFinite(x) && x > 0, `${what} = ${x}`)

describe("bench harness", () => {
  it("runs every measurement at a tiny size", { timeout: 240_000 }, async () => {
    const r = await runSuite(smoke)
    const present = <A>(x: A | null, what: string): A => {
      assert.isNotNull(x, `${what} ran`)
      return x!
    }
    const sync = present(r.sync, "sync")
    const retrieve = present(r.retrieve, "retrieve")
    const query = present(r.query, "query")
    const rateLimited = present(r.rateLimited, "rate-limited")
    const coldStart = present(r.coldStart, "cold start")

    // 1. Sync: both contenders stored exactly what the server has.
    assert.strictEqual(sync.serverCount, 200)
    assert.strictEqual(sync.ours.length, 1)
    assert.strictEqual(sync.baseline.length, 1)
    for (const run of [...sync.ours, ...sync.baseline]) {
      positive(run.elapsedMs, "sync ms")
      assert.strictEqual(run.stored, sync.serverCount)
      assert.strictEqual(run.pages, 8)
    }
    for (const ms of [...sync.oursCpuMs, ...sync.baselineCpuMs]) positive(ms, "sync CPU ms")
    positive(sync.oursCpuMsPer1000, "sync CPU per 1k")
    assert.strictEqual(sync.offline.oursCpuMs.length, 1)
    assert.strictEqual(sync.offline.baselineCpuMs.length, 1)
    for (const ms of [...sync.offline.oursCpuMs, ...sync.offline.baselineCpuMs]) positive(ms, "offline sync CPU ms")
    assert.deepStrictEqual([...sync.offline.oursStored, ...sync.offline.baselineStored], [sync.serverCount, sync.serverCount])

    // 2. Retrieve.
    assert.strictEqual(retrieve.hotSet?.size !== undefined && retrieve.hotSet.size > 0, true)
    for (const l of [retrieve.ours, retrieve.baseline, retrieve.hotSet!.ours, retrieve.hotSet!.baseline]) {
      positive(l.p50Ms, "retrieve p50")
      assert.isTrue(l.p99Ms >= l.p50Ms)
    }

    // 3. Query over the largest cache: full answers up to the limit, from a cache of the server's size.
    assert.strictEqual(query.cachedMeetings, 300)
    positive(query.ours.p50Ms, "query p50")
    positive(query.rawSql.p50Ms, "raw query p50")
    assert.isTrue(query.resultSizes.every((n) => n > 0 && n <= smoke.queryLimit))

    // 4. RSS in fresh children, one per size, every row stored.
    assert.deepStrictEqual(r.rss.map((s) => s.meetings), [200, 300])
    for (const s of r.rss) {
      assert.strictEqual(s.ours.stored, s.meetings)
      assert.strictEqual(s.baseline?.stored, s.meetings)
      assert.strictEqual(s.baselineLoaded?.stored, s.meetings)
      // The loaded baseline did load the stack: effect alone adds about 40 MB of RSS on Node 20.
      assert.isAbove(s.baselineLoaded!.rssBeforeSyncBytes, s.baseline!.rssBeforeSyncBytes + 20 * 2 ** 20)
      positive(s.ours.maxRssBytes, "maxRSS")
      positive(s.ours.sampledPeakRssBytes, "sampled RSS")
      positive(s.ours.cpuMs, "child CPU ms")
    }

    // 5. Rate-limited: no 429s, everything stored, a request rate was computed.
    assert.strictEqual(rateLimited.status429, 0)
    assert.strictEqual(rateLimited.otherErrors, 0)
    assert.strictEqual(rateLimited.stored, 200)
    assert.strictEqual(rateLimited.listRequests, 8)
    positive(rateLimited.fractionFromLog, "rate fraction")

    // 6. CLI cold start: every command ran and was timed.
    assert.strictEqual(coldStart.runs, 1)
    const cpu = existsSync("/proc/self/stat") ? [coldStart.helpCpuMs, coldStart.getCpuMs] : []
    for (const xs of [coldStart.nodeMs, coldStart.helpMs, coldStart.getMs, ...cpu]) {
      assert.strictEqual(xs.length, 1)
      positive(xs[0]!, "cold start ms")
    }

    // 8. Fallback: every timed read of ours answered from the cache.
    assert.isTrue(r.fallback !== null && r.fallback.stopped.allFromCache && r.fallback.slow.allFromCache)
    positive(r.fallback!.stopped.oursMedianMs, "fallback ms")

    // 9. Steady rate: no 429s, everything stored, a rate and a CPU share computed.
    assert.strictEqual(r.steadyRate?.status429, 0)
    assert.strictEqual(r.steadyRate?.stored, 200)
    positive(r.steadyRate!.fractionWhole, "steady rate fraction")
    positive(r.steadyRate!.cpuShare, "CPU share")

    const rows = figures(r, smoke)
    assert.isTrue(rows.length >= 10)
    assert.isTrue(rows.some((row) => row.figure.startsWith("6. CLI cold start, --help")))
    for (const row of rows) positive(row.ours + 1, row.figure)
    assert.include(table(rows), "| Figure")
  })

  it("--only runs the chosen parts and the parts they read", () => {
    assert.isTrue(benchParts.every((part) => runs({}, part)))
    const only = { only: ["retrieve", "query"] as const }
    assert.deepStrictEqual(benchParts.filter((part) => runs(only, part)), ["sync", "retrieve", "rss", "query"])
    assert.deepStrictEqual(benchParts.filter((part) => runs({ only: ["rate"] }, part)), ["rate"])
  })

  it("replaces only the README's Benchmarks section", () => {
    const dir = mkdtempSync(join(tmpdir(), "lf-bench-readme-"))
    try {
      const file = join(dir, "README.md")
      writeFileSync(file, "# T\n\n## A\n\na\n")
      updateReadme(file, "first")
      assert.strictEqual(readFileSync(file, "utf8"), "# T\n\n## A\n\na\n\n## Benchmarks\n\nfirst\n")
      writeFileSync(file, `${readFileSync(file, "utf8")}\n## Z\n\nz\n`)
      updateReadme(file, "second")
      assert.strictEqual(readFileSync(file, "utf8"), "# T\n\n## A\n\na\n\n## Benchmarks\n\nsecond\n\n## Z\n\nz\n")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
