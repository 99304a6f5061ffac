// `pnpm demo [args]`: runs the demo CLI's bundle (apps/demo/dist/main.js) with plain node, after
// rebuilding it when a source file is newer than the bundle (so a fresh clone needs no `pnpm build`).
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, statSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const bundle = join(root, "apps", "demo", "dist", "main.js")
const sources = ["apps/demo/src", "apps/demo/package.json", "packages/core/src", "packages/cache/src", "packages/sandbox/src"]

const newest = (path) => {
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))))
}

if (!existsSync(bundle) || Math.max(...sources.map((s) => newest(join(root, s)))) > statSync(bundle).mtimeMs) {
  process.stderr.write("(building the demo bundle)\n")
  execFileSync(join(root, "node_modules", ".bin", "tsx"), [join(root, "scripts", "build.ts"), "--only", "demo"], {
    stdio: ["ignore", "ignore", "inherit"]
  })
}
await import(pathToFileURL(bundle).href)
