/**
 * Turns a Schema `ParseIssue` from validating params into what the API would answer: the dotted
 * `param` that failed, a message naming it, and whether it is a 400 (shape) or a 422 (business rule).
 * Shared by the client (which refuses bad input before sending) and the sandbox (which answers it).
 */
import { Array as Arr, Effect, Option, ParseResult, Schema, SchemaAST } from "effect"
import { BusinessRule, strictParse } from "./MeetingParams.js"
import { InvalidParams } from "./MeetingsError.js"

/**
 * The `code` of a 400 about params (spec §8.3).
 *
 * @since 0.1.0
 */
export type ProblemCode = "invalid_type" | "unknown_field" | "parameter_missing"

/**
 * What the API would answer about invalid params: where, what, and 400 or 422.
 *
 * @since 0.1.0
 */
export interface ParamsProblem {
  /** Dotted location, e.g. `fields.$title`; empty for the body itself. */
  readonly param: string
  readonly message: string
  /** 400 problems carry a code; 422 problems are business rules. */
  readonly status: 400 | 422
  readonly code: Option.Option<ProblemCode>
}

const isBusiness = (ast: SchemaAST.AST): boolean => SchemaAST.getAnnotation(ast, BusinessRule).pipe(Option.isSome)

/** The value is not even of the member's base type (wrong JSON type), as opposed to breaking one of its rules. */
const isShallowMismatch = (issue: ParseResult.ParseIssue): boolean => {
  switch (issue._tag) {
    case "Type":
      return true
    case "Refinement":
      return issue.kind === "From" && isShallowMismatch(issue.issue)
    case "Transformation":
      return issue.kind === "Encoded" && isShallowMismatch(issue.issue)
    default:
      return false
  }
}

const leafMessage = (issue: ParseResult.ParseIssue): string => {
  const [first] = ParseResult.ArrayFormatter.formatIssueSync(issue)
  return first?.message ?? "is invalid"
}

/**
 * The first problem of a parse issue (validation runs with `errors: "first"`).
 *
 * @since 0.1.0
 */
export const fromIssue = (issue: ParseResult.ParseIssue): ParamsProblem => {
  const path: Array<PropertyKey> = []
  let business = false
  let current: ParseResult.ParseIssue = issue
  // Walk down to the leaf, collecting the path and whether we passed through a business rule.
  for (;;) {
    switch (current._tag) {
      case "Pointer": {
        path.push(...(Array.isArray(current.path) ? current.path : [current.path]))
        current = current.issue
        continue
      }
      case "Composite": {
        const issues = Arr.ensure<ParseResult.ParseIssue>(current.issues)
        // In a union, the members whose type did not match at all say less than the one that matched
        // and broke a rule (e.g. `["a","b"]` vs `string | string[] (max 1)`): report the latter.
        const next = issues.find((i) => !isShallowMismatch(i)) ?? issues[0]
        if (next === undefined) break
        current = next
        continue
      }
      case "Refinement": {
        if (current.kind === "Predicate" && isBusiness(current.ast)) business = true
        current = current.issue
        continue
      }
      case "Transformation": {
        if (current.kind === "Transformation" && isBusiness(current.ast)) business = true
        current = current.issue
        continue
      }
      default:
        break
    }
    break
  }
  const param = path.map(String).join(".")
  const named = (text: string) => (param === "" ? text : `${param} ${text}`)
  switch (current._tag) {
    case "Missing": {
      // A required key inside `fields` is a 422 (spec §14 #5); a missing top-level key is a 400.
      const inFields = path.length > 1 && path[0] === "fields"
      return inFields
        ? { param, message: named("is required"), status: 422, code: Option.none() }
        : { param, message: named("is required"), status: 400, code: Option.some("parameter_missing") }
    }
    case "Unexpected":
      return { param, message: named("is not a known field"), status: 400, code: Option.some("unknown_field") }
    default: {
      const message = named(leafMessage(current))
      return business
        ? { param, message, status: 422, code: Option.none() }
        : { param, message, status: 400, code: Option.some("invalid_type") }
    }
  }
}

/**
 * `fromIssue` of a `ParseError`.
 *
 * @since 0.1.0
 */
export const fromParseError = (error: ParseResult.ParseError): ParamsProblem => fromIssue(error.issue)

/**
 * The `InvalidParams` a caller gets for params that fail their schema.
 *
 * @since 0.1.0
 */
export const toInvalidParams = (error: ParseResult.ParseError): InvalidParams => {
  const problem = fromParseError(error)
  return new InvalidParams({ param: problem.param, message: problem.message, status: problem.status })
}

/**
 * A validator for a params schema: decodes with the API's strictness (unknown keys are errors, the
 * first problem wins) and fails with `InvalidParams` naming the param, before anything is sent.
 * Build it once per schema (the decoder is compiled here).
 *
 * @since 0.1.0
 */
export const validator = <A, I, R>(
  schema: Schema.Schema<A, I, R>
): (input: unknown) => Effect.Effect<A, InvalidParams, R> => {
  const decode = Schema.decodeUnknown(schema, strictParse)
  return (input) => Effect.mapError(decode(input), toInvalidParams)
}
