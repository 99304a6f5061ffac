/**
 * Request building and auth: what one call sends (from the endpoint table), and the request with
 * the bearer token, the version header, the user agent and the idempotency key.
 */
import type * as Headers from "@effect/platform/Headers"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type { Either, ParseResult } from "effect"
import { Option, Redacted } from "effect"
import * as Endpoint from "../Endpoint.js"
import * as IdempotencyKey from "../IdempotencyKey.js"
import type { CheckedCallOptions } from "./callOptions.js"

export interface Call<A> {
  /** Span name, e.g. `Meetings.create`. */
  readonly name: string
  readonly category: Endpoint.Category
  readonly method: Endpoint.Method
  /** Route template for spans and metrics (`/v1/meetings/{id}`): ids never become metric tags. */
  readonly route: string
  readonly path: string
  readonly urlParams?: Record<string, string>
  readonly body?: unknown
  readonly idempotencyKey?: string
  /** The meeting id a 404 refers to. */
  readonly id?: string
  /** The call's own options, checked (`internal/callOptions.ts`). */
  readonly options: CheckedCallOptions
  readonly decode: (text: string) => Either.Either<A, ParseResult.ParseError>
}

/** The fixed part of a call, from the endpoint table. */
export const callOf = (endpoint: Endpoint.Endpoint, id?: string) => ({
  name: `Meetings.${endpoint.name}`,
  category: endpoint.category,
  method: endpoint.method,
  route: endpoint.path,
  path: Endpoint.pathFor(endpoint, id)
})

/**
 * The request of one attempt; the API key is unwrapped only here, into the `Authorization` header.
 * `traceHeaders` are the call span's `traceparent`/`b3` when the platform does not add its own
 * (`internal/tracing.ts`).
 */
export const build = (
  config: { readonly baseUrl: string; readonly userAgent: string; readonly apiKey: Redacted.Redacted },
  call: Call<unknown>,
  idempotencyKey: Option.Option<string>,
  traceHeaders?: Headers.Headers
): HttpClientRequest.HttpClientRequest => {
  // One headers object (lower-case names, as `Headers` keeps them) instead of one copy per header.
  const headers: Record<string, string> = {
    [Endpoint.VersionHeader]: Endpoint.ApiVersion,
    "user-agent": config.userAgent,
    accept: "application/json",
    authorization: `Bearer ${Redacted.value(config.apiKey)}`
  }
  if (Option.isSome(idempotencyKey)) headers[IdempotencyKey.Header] = idempotencyKey.value
  if (traceHeaders !== undefined) Object.assign(headers, traceHeaders)
  const request = HttpClientRequest.make(call.method)(`${config.baseUrl}${call.path}`, {
    urlParams: call.urlParams ?? {},
    headers
  })
  // `bodyUnsafeJson` sets `Content-Type: application/json`; bodies are schema-validated plain data.
  return call.body === undefined ? request : HttpClientRequest.bodyUnsafeJson(request, call.body)
}
