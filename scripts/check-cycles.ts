/**
 * `pnpm check:cycles`: no import cycles in `packages/*\/src` (issue 11: "CI fails on any import cycle").
 *
 * The graph has an edge for every static `import`/`export … from` (type-only ones too: a cycle of
 * types is still two modules that cannot be read apart) that resolves, the way tsc resolves it
 * (NodeNext, the workspace packages' `exports`), to another file under `packages/*\/src`. Dynamic
 * `import()` is left out: it does not run while the module loads. Each strongly connected
 * component of more than one module (or a module importing itself) is a cycle, printed with one
 * path through it. One result per package; with `--json <file>` the counts go to .ci/run.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve, sep } from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"
import type { Outcome } from "./report.js"
import { finish } from "./report.js"

// `--root <dir>` checks another tree of the same shape (the checks' own tests use fixtures).
const rootArg = process.argv.indexOf("--root")
const root = rootArg === -1 ? join(dirname(fileURLToPath(import.meta.url)), "..") : resolve(process.argv[rootArg + 1]!)
const packagesDir = join(root, "packages")

const sourceFiles = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : []
  })

const packages = readdirSync(packagesDir).filter((p) => statSync(join(packagesDir, p, "src"), { throwIfNoEntry: false })?.isDirectory())
const files = packages.flatMap((p) => sourceFiles(join(packagesDir, p, "src")))
const inScope = new Set(files)

const options: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  allowImportingTsExtensions: false
}

/** Specifiers of the static imports and re-exports of one file. */
const staticSpecifiers = (file: string): ReadonlyArray<string> => {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true)
  return source.statements.flatMap((statement) =>
    (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
      statement.moduleSpecifier !== undefined && ts.isStringLiteral(statement.moduleSpecifier)
      ? [statement.moduleSpecifier.text]
      : ts.isImportEqualsDeclaration(statement) && ts.isExternalModuleReference(statement.moduleReference) &&
          ts.isStringLiteral(statement.moduleReference.expression)
      ? [statement.moduleReference.expression.text]
      : []
  )
}

const graph = new Map<string, ReadonlyArray<string>>()
for (const file of files) {
  const targets = staticSpecifiers(file).flatMap((specifier) => {
    const resolved = ts.resolveModuleName(specifier, file, options, ts.sys).resolvedModule?.resolvedFileName
    return resolved !== undefined && inScope.has(resolved) ? [resolved] : []
  })
  graph.set(file, [...new Set(targets)])
}

/** Tarjan's strongly connected components. */
const components = (): ReadonlyArray<ReadonlyArray<string>> => {
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const out: Array<Array<string>> = []
  const connect = (v: string) => {
    index.set(v, counter)
    low.set(v, counter++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const component: Array<string> = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      out.push(component)
    }
  }
  for (const v of graph.keys()) if (!index.has(v)) connect(v)
  return out
}

/** One path from `start` back to itself inside its component, for the report. */
const cyclePath = (start: string, members: ReadonlySet<string>): ReadonlyArray<string> => {
  const previous = new Map<string, string>()
  const queue = [start]
  while (queue.length > 0) {
    const v = queue.shift()!
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue
      if (w === start) {
        const path = [start]
        for (let at: string | undefined = v; at !== undefined && at !== start; at = previous.get(at)) path.splice(1, 0, at)
        return [...path, start]
      }
      if (!previous.has(w)) {
        previous.set(w, v)
        queue.push(w)
      }
    }
  }
  return [start]
}

const packageOf = (file: string) => relative(packagesDir, file).split(sep)[0]!
const cycles = components().filter((c) => c.length > 1 || (graph.get(c[0]!) ?? []).includes(c[0]!))
for (const cycle of cycles) {
  const members = new Set(cycle)
  const start = [...cycle].sort()[0]!
  console.log(`cycle (${cycle.length} modules): ${cyclePath(start, members).map((f) => relative(root, f)).join(" -> ")}`)
}
const edges = [...graph.values()].reduce((n, targets) => n + targets.length, 0)
console.log(`${cycles.length} import cycles among ${files.length} modules (${edges} static imports) in packages/*/src`)
const outcomes: Array<Outcome> = packages.map((p) => ({ name: p, ok: !cycles.some((c) => c.some((f) => packageOf(f) === p)) }))
for (const o of outcomes) console.log(`  ${o.ok ? "no cycles" : "CYCLES   "}  packages/${o.name}/src`)
finish("check:cycles", outcomes)
