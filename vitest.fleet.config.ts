import { defineConfig } from "vitest/config"

// The fleet suite (`pnpm test:fleet`): PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379,
// several processes. Never collected by `pnpm test` (Node only). The global setup fails the run
// when a server cannot be reached (so CI fails, never skips).
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "fleet",
          include: ["packages/*/test-fleet/**/*.test.ts", "fleet/**/*.test.ts"],
          setupFiles: ["./setupTests.ts"],
          globalSetup: ["./fleet/globalSetup.ts"]
        }
      }
    ],
    fileParallelism: false,
    sequence: { concurrent: false },
    pool: "forks",
    testTimeout: 120_000,
    hookTimeout: 60_000
  }
})
