/**
 * 7. A 50 MB transcript through `Transcripts.attach` (files API create, streamed upload, complete,
 * meeting update) in a fresh child (`upload-child.ts`) against a sandbox in its own process: the
 * child's peak RSS growth over its RSS after a small warm-up attach, sampled every 5 ms. The
 * upload must stream (target < 30 MB growth for a 50 MB file).
 */
import { execFileSync } from "node:child_process"
import { join } from "node:path"
import { benchDir } from "./Paths.js"
import type { SandboxProcess } from "./SandboxProcess.js"

export interface UploadFigures {
  readonly sizeBytes: number
  readonly rssBeforeBytes: number
  readonly peakRssBytes: number
  readonly growthBytes: number
  /** Peak `heapUsed` and `arrayBuffers` during the upload (to tell buffering from GC slack). */
  readonly peakHeapUsedBytes: number
  readonly peakArrayBuffersBytes: number
  readonly ms: number
}

export const measureUploadRss = (sandbox: SandboxProcess, sizeBytes: number): UploadFigures => {
  const out = execFileSync(
    process.execPath,
    ["--expose-gc", "--import", "tsx", join(benchDir, "upload-child.ts"), sandbox.baseUrl, sandbox.adminKey, String(sizeBytes)],
    { cwd: benchDir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 300_000 }
  )
  return JSON.parse(out.trim().split("\n").pop()!) as UploadFigures
}
