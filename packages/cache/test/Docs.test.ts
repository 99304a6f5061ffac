/**
 * Issue 15: every export of the cache's public modules (those `index.ts` re-exports) carries a doc
 * comment with `@since`. Read with the TypeScript compiler, so re-exports are checked at their
 * declaration.
 */
import { assert, describe, it } from "@effect/vitest"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src")

const publicModules = (program: ts.Program): ReadonlyArray<ts.SourceFile> => {
  const index = program.getSourceFile(path.join(src, "index.ts"))!
  const out: Array<ts.SourceFile> = []
  for (const statement of index.statements) {
    if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)) {
      const file = path.join(src, statement.moduleSpecifier.text.replace(/\.js$/, ".ts"))
      out.push(program.getSourceFile(file)!)
    }
  }
  return out
}

const documented = (checker: ts.TypeChecker, symbol: ts.Symbol): boolean => {
  const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol
  return (target.declarations ?? []).some((declaration) => {
    // A `const` is documented on its statement.
    const node = ts.isVariableDeclaration(declaration) ? declaration.parent.parent : declaration
    return ts.getJSDocTags(node).some((tag) => tag.tagName.text === "since") ||
      ts.getJSDocCommentsAndTags(node).some((doc) => ts.isJSDoc(doc) && (doc.tags ?? []).some((t) => t.tagName.text === "since"))
  })
}

describe("documentation", () => {
  it("every export of a public module has a doc comment with @since", () => {
    const program = ts.createProgram([path.join(src, "index.ts")], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      noEmit: true
    })
    const checker = program.getTypeChecker()
    const missing: Array<string> = []
    const modules = publicModules(program)
    assert.isAbove(modules.length, 8)
    for (const file of modules) {
      const moduleSymbol = checker.getSymbolAtLocation(file)!
      for (const symbol of checker.getExportsOfModule(moduleSymbol)) {
        if (!documented(checker, symbol)) missing.push(`${path.basename(file.fileName)}: ${symbol.name}`)
      }
    }
    assert.deepStrictEqual(missing, [])
  })
})
