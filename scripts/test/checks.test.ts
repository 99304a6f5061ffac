/**
 * The CI checks under scripts/ on small fixture trees (`--root`): each finds what it must find, and
 * passes a tree without findings.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const scripts = join(dirname(fileURLToPath(import.meta.url)), "..")
const tsx = join(scripts, "..", "node_modules", ".bin", "tsx")

/** A temp tree with the given files (paths relative to it), removed afterwards. */
const withTree = async (files: Record<string, string>, f: (root: string) => Promise<void>) => {
  const root = mkdtempSync(join(tmpdir(), "lf-checks-"))
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true })
      writeFileSync(join(root, path), text)
    }
    await f(root)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

const run = (script: string, root: string) =>
  new Promise<{ code: number; out: string }>((resolve) => {
    execFile(tsx, [join(scripts, script), "--root", root], (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, out: stdout + stderr }))
  })

const manifest = JSON.stringify({ name: "@fixture/a", version: "0.0.0", type: "module" })
const doc = "/**\n * A thing.\n *\n * @since 0.1.0\n */\n"

describe("check:cycles", () => {
  it("reports a cycle through a type-only import and fails; passes once it is gone", { timeout: 60_000 }, async () => {
    const base = {
      "packages/a/package.json": manifest,
      "packages/a/src/Leaf.ts": "export const leaf = 1\n",
      "packages/a/src/X.ts": "import type { Y } from \"./Y.js\"\nimport { leaf } from \"./Leaf.js\"\nexport type X = { y?: Y; n: typeof leaf }\n"
    }
    await withTree({ ...base, "packages/a/src/Y.ts": "import type { X } from \"./X.js\"\nexport type Y = { x?: X }\n" }, async (root) => {
      const r = await run("check-cycles.ts", root)
      assert.strictEqual(r.code, 1, r.out)
      assert.include(r.out, "cycle (2 modules): packages/a/src/X.ts -> packages/a/src/Y.ts -> packages/a/src/X.ts")
      assert.include(r.out, "check:cycles: 0 passed, 1 failed")
    })
    await withTree({ ...base, "packages/a/src/Y.ts": "export type Y = { n: number }\n" }, async (root) => {
      const r = await run("check-cycles.ts", root)
      assert.strictEqual(r.code, 0, r.out)
      assert.include(r.out, "0 import cycles among 3 modules")
    })
  })
})

describe("check:docs", () => {
  it("counts exports without a doc comment in public modules, not in internal/; passes when all are documented", { timeout: 60_000 }, async () => {
    await withTree({
      "packages/a/package.json": manifest,
      "packages/a/src/index.ts": `${doc}export * as Thing from "./Thing.js"\n`,
      "packages/a/src/Thing.ts": `${doc}export const documented = 1\n\nexport const bare = 2\n\n// a line comment is not a doc comment\nexport interface Shape { readonly n: number }\n`,
      "packages/a/src/internal/hidden.ts": "export const hidden = 3\n"
    }, async (root) => {
      const r = await run("check-docs.ts", root)
      assert.strictEqual(r.code, 1, r.out)
      assert.include(r.out, "undocumented  packages/a/src/Thing.ts:8  const bare")
      assert.include(r.out, "undocumented  packages/a/src/Thing.ts:11  interface Shape")
      assert.notInclude(r.out, "hidden")
      assert.include(r.out, "2 undocumented exports in 1 of 2 public modules")
      assert.include(r.out, "check:docs: 1 passed, 1 failed")
    })
    await withTree({
      "packages/a/package.json": manifest,
      "packages/a/src/index.ts": `${doc}export * as Thing from "./Thing.js"\n`,
      "packages/a/src/Thing.ts": `${doc}export const documented = 1\n`
    }, async (root) => {
      const r = await run("check-docs.ts", root)
      assert.strictEqual(r.code, 0, r.out)
      assert.include(r.out, "check:docs: 2 passed, 0 failed")
    })
  })
})
