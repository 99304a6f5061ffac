/**
 * From what came back to a typed result: the answer as read (status, headers, body text), the
 * server's clock and requested delay, the status-to-error mapping (spec §8.2), and which platform
 * failures are `Transport`.
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as Headers from "@effect/platform/Headers"
import { Duration, Option, Schema } from "effect"
import * as ErrorBody from "../ErrorBody.js"
import type { MeetingsError } from "../MeetingsError.js"
import {
  BadRequest,
  Conflict,
  Forbidden,
  IdempotencyConflict,
  InvalidParams,
  MeetingNotFound,
  MeetingsUnavailable,
  RateLimited,
  scopeFromMessage,
  UndecodableResponse,
  Unauthorized,
  Unprocessable
} from "../MeetingsError.js"
import type * as RateLimitHeaders from "./rateLimitHeaders.js"
import { headerNumber } from "./rateLimitHeaders.js"

/** The server's clock from its `Date` header (falling back to ours), for server timestamps. */
export const serverTime = (headers: Headers.Headers, fallback: number): number =>
  Headers.get(headers, "date").pipe(
    Option.map(Date.parse),
    Option.filter((millis) => !Number.isNaN(millis)),
    Option.getOrElse(() => fallback)
  )

/**
 * `retry-after-ms` (milliseconds) first, then `Retry-After` (seconds or an HTTP date, measured
 * against `now`, best the server's `Date`).
 *
 * @since 0.1.0
 */
export const retryAfterFromHeaders = (headers: Headers.Headers, now: number): Option.Option<Duration.Duration> =>
  headerNumber(headers, "retry-after-ms").pipe(
    Option.filter((ms) => ms >= 0),
    Option.map(Duration.millis),
    Option.orElse(() =>
      Headers.get(headers, "retry-after").pipe(
        Option.flatMap((value) => {
          const trimmed = value.trim()
          if (/^\d+(\.\d+)?$/.test(trimmed)) return Option.some(Duration.seconds(Number(trimmed)))
          const date = Date.parse(trimmed)
          return Number.isNaN(date) ? Option.none() : Option.some(Duration.millis(Math.max(0, date - now)))
        })
      )
    )
  )

const decodeErrorBody = Schema.decodeUnknownOption(Schema.parseJson(ErrorBody.ErrorBody))

export interface Answer {
  readonly status: number
  readonly headers: Headers.Headers
  readonly text: string
  /** Set when the body passed `maxResponseBytes` (how many bytes, at least) and was not read. */
  readonly tooLarge: number | undefined
}

/** The spec's default message for each status (§8.2), used when the body is not an API error. */
const defaultMessages: Readonly<Record<number, string>> = ErrorBody.DefaultMessage

const defaultTypes: Readonly<Record<number, string>> = ErrorBody.ErrorType

/**
 * Maps a non-2xx answer to its typed error (spec §8.2) by its STATUS, keeping the server's
 * message/code/param when the body is an API error. A body that is not one (an HTML page from a
 * proxy or gateway) still maps by status, with the spec's default message, so a 408/409/5xx from a
 * proxy stays retryable and a 404 stays `MeetingNotFound`. Only statuses outside 4xx/5xx (1xx,
 * 3xx) become `UndecodableResponse`.
 */
export const statusError = (
  call: { readonly id?: string; readonly idempotencyKey?: string },
  answer: Answer,
  retryAfter: Option.Option<Duration.Duration>,
  rateLimit: RateLimitHeaders.RateLimitHeaders
): MeetingsError => {
  const { status } = answer
  const body = decodeErrorBody(answer.text).pipe(Option.map(ErrorBody.detail))
  const message = Option.match(body, {
    onNone: () => defaultMessages[status] ?? `HTTP ${status}`,
    onSome: (d) => d.message
  })
  const delay = Option.getOrUndefined(retryAfter)
  if (status >= 500) {
    return new MeetingsUnavailable({ reason: "Server", status, message, retryAfter: delay })
  }
  if (status < 400) {
    return new UndecodableResponse({ status, path: "", message: `Unexpected HTTP ${status}` })
  }
  const detail = Option.getOrUndefined(body)
  switch (status) {
    case 401:
      return new Unauthorized({ message })
    case 403:
      return new Forbidden({ message, scope: Option.getOrUndefined(scopeFromMessage(message)) })
    case 404:
      return new MeetingNotFound({ id: call.id, message })
    case 409:
      return detail?.type === ErrorBody.IdempotencyConflictType
        ? new IdempotencyConflict({ message, idempotencyKey: call.idempotencyKey, retryAfter: delay })
        : new Conflict({ message, retryAfter: delay })
    case 422:
      return new Unprocessable({ message, param: detail?.param })
    case 429:
      return new RateLimited({
        message,
        retryAfter: delay,
        limit: Option.getOrUndefined(rateLimit.limit),
        remaining: Option.getOrUndefined(rateLimit.remaining)
      })
    default:
      // 400, 408 (retried), 415 and any other 4xx.
      return new BadRequest({
        status,
        type: detail?.type ?? defaultTypes[status] ?? "bad_request",
        message,
        code: detail?.code,
        param: detail?.param
      })
  }
}

/**
 * Only a failure to reach the server or to read its answer is `Transport`. A request the platform
 * refused to build (`InvalidUrl`, `Encode`) was never sent: it is `InvalidParams`, not an outage
 * to queue behind (the options and ids are checked up front, so this is a last guard).
 */
export const fromHttpClientError = (cause: HttpClientError.HttpClientError): MeetingsUnavailable | InvalidParams =>
  cause._tag === "RequestError" && cause.reason !== "Transport"
    ? new InvalidParams({ param: "request", message: `The request could not be built (${cause.reason})`, status: 400 })
    : new MeetingsUnavailable({ reason: "Transport", message: cause.message, cause })
