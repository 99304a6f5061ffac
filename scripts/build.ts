/**
 * `pnpm build`: what the packages publish and the demo CLI's bin.
 *
 * - core, sandbox, cache: `tsc -b tsconfig.build.json` into each `dist/` (ESM `.js` with source maps,
 *   `.d.ts` with declaration maps). `dist/` is wiped first, so a module deleted from `src` never
 *   ships from an old build.
 * - the sandbox's bin `dist/lightfield-sandbox.js` (a shebang line importing the compiled `bin.js`).
 * - apps/demo: one esbuild bundle run by plain `node` (`apps/demo/dist/main.js`); the modules only
 *   some commands need are split into chunks loaded on demand, so `--help` stays quick.
 *
 * `pnpm build --clean` only removes the outputs; `--only demo` rebuilds just the demo bundle
 * (`--outdir <dir>` writes it elsewhere: the demo's tests bundle into a folder of their own).
 */
import { execFileSync } from "node:child_process"
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const libraries = ["core", "sandbox", "cache"] as const
const demoDir = join(root, "apps", "demo")

const clean = () => {
  for (const name of libraries) {
    rmSync(join(root, "packages", name, "dist"), { recursive: true, force: true })
    rmSync(join(root, "packages", name, ".tsbuildinfo", "build.tsbuildinfo"), { force: true })
  }
  rmSync(join(demoDir, "dist"), { recursive: true, force: true })
}

const buildLibraries = () => {
  execFileSync(join(root, "node_modules", ".bin", "tsc"), ["-b", join(root, "tsconfig.build.json")], {
    stdio: "inherit"
  })
  const bin = join(root, "packages", "sandbox", "dist", "lightfield-sandbox.js")
  writeFileSync(
    bin,
    "#!/usr/bin/env node\n// The `lightfield-sandbox` bin (see bin.js for its options).\nimport \"./bin.js\"\n"
  )
  chmodSync(bin, 0o755)
}

const buildDemo = async (outdir: string = join(demoDir, "dist")) => {
  const esbuild = await import("esbuild")
  rmSync(outdir, { recursive: true, force: true })
  mkdirSync(outdir, { recursive: true })
  await esbuild.build({
    absWorkingDir: demoDir,
    entryPoints: { main: join(demoDir, "src", "main.ts") },
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    outdir,
    chunkNames: "chunks/[name]-[hash]",
    sourcemap: true,
    // The native addon is loaded from apps/demo/node_modules at run time.
    external: ["better-sqlite3"],
    // CommonJS dependencies bundled into ESM still call `require` for Node built-ins.
    banner: {
      js: "#!/usr/bin/env node\nimport { createRequire as __lfCreateRequire } from 'node:module'; const require = __lfCreateRequire(import.meta.url);"
    },
    logLevel: "warning"
  })
  chmodSync(join(outdir, "main.js"), 0o755)
}

const args = process.argv.slice(2)
if (args.includes("--clean")) {
  clean()
} else if (args.includes("--only") && args[args.indexOf("--only") + 1] === "demo") {
  const outdir = args.includes("--outdir") ? args[args.indexOf("--outdir") + 1] : undefined
  await buildDemo(outdir === undefined ? undefined : resolve(outdir))
} else {
  clean()
  buildLibraries()
  await buildDemo()
}
