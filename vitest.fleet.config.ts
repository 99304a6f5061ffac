import { defineConfig } from "vitest/config"

// The fleet suite (`pnpm test:fleet`): the cache on a real PostgreSQL (127.0.0.1:5432, or
// LIGHTFIELD_TEST_PG_ADMIN_URL) and Redis (127.0.0.1:6379, or LIGHTFIELD_TEST_REDIS_URL), and
// what several instances share. Each test makes a database (or Redis key prefix) of its own and
// drops it. It FAILS (globalSetup) when the server cannot be reached: it never skips.
//
// Two kinds of files:
// - `packages/*/test/fleet/**/*.test.ts`: PostgreSQL/Redis-only tests (`pnpm test` excludes them);
// - `fleet/**/*.test.ts`: several worker processes on one mirror and one Redis budget;
// - `behaviour`: the cache's behaviour suites, parameterised by database (`test/databases.ts`),
//   run here on PostgreSQL only (LIGHTFIELD_TEST_DATABASES=postgres); `pnpm test` runs them on SQLite.
const behaviour = [
  "MeetingRows",
  "MeetingsCache",
  "Sync",
  "Outbox",
  "Delete",
  "Principal",
  "DamagedRows",
  "TranscriptSteps",
  "Sandbox",
  "Hardening",
  "MeetingsStack",
  "Watch",
  "Logs",
  "Options",
  "WireRows"
].map((name) => `packages/cache/test/${name}.test.ts`)

process.env["LIGHTFIELD_TEST_DATABASES"] = "postgres"

export default defineConfig({
  test: {
    // An inline project, so the root `vitest.workspace.ts` (the unit tests) is not picked up.
    projects: [
      {
        extends: true,
        test: {
          name: "fleet",
          include: ["packages/*/test/fleet/**/*.test.ts", "fleet/**/*.test.ts", ...behaviour],
          setupFiles: ["./setupTests.ts"],
          globalSetup: ["./packages/cache/test/fleet/globalSetup.ts", "./fleet/globalSetup.ts"],
          env: { LIGHTFIELD_TEST_DATABASES: "postgres" }
        }
      }
    ],
    // Two files at a time: every test holds a few connections of the shared server.
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    sequence: { concurrent: false },
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
