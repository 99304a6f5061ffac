import { defineConfig } from "vitest/config"

// The reliability suite (`pnpm test:reliability`): crash, fault, bad-input and privacy tests over a
// real sandbox on loopback, real SQLite files and SIGKILLed child processes. See README "Reliability".
// Larger size: `RELIABILITY_SCALE=large pnpm test:reliability` or `pnpm test:reliability --mode large`.
// Reproduce a run: `RELIABILITY_SEED=<seed printed by the run> pnpm test:reliability`.
export default defineConfig(({ mode }) => {
  if (mode === "large") process.env["RELIABILITY_SCALE"] = "large"
  const large = process.env["RELIABILITY_SCALE"] === "large"
  return {
    test: {
      // An inline project, so the root `vitest.workspace.ts` (the unit tests) is not picked up.
      projects: [
        {
          extends: true,
          test: {
            name: "reliability",
            include: ["reliability/**/*.test.ts"],
            setupFiles: ["./setupTests.ts"],
            globalSetup: ["./reliability/globalSetup.ts"]
          }
        }
      ],
      // One file at a time: the scenarios SIGKILL child processes and time them; they must not
      // compete with each other for the two cores.
      fileParallelism: false,
      sequence: { concurrent: false },
      pool: "forks",
      testTimeout: large ? 1_800_000 : 240_000,
      hookTimeout: large ? 600_000 : 120_000,
      teardownTimeout: 60_000
    }
  }
})
