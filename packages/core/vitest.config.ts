import { configDefaults, defineProject, mergeConfig } from "vitest/config"
import shared from "../../vitest.shared.js"

// `test/fleet/` needs Redis: it runs in `pnpm test:fleet` (vitest.fleet.config.ts), never here.
export default mergeConfig(shared, defineProject({ test: { exclude: [...configDefaults.exclude, "test/fleet/**"] } }))
