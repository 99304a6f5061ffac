/**
 * Issue 15: every export of the sandbox's public modules carries a doc comment with `@since`: the
 * modules `index.ts` re-exports, the leaf modules whose types they re-export, and `Prng` (imported
 * by the reliability suite). Read with the TypeScript compiler, so a re-export is checked where it
 * is declared.
 */
import { assert, describe, it } from "@effect/vitest"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src")
const publicModules = ["index.ts", "Sandbox.ts", "SandboxShape.ts", "SandboxError.ts", "Faults.ts", "RequestLog.ts", "Prng.ts"]

/** The `@since` tag on a declaration (a `const` carries it on its statement). */
const hasSince = (declaration: ts.Declaration): boolean => {
  const node = ts.isVariableDeclaration(declaration) ? declaration.parent.parent : declaration
  return ts.getJSDocTags(node).some((tag) => tag.tagName.text === "since")
}

describe("documentation", () => {
  it("every export of a public module has a doc comment with @since, re-exports included", () => {
    const files = publicModules.map((f) => path.join(src, f))
    const options = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true }
    const program = ts.createProgram(files, options)
    const checker = program.getTypeChecker()
    const missing: Array<string> = []
    let checked = 0
    for (const file of files) {
      const source = program.getSourceFile(file)!
      // The module's own doc comment (the first statement's leading JSDoc) names its @since too.
      const first = source.statements[0]
      if (first === undefined || !ts.getJSDocTags(first).some((t) => t.tagName.text === "since")) {
        missing.push(`${path.basename(file)}: module comment`)
      }
      for (const symbol of checker.getExportsOfModule(checker.getSymbolAtLocation(source)!)) {
        checked++
        const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol
        // Namespace re-exports (`export * as Sandbox`) point at a module: its own comment is checked above.
        if (target.flags & ts.SymbolFlags.ValueModule) continue
        if (!(target.declarations ?? []).some(hasSince)) missing.push(`${path.basename(file)}: ${symbol.name}`)
      }
    }
    assert.isAbove(checked, 30)
    assert.deepStrictEqual(missing, [])
  })
})
