/**
 * Error bodies (spec §8.1). The errors guide wraps them in `{ "error": { … } }`; the rate-limit and
 * idempotency guides print them flat. Both decode; `detail` gives the inner object either way.
 */
import { Schema } from "effect"

export const ErrorDetail = Schema.Struct({
  type: Schema.String,
  message: Schema.String,
  code: Schema.optionalWith(Schema.String, { exact: true }),
  param: Schema.optionalWith(Schema.String, { exact: true })
}).annotations({ identifier: "ErrorDetail" })
export type ErrorDetail = typeof ErrorDetail.Type

export const WrappedErrorBody = Schema.Struct({ error: ErrorDetail }).annotations({ identifier: "WrappedErrorBody" })
export type WrappedErrorBody = typeof WrappedErrorBody.Type

export const ErrorBody = Schema.Union(WrappedErrorBody, ErrorDetail).annotations({ identifier: "ErrorBody" })
export type ErrorBody = typeof ErrorBody.Type

export const detail = (body: ErrorBody): ErrorDetail => ("error" in body ? body.error : body)

/** The `type` for each documented status (spec §8.2). */
export const ErrorType = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  415: "unsupported_media_type",
  422: "unprocessable_content",
  429: "too_many_requests",
  500: "internal_server_error",
  503: "service_unavailable",
  504: "gateway_timeout"
} as const

export const IdempotencyConflictType = "idempotency_conflict"
