/**
 * The README's "Runnable example" (issue 15): type-checked under strict flags, then run as a user
 * would (its own process, configured by the environment) against the sandbox, with meetings and
 * with none. It must reach the sandbox through `LIGHTFIELD_BASE_URL` and end with exit code 0.
 */
import { assert, describe, it } from "@effect/vitest"
import { Sandbox } from "@lightfield-effect/sandbox"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const tsx = path.resolve(packageDir, "../../node_modules/.bin/tsx")

/** The first `ts` block after the "Runnable example" heading. */
const example = (): string => {
  const readme = readFileSync(path.join(packageDir, "README.md"), "utf8")
  const section = readme.slice(readme.indexOf("## Runnable example"))
  const block = /```ts\n([\s\S]*?)```/.exec(section)
  if (block === null) throw new Error("no ts block in the Runnable example section")
  return block[1]!
}

/** A folder inside the package (so the example imports `@lightfield-effect/cache` by name), removed afterwards. */
const exampleDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(path.join(packageDir, ".readme-example-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const run = (file: string, env: Record<string, string>) =>
  Effect.async<{ readonly code: number; readonly stdout: string; readonly stderr: string }>((resume) => {
    execFile(tsx, [file], { cwd: path.dirname(file), env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resume(Effect.succeed({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr }))
    })
  })

describe("README runnable example", () => {
  it.scoped("type-checks under strict flags", () =>
    Effect.gen(function*() {
      const file = path.join(yield* exampleDir, "example.ts")
      writeFileSync(file, example())
      const program = ts.createProgram([file], {
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        target: ts.ScriptTarget.ES2022,
        strict: true,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        noPropertyAccessFromIndexSignature: true,
        skipLibCheck: true,
        noEmit: true,
        types: ["node"]
      })
      const problems = ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) =>
        ts.flattenDiagnosticMessageText(d.messageText, "\n"))
      assert.deepStrictEqual(problems, [])
    }), { timeout: 60_000 })

  for (const meetings of [30, 0]) {
    it.scopedLive(`[regression] runs against LIGHTFIELD_BASE_URL and ends well (${meetings} meetings)`, () =>
      Effect.gen(function*() {
        const dir = yield* exampleDir
        const file = path.join(dir, "example.ts")
        writeFileSync(file, example())
        const sandbox = yield* Sandbox.make({ meetings, rateLimit: false })
        const result = yield* run(file, {
          LIGHTFIELD_API_KEY: sandbox.keys.admin,
          LIGHTFIELD_BASE_URL: yield* sandbox.baseUrl,
          LIGHTFIELD_CACHE_PATH: path.join(dir, "meetings.db")
        })
        assert.strictEqual(result.code, 0, result.stderr)
        assert.include(result.stdout, `synced ${meetings} (complete: true)`)
        if (meetings === 0) assert.include(result.stdout, "no recent meeting to retrieve")
        assert.match(result.stdout, /created \S+/)
        // It talked to the sandbox, not to the production host.
        const requests = yield* sandbox.requests
        assert.isTrue(requests.some((r) => r.method === "POST" && r.path === "/v1/meetings"))
      }), { timeout: 90_000 })
  }
})
