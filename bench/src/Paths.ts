/** Where things are: the repository root, the tsx loader, temp folders (and removing a database file). */
import { createRequire } from "node:module"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))

/** `/…/bench` */
export const benchDir = resolve(here, "..")
/** The monorepo root. */
export const repoRoot = resolve(benchDir, "..")

/** `--import` value that makes plain `node` run TypeScript (tsx's loader), as a file URL. */
export const tsxLoader: string = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href

/** Node arguments to run a TypeScript file through tsx without tsx's extra CLI process. */
export const tsNodeArgs = (script: string, args: ReadonlyArray<string> = []): Array<string> => [
  "--import",
  tsxLoader,
  script,
  ...args
]

export const makeTempDir = (label: string): string => mkdtempSync(join(tmpdir(), `lf-bench-${label}-`))

/** Remove an SQLite file with its WAL and shared-memory files. */
export const removeDb = (file: string): void => {
  for (const suffix of ["", "-wal", "-shm"]) rmSync(`${file}${suffix}`, { force: true })
}
