/**
 * Describes why an answer did not decode, for `UndecodableResponse`, in bounded space and without
 * recursion. Effect's formatters print the offending value (`formatUnknown`), which for a hostile
 * body means copying it whole into the message, or a `RangeError` on deep nesting; here a value is
 * only ever described by its kind and a short excerpt, and the body by its first characters.
 */
import type { ParseResult } from "effect"
import { Option, SchemaAST } from "effect"

/** Longest excerpt of a body or a string value quoted in a message. */
export const ExcerptLength = 160

/** The first characters of a text, quoted, with its length when cut. */
export const excerpt = (text: string, max: number = ExcerptLength): string =>
  text.length <= max ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, max))}… (${text.length} characters)`

/** What a value is, without walking into it. */
export const describeValue = (u: unknown): string => {
  if (u === null) return "null"
  if (Array.isArray(u)) return `an array of ${u.length}`
  switch (typeof u) {
    case "string":
      return excerpt(u, 40)
    case "number":
    case "boolean":
    case "undefined":
      return String(u)
    case "object": {
      const keys = Object.keys(u as object)
      const shown = keys.slice(0, 5).map((k) => excerpt(k, 24)).join(", ")
      return keys.length === 0 ? "an empty object" : `an object with keys ${shown}${keys.length > 5 ? ", …" : ""}`
    }
    default:
      return typeof u
  }
}

const nameOf = (ast: SchemaAST.AST): string => {
  const named = SchemaAST.getIdentifierAnnotation(ast).pipe(Option.orElse(() => SchemaAST.getTitleAnnotation(ast)))
  if (Option.isSome(named)) return named.value
  const text = String(ast)
  return text.length > 80 ? `${text.slice(0, 80)}…` : text
}

/** Where an issue ends up, following the first branch of each composite. */
const leaf = (start: ParseResult.ParseIssue): ParseResult.ParseIssue => {
  let issue = start
  for (;;) {
    switch (issue._tag) {
      case "Pointer":
      case "Transformation":
        issue = issue.issue
        continue
      case "Refinement":
        if (issue.kind === "Predicate") return issue
        issue = issue.issue
        continue
      case "Composite":
        issue = Array.isArray(issue.issues) ? issue.issues[0]! : issue.issues as ParseResult.ParseIssue
        continue
      default:
        return issue
    }
  }
}

const isLiteralish = (ast: SchemaAST.AST): boolean =>
  SchemaAST.isLiteral(ast) || (SchemaAST.isUnion(ast) && ast.types.every(SchemaAST.isLiteral))

/**
 * Of a union's failed members, the one that says most: not one whose discriminator (a literal such
 * as `valueType`) did not match, but the member that matched it and failed further in.
 */
const pick = (issues: ParseResult.SingleOrNonEmpty<ParseResult.ParseIssue>): ParseResult.ParseIssue => {
  if (!Array.isArray(issues)) return issues as ParseResult.ParseIssue
  const all = issues as ReadonlyArray<ParseResult.ParseIssue>
  return all.find((i) => {
    const end = leaf(i)
    return !(end._tag === "Type" && isLiteralish(end.ast))
  }) ?? all[0]!
}

/** The dotted path to the first problem and a one-line, bounded description of it. */
export const describe = (error: ParseResult.ParseError): { readonly path: string; readonly problem: string } => {
  const path: Array<PropertyKey> = []
  let issue: ParseResult.ParseIssue = error.issue
  for (;;) {
    switch (issue._tag) {
      case "Pointer":
        path.push(...(Array.isArray(issue.path) ? issue.path : [issue.path]))
        issue = issue.issue
        continue
      case "Composite":
        issue = pick(issue.issues)
        continue
      case "Refinement":
        if (issue.kind === "Predicate") {
          return {
            path: path.map(String).join("."),
            problem: `expected ${nameOf(issue.ast)}, got ${describeValue(issue.actual)}`
          }
        }
        issue = issue.issue
        continue
      case "Transformation":
        issue = issue.issue
        continue
      default:
        break
    }
    break
  }
  const at = path.map(String).join(".")
  switch (issue._tag) {
    case "Missing":
      return { path: at, problem: "is missing" }
    case "Unexpected":
      return { path: at, problem: "is not expected" }
    case "Forbidden":
      return { path: at, problem: "cannot be decoded here" }
    default: {
      const reason = issue.message === undefined ? "" : ` (${excerpt(issue.message, 120)})`
      return { path: at, problem: `expected ${nameOf(issue.ast)}, got ${describeValue(issue.actual)}${reason}` }
    }
  }
}

/** The message of an `UndecodableResponse`: where, what, and how the body starts. */
export const message = (error: ParseResult.ParseError, body: string): { readonly path: string; readonly message: string } => {
  const { path, problem } = describe(error)
  return {
    path,
    message: `Answer does not match the contract${path === "" ? "" : ` at ${path}`}: ${problem}; body ${excerpt(body)}`
  }
}
