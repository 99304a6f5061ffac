/**
 * `--debug`: every request and response on stderr (stdout stays parseable), with the
 * `Authorization` header and other credentials shown as `<redacted>`.
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as UrlParams from "@effect/platform/UrlParams"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Console, Effect } from "effect"

const secretHeaders = ["authorization", "cookie", "set-cookie", "x-api-key", "proxy-authorization"]

const headerLines = (headers: Headers.Headers): string =>
  Object.entries(Headers.redact(headers, secretHeaders)).map(([name, value]) => `\n    ${name}: ${String(value)}`).join("")

const target = (request: HttpClientRequest.HttpClientRequest): string => {
  const query = UrlParams.toString(request.urlParams)
  return `${request.method} ${request.url}${query === "" ? "" : `?${query}`}`
}

const bodyLine = (request: HttpClientRequest.HttpClientRequest): string =>
  request.body._tag === "Uint8Array" ? `\n    (body: ${request.body.body.byteLength} bytes, ${request.body.contentType})` : ""

/** Wraps the platform client (core's `transformClient` hook); each attempt, retries included, shows. */
export const logExchanges = (client: HttpClient.HttpClient): HttpClient.HttpClient => {
  const started = new WeakMap<HttpClientRequest.HttpClientRequest, number>()
  const elapsed = (request: HttpClientRequest.HttpClientRequest) => {
    const at = started.get(request)
    return at === undefined ? "" : ` (${(performance.now() - at).toFixed(1)} ms)`
  }
  return client.pipe(
    HttpClient.tapRequest((request) =>
      Effect.zipRight(
        Effect.sync(() => started.set(request, performance.now())),
        Console.error(`[debug] --> ${target(request)}${headerLines(request.headers)}${bodyLine(request)}`)
      )
    ),
    HttpClient.tap((response) =>
      Console.error(
        `[debug] <-- ${response.status} ${target(response.request)}${elapsed(response.request)}${headerLines(response.headers)}`
      )
    ),
    HttpClient.tapError((error: HttpClientError.HttpClientError) =>
      Console.error(`[debug] <-- ${error._tag} (${error.reason}) ${target(error.request)}${elapsed(error.request)}: ${error.message}`)
    )
  )
}
