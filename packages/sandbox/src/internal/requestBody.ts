/**
 * The JSON body of an API request and the answer to params that fail core's schemas: shared by the
 * meetings and the files handlers.
 */
import { ParamsProblem } from "@lightfield-effect/core"
import type { ParseResult } from "effect"
import { Either, Option } from "effect"
import type { Incoming } from "./incoming.js"
import * as Reply from "./reply.js"

/** The 400 or 422 the API answers for params that fail their schema (`param`, `code`). */
export const problemReply = (error: ParseResult.ParseError): Reply.Reply => {
  const problem = ParamsProblem.fromParseError(error)
  return Reply.error(problem.status, {
    message: problem.message,
    ...(problem.param === "" ? {} : { param: problem.param }),
    ...(Option.isSome(problem.code) ? { code: problem.code.value } : {})
  })
}

/**
 * Body → JSON, or the reply refusing it (empty: 400, unless `optional`, when it reads as `{}`;
 * not JSON: 415).
 */
export const jsonBody = (incoming: Incoming, options?: { readonly optional?: boolean }): Either.Either<unknown, Reply.Reply> => {
  if (incoming.bodyText.trim() === "") {
    return options?.optional === true
      ? Either.right({})
      : Either.left(Reply.error(400, { message: Reply.messages.bodyRequired, code: "parameter_missing" }))
  }
  const contentType = (incoming.headers["content-type"] ?? "").toLowerCase()
  if (!/^application\/([\w.+-]*\+)?json\b/.test(contentType.trim())) {
    return Either.left(Reply.error(415, { message: Reply.messages.unsupportedMediaType }))
  }
  try {
    return Either.right(JSON.parse(incoming.bodyText) as unknown)
  } catch {
    return Either.left(Reply.error(415, { message: Reply.messages.unsupportedMediaType }))
  }
}
