/**
 * 7. A 50 MB transcript through `Transcripts.attach` (files API create, streamed upload, complete,
 * meeting update) in a fresh child (`upload-child.ts`) against a sandbox in its own process: the
 * child's peak RSS growth (the largest rise over the lowest RSS before it), sampled every 5 ms from
 * 250 ms after a small warm-up attach and a full GC. Three children in a row; the figure is the median growth (the largest beside it), since
 * one run's growth depends on when V8 happens to collect. The upload must stream (target < 30 MB
 * growth for a 50 MB file).
 */
import { execFileSync } from "node:child_process"
import { join } from "node:path"
import { benchDir } from "./Paths.js"
import type { SandboxProcess } from "./SandboxProcess.js"
import { withSandbox } from "./SandboxProcess.js"
import { median } from "./Stats.js"

/** One child's figures. */
export interface UploadRun {
  readonly sizeBytes: number
  readonly rssBeforeBytes: number
  readonly peakRssBytes: number
  readonly growthBytes: number
  /** Peak `heapUsed` and `arrayBuffers` during the upload (to tell buffering from GC slack). */
  readonly peakHeapUsedBytes: number
  readonly peakArrayBuffersBytes: number
  readonly ms: number
}

export interface UploadFigures {
  readonly sizeBytes: number
  readonly runs: ReadonlyArray<UploadRun>
  readonly medianGrowthBytes: number
  readonly maxGrowthBytes: number
  readonly medianMs: number
}

/** Fresh children per figure. */
export const uploadRuns = 3

const runChild = (sandbox: SandboxProcess, sizeBytes: number): UploadRun => {
  const out = execFileSync(
    process.execPath,
    ["--expose-gc", "--import", "tsx", join(benchDir, "upload-child.ts"), sandbox.baseUrl, sandbox.adminKey, String(sizeBytes)],
    { cwd: benchDir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 300_000 }
  )
  return JSON.parse(out.trim().split("\n").pop()!) as UploadRun
}

export const measureUploadRss = (sandbox: SandboxProcess, sizeBytes: number, runs = uploadRuns): UploadFigures => {
  const all = Array.from({ length: runs }, () => runChild(sandbox, sizeBytes))
  const growth = all.map((r) => r.growthBytes)
  return {
    sizeBytes,
    runs: all,
    medianGrowthBytes: median(growth),
    maxGrowthBytes: Math.max(...growth),
    medianMs: median(all.map((r) => r.ms))
  }
}

/** The figure with its own sandbox (5 meetings, no rate limit), with progress lines. */
export const measureUpload = async (sizeBytes: number, log: (line: string) => void): Promise<UploadFigures> => {
  log(`[7/7] transcript upload of ${(sizeBytes / 2 ** 20).toFixed(0)} MB, peak RSS growth (${uploadRuns} fresh children)`)
  const upload = await withSandbox({ meetings: 5, rate: 0 }, async (sandbox) => measureUploadRss(sandbox, sizeBytes))
  const mbs = (bytes: number) => (bytes / 2 ** 20).toFixed(1)
  log(
    `  RSS growth ${upload.runs.map((r) => mbs(r.growthBytes)).join(", ")} MB (median ${mbs(upload.medianGrowthBytes)}), ` +
      `peak arrayBuffers ${upload.runs.map((r) => mbs(r.peakArrayBuffersBytes)).join(", ")} MB, median ${upload.medianMs.toFixed(0)} ms`
  )
  return upload
}
