/**
 * Error bodies (spec §8.1). The errors guide wraps them in `{ "error": { … } }`; the rate-limit and
 * idempotency guides print them flat. Both decode; `detail` gives the inner object either way.
 */
import { Schema } from "effect"

/**
 * The inner error object (spec §8.1): `type` and `message` always, `code` on 400s, `param` where it applies.
 *
 * @since 0.1.0
 */
export const ErrorDetail = Schema.Struct({
  type: Schema.String,
  message: Schema.String,
  code: Schema.optionalWith(Schema.String, { exact: true }),
  param: Schema.optionalWith(Schema.String, { exact: true })
}).annotations({ identifier: "ErrorDetail" })

/**
 * The type of `ErrorDetail`.
 *
 * @since 0.1.0
 */
export type ErrorDetail = typeof ErrorDetail.Type

/**
 * The wrapped error body `{ "error": { … } }`, as the errors guide and the sandbox send it.
 *
 * @since 0.1.0
 */
export const WrappedErrorBody = Schema.Struct({ error: ErrorDetail }).annotations({ identifier: "WrappedErrorBody" })

/**
 * The type of `WrappedErrorBody`.
 *
 * @since 0.1.0
 */
export type WrappedErrorBody = typeof WrappedErrorBody.Type

/**
 * An error body in either form (wrapped or flat, spec §8.1 [CONFLICT]).
 *
 * @since 0.1.0
 */
export const ErrorBody = Schema.Union(WrappedErrorBody, ErrorDetail).annotations({ identifier: "ErrorBody" })

/**
 * The type of `ErrorBody`.
 *
 * @since 0.1.0
 */
export type ErrorBody = typeof ErrorBody.Type

/**
 * The inner `ErrorDetail` of an error body, whichever form it came in.
 *
 * @since 0.1.0
 */
export const detail = (body: ErrorBody): ErrorDetail => ("error" in body ? body.error : body)

/**
 * The `type` for each documented status (spec §8.2), plus 408 and 502 as gateways send them.
 *
 * @since 0.1.0
 */
export const ErrorType = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  408: "request_timeout",
  409: "conflict",
  415: "unsupported_media_type",
  422: "unprocessable_content",
  429: "too_many_requests",
  500: "internal_server_error",
  502: "bad_gateway",
  503: "service_unavailable",
  504: "gateway_timeout"
} as const

/**
 * The spec's default message for each status (§8.2), for bodies that carry none.
 *
 * @since 0.1.0
 */
export const DefaultMessage = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  408: "Request Timeout",
  409: "Conflict",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout"
} as const

/**
 * The `type` of a 409 for an idempotency key still in flight (spec §10).
 *
 * @since 0.1.0
 */
export const IdempotencyConflictType = "idempotency_conflict"
