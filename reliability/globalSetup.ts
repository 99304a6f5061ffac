/**
 * Global setup of the reliability suite (runs once, in the vitest main process): picks the run seed
 * and the scale, creates the folder the scenarios write their records to, and prints the summary
 * table when the run ends.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { TestProject } from "vitest/node"
import * as Summary from "./lib/Summary.js"

declare module "vitest" {
  export interface ProvidedContext {
    reliabilitySeed: number
    reliabilityScale: "ci" | "large"
    reliabilityResults: string
  }
}

export default function setup(project: TestProject) {
  const started = Date.now()
  const fromEnv = Number(process.env["RELIABILITY_SEED"])
  const seed = Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : (Date.now() % 2_000_000_000) + 1
  const scale = process.env["RELIABILITY_SCALE"] === "large" ? "large" : "ci"
  const results = mkdtempSync(join(tmpdir(), "lf-reliability-results-"))
  let unhandled = 0
  const onUnhandled = () => {
    unhandled++
  }
  process.on("unhandledRejection", onUnhandled)
  project.provide("reliabilitySeed", seed)
  project.provide("reliabilityScale", scale)
  project.provide("reliabilityResults", results)
  console.log(`reliability: seed ${seed}, scale ${scale} (reproduce with RELIABILITY_SEED=${seed})`)
  return () => {
    process.off("unhandledRejection", onUnhandled)
    const records = Summary.readAll(results)
    console.log(Summary.format(records, { seed, scale, millis: Date.now() - started, unhandledRejections: unhandled }))
    rmSync(results, { recursive: true, force: true })
  }
}
