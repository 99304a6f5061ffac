import { defineConfig } from "vitest/config"

// Shared by every package: tests import workspace packages straight from their `src` (the
// packages' `exports` point there), so no build step is needed before `pnpm test`.
export default defineConfig({
  test: {
    setupFiles: [new URL("./setupTests.ts", import.meta.url).pathname],
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    sequence: { concurrent: false }
  }
})
