/**
 * Fault injection: rules matched against `METHOD /path`, first match wins, optionally used up after
 * `times` hits. The schemas decode faults sent by another process (`POST /__sandbox/faults`) or as
 * a one-off `X-Sandbox-Fault` header; the `Fault` and `FaultRule` types are derived from them.
 * How a fault changes an answer is `internal/answer.ts`'s business.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

const HeaderMap = Schema.Record({ key: Schema.String, value: Schema.String })

/**
 * Every fault the sandbox can inject, as a schema (one `TaggedStruct` per kind):
 *
 * - `Latency { millis }`: sleep after auth, rate limit and idempotency reservation, before the handler.
 * - `Status { status: 500 | 502 | 503 | 504 }`: that wrapped error before auth; nothing runs.
 * - `RateLimit { retryAfterSeconds }`: a 429 with that `Retry-After`; no token used.
 * - `Drop`: close the socket without answering, before the handler runs.
 * - `DropAfterCommit`: run the handler (so a create is stored), then close the socket without answering.
 * - `MalformedJson`: answer 200 with a body that is not JSON.
 * - `SchemaViolation`: answer 200 with JSON that violates the meeting schema (`objectType: 42`).
 * - `UnknownValueType`: add a field with an undocumented valueType (`HTML`) to every meeting served.
 * - `Respond { status, body?, contentType?, headers? }`: answer this status (200-599) instead of
 *   running anything (before auth, like `Status`): `body` as is with `contentType` (default
 *   `text/plain; charset=utf-8`), or without `body` the wrapped error envelope of the status.
 *   `headers` are added (they win over the rate-limit headers). A proxy's HTML 502, a 408, a 415.
 * - `Headers { headers }`: the handler's answer with these headers added (they win over the
 *   rate-limit headers), e.g. `X-RateLimit-Limit: 0.001` on a 200.
 * - `ShortPage { keep }`: a list page answered with only its first `keep` items while `totalCount`
 *   still counts them all.
 * - `HugeBody { bytes, declareLength? }`: the handler's answer with its JSON body padded to `bytes`
 *   bytes (a long string in the first meeting's `sandboxPadding` custom field, else a top-level
 *   `padding` key), streamed in chunks so the sandbox never holds it whole; chunked unless
 *   `declareLength` sends a `Content-Length`. For testing a client's body-size cap.
 *
 * Storage (the presigned URLs, `PUT`/`GET /__storage/{fileId}`) meets these kinds, matched against
 * its own method and path (`"PUT /__storage/*"`):
 *
 * - `Latency { millis }`: slow storage, the answer waits (after the bytes arrived).
 * - `Status { status }`: storage answers that 5xx after reading the bytes, and stores nothing.
 * - `Drop`: the connection is closed before anything is read; `Respond` answers instead of storage.
 * - `UploadDrop { afterBytes }`: the connection is closed once `afterBytes` bytes arrived (mid-upload).
 * - `UrlExpired`: a 403 "Request has expired", whatever the URL's own expiry says.
 *
 * The two upload-only kinds never hit an API request, and the API-only kinds never hit storage, so
 * a rule without `match` still reaches the requests it can act on.
 *
 * @since 0.1.0
 */
export const FaultSchema = Schema.Union(
  Schema.TaggedStruct("Latency", { millis: Schema.Number.pipe(Schema.nonNegative()) }),
  Schema.TaggedStruct("Status", { status: Schema.Literal(500, 502, 503, 504) }),
  Schema.TaggedStruct("RateLimit", { retryAfterSeconds: Schema.Number.pipe(Schema.nonNegative()) }),
  Schema.TaggedStruct("Drop", {}),
  Schema.TaggedStruct("DropAfterCommit", {}),
  Schema.TaggedStruct("MalformedJson", {}),
  Schema.TaggedStruct("SchemaViolation", {}),
  Schema.TaggedStruct("UnknownValueType", {}),
  Schema.TaggedStruct("Respond", {
    status: Schema.Int.pipe(Schema.between(200, 599)),
    body: Schema.optionalWith(Schema.String, { exact: true }),
    contentType: Schema.optionalWith(Schema.String, { exact: true }),
    headers: Schema.optionalWith(HeaderMap, { exact: true })
  }),
  Schema.TaggedStruct("Headers", { headers: HeaderMap }),
  Schema.TaggedStruct("ShortPage", { keep: Schema.Int.pipe(Schema.nonNegative()) }),
  Schema.TaggedStruct("HugeBody", {
    bytes: Schema.Int.pipe(Schema.positive()),
    declareLength: Schema.optionalWith(Schema.Boolean, { exact: true })
  }),
  Schema.TaggedStruct("UploadDrop", { afterBytes: Schema.Int.pipe(Schema.nonNegative()) }),
  Schema.TaggedStruct("UrlExpired", {})
).annotations({ identifier: "Fault" })

/**
 * A fault the sandbox can inject (see `FaultSchema` for each kind).
 *
 * @since 0.1.0
 */
export type Fault = typeof FaultSchema.Type

/**
 * Whether a fault acts on storage requests (the presigned URLs) or on API requests.
 *
 * @since 0.1.0
 */
export const appliesTo = (fault: Fault, target: "api" | "storage"): boolean => {
  switch (fault._tag) {
    case "Latency":
    case "Status":
    case "Drop":
    case "Respond":
      return true
    case "UploadDrop":
    case "UrlExpired":
      return target === "storage"
    default:
      return target === "api"
  }
}

/**
 * A fault rule: the fault, which requests it hits and how often.
 *
 * - `match`: only requests whose `METHOD /path` matches (e.g. `"GET /v1/meetings"`,
 *   `"POST /v1/meetings/*"`); default: all.
 * - `times`: how many matching requests it hits before it is used up; default: unlimited.
 *
 * @since 0.1.0
 */
export const FaultRuleSchema = Schema.Struct({
  fault: FaultSchema,
  match: Schema.optionalWith(Schema.String, { exact: true }),
  times: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { exact: true })
}).annotations({ identifier: "FaultRule" })

/**
 * A fault rule (see `FaultRuleSchema`).
 *
 * @since 0.1.0
 */
export type FaultRule = typeof FaultRuleSchema.Type

/**
 * `POST /__sandbox/faults` accepts one rule, an array of rules, or `{ rules: [...] }`.
 *
 * @since 0.1.0
 */
export const FaultRulesBody = Schema.Union(
  FaultRuleSchema,
  Schema.Array(FaultRuleSchema),
  Schema.Struct({ rules: Schema.Array(FaultRuleSchema) })
)

const escapeRegExp = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")

/**
 * Whether a rule's `match` pattern covers a request:
 * `"GET /v1/meetings"`, `"POST /v1/meetings/*"`, `"/v1/meetings/*"` (any method) or `"*"`.
 * `*` in the path matches one segment; `**` matches anything.
 *
 * @since 0.1.0
 */
export const matches = (pattern: string | undefined, method: string, path: string): boolean => {
  if (pattern === undefined || pattern.trim() === "" || pattern.trim() === "*") return true
  const parts = pattern.trim().split(/\s+/)
  const [methodPattern, pathPattern] = parts.length >= 2 ? [parts[0]!, parts[1]!] : ["*", parts[0]!]
  if (methodPattern !== "*" && methodPattern.toUpperCase() !== method.toUpperCase()) return false
  const regex = new RegExp(
    "^" + pathPattern.split("**").map((p) => p.split("*").map(escapeRegExp).join("[^/]+")).join(".*") + "/?$"
  )
  return regex.test(path)
}

interface LiveRule {
  readonly fault: Fault
  readonly match: string | undefined
  remaining: number
}

/**
 * The live rules of one sandbox.
 *
 * @since 0.1.0
 */
export interface FaultSet {
  readonly add: (rules: ReadonlyArray<FaultRule>) => void
  readonly clear: () => void
  /** The fault for this request (`api` or `storage`), using up one hit of a counted rule. */
  readonly take: (method: string, path: string, target?: "api" | "storage") => Fault | undefined
  readonly list: () => ReadonlyArray<FaultRule>
}

/**
 * A rule set starting with `initial`.
 *
 * @since 0.1.0
 */
export const make = (initial: ReadonlyArray<FaultRule> | undefined): FaultSet => {
  let rules: Array<LiveRule> = []
  const add = (more: ReadonlyArray<FaultRule>) => {
    for (const r of more) rules.push({ fault: r.fault, match: r.match, remaining: r.times ?? Infinity })
  }
  add(initial ?? [])
  return {
    add,
    clear: () => {
      rules = []
    },
    take: (method, path, target = "api") => {
      const index = rules.findIndex((r) => appliesTo(r.fault, target) && matches(r.match, method, path))
      if (index < 0) return undefined
      const rule = rules[index]!
      rule.remaining--
      if (rule.remaining <= 0) rules.splice(index, 1)
      return rule.fault
    },
    list: () =>
      rules.map((r) => ({
        fault: r.fault,
        ...(r.match === undefined ? {} : { match: r.match }),
        ...(Number.isFinite(r.remaining) ? { times: r.remaining } : {})
      }))
  }
}
