/**
 * An API request as the pipeline sees it: method, path, query, headers and the body text, read once.
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import { Effect } from "effect"

/** The parsed request as the pipeline sees it. */
export interface Incoming {
  readonly request: HttpServerRequest.HttpServerRequest
  readonly method: string
  readonly path: string
  readonly query: string
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly bodyText: string
  readonly id: string | undefined
}

const splitUrl = (url: string): { readonly path: string; readonly query: string } => {
  const at = url.indexOf("?")
  return at < 0 ? { path: url, query: "" } : { path: url.slice(0, at), query: url.slice(at + 1) }
}

/** The body as the request log keeps it: parsed JSON if it is JSON, else the text. */
export const bodyForLog = (text: string): unknown => {
  if (text === "") return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

/** The request before its body is read. */
export const incomingOf = (request: HttpServerRequest.HttpServerRequest, id: string | undefined): Incoming => {
  const { path, query } = splitUrl(request.originalUrl)
  return { request, method: request.method, path, query, headers: request.headers, id, bodyText: "" }
}

/** The request in context, with its body read (GET and HEAD have none). */
export const read = (id: string | undefined) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const bodyText = request.method === "GET" || request.method === "HEAD"
      ? ""
      : yield* Effect.orElseSucceed(request.text, () => "")
    const incoming: Incoming = { ...incomingOf(request, id), bodyText }
    return incoming
  })
