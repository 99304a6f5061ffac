/**
 * `pnpm build`: what the packages publish and the demo CLI's bin.
 *
 * - core, sandbox, cache: `tsc -b tsconfig.build.json` into each `dist/` (ESM `.js` with source maps,
 *   `.d.ts` with declaration maps). `dist/` is wiped first, so a module deleted from `src` never
 *   ships from an old build.
 * - the sandbox's bin `dist/lightfield-sandbox.js` (a shebang line importing the compiled `bin.js`).
 * - apps/demo: one esbuild bundle (`apps/demo/dist/main.cjs`, whitespace and syntax minified: a
 *   third less to read at every start) and its bin `main.js`, run by plain `node` with V8's code
 *   cache (see `demoLoader`); the modules only some commands need are initialised when a command
 *   imports them, so `--help` stays quick.
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

/**
 * The demo's bin `main.js`: loads the bundle `main.cjs` through `vm.Script` with V8's code cache
 * (`main.cjs.cache`, written by the first run, here at build time), so a start skips compiling the
 * 4 MB bundle; what only some commands need stays in lazily initialised modules inside it (esbuild
 * keeps each dynamically imported module behind an init function). A cache that V8 rejects (another
 * Node version) is rewritten when the folder is writable, else ignored. On Node 22 this is what
 * `module.enableCompileCache()` does; Node 20 has no such switch for ES modules.
 */
const demoLoader = `#!/usr/bin/env node
// lightfield-demo: runs main.cjs with V8's code cache (see scripts/build.ts).
import Module, { createRequire } from "node:module"
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Script } from "node:vm"

const file = fileURLToPath(new URL("./main.cjs", import.meta.url))
const cacheFile = \`\${file}.cache\`
let cachedData
try {
  cachedData = readFileSync(cacheFile)
} catch {
  cachedData = undefined
}
const script = new Script(Module.wrap(readFileSync(file, "utf8")), { filename: file, cachedData })
if (cachedData === undefined || script.cachedDataRejected === true) {
  process.once("exit", () => {
    try {
      writeFileSync(cacheFile, script.createCachedData())
    } catch {
      // A read-only install: run without the cache.
    }
  })
}
const module = { exports: {} }
script.runInThisContext()(module.exports, createRequire(file), module, file, fileURLToPath(new URL(".", import.meta.url)))
`

const buildDemo = async (outdir: string = join(demoDir, "dist")) => {
  const esbuild = await import("esbuild")
  rmSync(outdir, { recursive: true, force: true })
  mkdirSync(outdir, { recursive: true })
  await esbuild.build({
    absWorkingDir: demoDir,
    entryPoints: { main: join(demoDir, "src", "main.ts") },
    bundle: true,
    format: "cjs",
    platform: "node",
    target: "node20",
    outdir,
    outExtension: { ".js": ".cjs" },
    sourcemap: true,
    minifyWhitespace: true,
    minifySyntax: true,
    // The native addon is loaded from apps/demo/node_modules at run time.
    external: ["better-sqlite3"],
    // main.ts reads its package.json next to it (`import.meta.url`, which CommonJS lacks).
    define: { "import.meta.url": "__lfImportMetaUrl" },
    banner: { js: "const __lfImportMetaUrl = require(\"node:url\").pathToFileURL(__filename).href;" },
    logLevel: "warning"
  })
  const bin = join(outdir, "main.js")
  writeFileSync(bin, demoLoader)
  chmodSync(bin, 0o755)
  // The first run writes the code cache.
  execFileSync(process.execPath, [bin, "--version"], { stdio: "ignore" })
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
