/**
 * What a handler answers before it becomes an HTTP response: status, JSON body and extra headers.
 * Keeping replies as data lets idempotency cache them and faults rewrite them.
 */
import { Endpoint, ErrorBody } from "@lightfield-effect/core"

export interface Reply {
  readonly status: number
  readonly body: unknown
  readonly headers?: Readonly<Record<string, string>>
}

export const ok = (body: unknown): Reply => ({ status: 200, body })

const knownTypes: Readonly<Record<number, string>> = ErrorBody.ErrorType
const typeFor = (status: number): string =>
  knownTypes[status] ?? (status >= 500 ? "internal_server_error" : "bad_request")

const defaultMessages: Readonly<Record<number, string>> = ErrorBody.DefaultMessage

/** The wrapped error envelope of spec §8.1 (the stand-in always wraps). */
export const error = (
  status: number,
  options: {
    readonly message?: string
    readonly code?: string
    readonly param?: string
    readonly type?: string
    readonly headers?: Readonly<Record<string, string>>
  } = {}
): Reply => ({
  status,
  body: {
    error: {
      type: options.type ?? typeFor(status),
      message: options.message ?? defaultMessages[status] ?? "Error",
      ...(options.code === undefined ? {} : { code: options.code }),
      ...(options.param === undefined ? {} : { param: options.param })
    }
  },
  ...(options.headers === undefined ? {} : { headers: options.headers })
})

export const messages = {
  unauthorized: "Invalid API key.",
  versionHeader: `The Lightfield-Version header is required and must be ${Endpoint.ApiVersion}.`,
  notFound: "No resource found in 'meetings' with the given ID.",
  idempotencyInFlight: "An operation with this idempotency key is already in progress. Please wait and retry.",
  idempotencyTooLong: "The Idempotency-Key header must be at most 255 characters.",
  rateLimited: "Rate limit exceeded. Please try again later.",
  unsupportedMediaType: "The request body must be JSON sent with Content-Type: application/json.",
  bodyRequired: "A JSON request body is required (send at least {}).",
  missingScope: (scope: string) => `Token does not have the '${scope}' scope.`
} as const
