/**
 * `pnpm check:docs`: every export of a public module has a doc comment (STYLE.md: a JSDoc block with `@since`).
 *
 * Public modules are a library package's modules outside `src/internal/` (what its `exports` let a
 * user import, as in Effect's packages). Each exported declaration (const,
 * function, class, interface, type, enum, namespace, and the index's `export * as X`) needs a JSDoc
 * comment with some text. Exports without `@since` are listed too, but only a missing comment fails.
 * One result per public module; with `--json <file>` the counts go to .ci/run.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"
import type { Outcome } from "./report.js"
import { finish } from "./report.js"

// `--root <dir>` checks another tree of the same shape (the checks' own tests use fixtures).
const rootArg = process.argv.indexOf("--root")
const root = rootArg === -1 ? join(dirname(fileURLToPath(import.meta.url)), "..") : resolve(process.argv[rootArg + 1]!)

interface Finding {
  readonly file: string
  readonly line: number
  readonly name: string
  readonly kind: string
}

const isExported = (node: ts.Node): boolean =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)

/** The JSDoc blocks right before a node, as text. */
const jsDocText = (node: ts.Node, source: ts.SourceFile): ReadonlyArray<string> =>
  (ts.getLeadingCommentRanges(source.text, node.getFullStart()) ?? [])
    .filter((r) => source.text.startsWith("/**", r.pos) && !source.text.startsWith("/**/", r.pos))
    .map((r) => source.text.slice(r.pos, r.end))

const hasText = (doc: string) =>
  doc.replace(/^\/\*\*|\*\/$/g, "").split("\n").map((l) => l.replace(/^\s*\*?\s?/, "")).some((l) => l.trim() !== "" && !l.trim().startsWith("@"))

interface ExportedDeclaration {
  readonly node: ts.Node
  readonly name: string
  readonly kind: string
}

const exportedDeclarations = (source: ts.SourceFile): ReadonlyArray<ExportedDeclaration> =>
  source.statements.flatMap((statement): ReadonlyArray<ExportedDeclaration> => {
    if (ts.isExportDeclaration(statement)) {
      // `export * as X from "./X.js"`: a namespace of the public surface, documented where it is declared.
      return statement.exportClause !== undefined && ts.isNamespaceExport(statement.exportClause)
        ? [{ node: statement, name: statement.exportClause.name.text, kind: "namespace re-export" }]
        : []
    }
    if (ts.isExportAssignment(statement)) return [{ node: statement, name: "default", kind: "export default" }]
    if (!isExported(statement)) return []
    if (ts.isVariableStatement(statement)) {
      return statement.declarationList.declarations.map((d) => ({ node: statement, name: d.name.getText(source), kind: "const" }))
    }
    const kinds: ReadonlyArray<[(n: ts.Node) => boolean, string]> = [
      [ts.isFunctionDeclaration, "function"],
      [ts.isClassDeclaration, "class"],
      [ts.isInterfaceDeclaration, "interface"],
      [ts.isTypeAliasDeclaration, "type"],
      [ts.isEnumDeclaration, "enum"],
      [ts.isModuleDeclaration, "namespace"]
    ]
    const kind = kinds.find(([is]) => is(statement))?.[1]
    if (kind === undefined) return []
    const name = (statement as ts.DeclarationStatement).name?.getText(source) ?? "(anonymous)"
    return [{ node: statement, name, kind }]
  })

/** Every module under `src` outside `internal/`: the package's `exports` (`"./*"`) make each importable. */
const publicModules = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return name === "internal" ? [] : publicModules(path)
    return name.endsWith(".ts") && !name.endsWith(".d.ts") ? [path] : []
  })

const libraries = readdirSync(join(root, "packages")).filter((dir) => {
  const manifest = JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8")) as { private?: boolean }
  return manifest.private !== true
})

const outcomes: Array<Outcome> = []
let undocumented = 0
let withoutSince = 0
for (const pkg of libraries) {
  const src = join(root, "packages", pkg, "src")
  for (const file of publicModules(src)) {
    const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true)
    const missing: Array<Finding> = []
    const noSince: Array<Finding> = []
    for (const declaration of exportedDeclarations(source)) {
      const docs = jsDocText(declaration.node, source)
      const finding = {
        file: relative(root, file),
        line: source.getLineAndCharacterOfPosition(declaration.node.getStart(source)).line + 1,
        name: declaration.name,
        kind: declaration.kind
      }
      if (!docs.some(hasText)) missing.push(finding)
      else if (!docs.some((d) => d.includes("@since"))) noSince.push(finding)
    }
    for (const f of missing) console.log(`undocumented  ${f.file}:${f.line}  ${f.kind} ${f.name}`)
    undocumented += missing.length
    withoutSince += noSince.length
    outcomes.push({ name: relative(root, file), ok: missing.length === 0 })
  }
}
console.log(
  `${undocumented} undocumented exports in ${outcomes.filter((o) => !o.ok).length} of ${outcomes.length} public modules` +
    ` (${libraries.join(", ")}); ${withoutSince} documented exports lack @since`
)
finish("check:docs", outcomes)
