/**
 * Fault injection: rules matched against `METHOD /path`, first match wins, optionally used up after
 * `times` hits. The schemas decode faults sent by another process (`POST /__sandbox/faults`) or as
 * a one-off `X-Sandbox-Fault` header.
 */
import { Schema, Stream } from "effect"
import type { Fault, FaultRule } from "./Sandbox.js"

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
    headers: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { exact: true })
  }),
  Schema.TaggedStruct("Headers", { headers: Schema.Record({ key: Schema.String, value: Schema.String }) }),
  Schema.TaggedStruct("ShortPage", { keep: Schema.Int.pipe(Schema.nonNegative()) }),
  Schema.TaggedStruct("HugeBody", {
    bytes: Schema.Int.pipe(Schema.positive()),
    declareLength: Schema.optionalWith(Schema.Boolean, { exact: true })
  })
).annotations({ identifier: "Fault" })

export const FaultRuleSchema = Schema.Struct({
  fault: FaultSchema,
  match: Schema.optionalWith(Schema.String, { exact: true }),
  times: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { exact: true })
}).annotations({ identifier: "FaultRule" })

/** `POST /__sandbox/faults` accepts one rule, an array of rules, or `{ rules: [...] }`. */
export const FaultRulesBody = Schema.Union(
  FaultRuleSchema,
  Schema.Array(FaultRuleSchema),
  Schema.Struct({ rules: Schema.Array(FaultRuleSchema) })
)

// Keep the schema and the pinned public type in step: each must be assignable to the other.
const _sameFault: (f: Fault) => typeof FaultSchema.Type = (f) => f
const _sameFaultBack: (f: typeof FaultSchema.Type) => Fault = (f) => f
void _sameFault
void _sameFaultBack

const escapeRegExp = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")

/**
 * `"GET /v1/meetings"`, `"POST /v1/meetings/*"`, `"/v1/meetings/*"` (any method) or `"*"`.
 * `*` in the path matches one segment; `**` matches anything.
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

export interface FaultSet {
  readonly add: (rules: ReadonlyArray<FaultRule>) => void
  readonly clear: () => void
  /** The fault for this request, using up one hit of a counted rule. */
  readonly take: (method: string, path: string) => Fault | undefined
  readonly list: () => ReadonlyArray<FaultRule>
}

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
    take: (method, path) => {
      const index = rules.findIndex((r) => matches(r.match, method, path))
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

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Apply `f` to every meeting object in a reply body (a meeting, or a list envelope). */
const mapMeetings = (body: unknown, f: (meeting: Record<string, unknown>) => Record<string, unknown>): unknown => {
  if (!isRecord(body)) return body
  if (body.object === "list" && Array.isArray(body.data)) {
    return { ...body, data: body.data.map((m) => (isRecord(m) ? f(m) : m)) }
  }
  if (body.objectType === "meeting") return f(body)
  return body
}

export const unknownValueTypeField = { value: "<p>x</p>", valueType: "HTML" } as const

/** The field key the `UnknownValueType` fault adds (a bare custom slug). */
export const unknownValueTypeKey = "summaryHtml"

export const withUnknownValueType = (body: unknown): unknown =>
  mapMeetings(body, (m) => ({
    ...m,
    fields: { ...(isRecord(m.fields) ? m.fields : {}), [unknownValueTypeKey]: unknownValueTypeField }
  }))

/** Breaks the meeting schema (`objectType: 42`); an error body becomes a bare violating object. */
export const withSchemaViolation = (body: unknown): unknown => {
  const mapped = mapMeetings(body, (m) => ({ ...m, objectType: 42 }))
  return mapped === body ? { id: 42, objectType: 42 } : mapped
}

/** A list envelope cut to its first `keep` items; `totalCount` still counts every item. */
export const withShortPage = (body: unknown, keep: number): unknown =>
  isRecord(body) && body.object === "list" && Array.isArray(body.data)
    ? { ...body, data: body.data.slice(0, keep) }
    : body

/** The custom field (a bare slug, TEXT) that carries a `HugeBody` fault's padding. */
export const hugeBodyKey = "sandboxPadding"

const paddingMarker = "__sandbox_huge_body_padding__"
const paddingChunk = new Uint8Array(64 * 1024).fill(0x78) // "x"
const encoder = new TextEncoder()

/**
 * `body` serialised with one string value of `x`s that makes it `bytes` long (or its natural length,
 * if that is longer): on the first meeting's `sandboxPadding` field, else a top-level `padding` key.
 * The padding is a stream of one shared 64 KiB chunk, so a 1 GB body never exists in memory.
 */
export const hugeBody = (body: unknown, bytes: number): {
  readonly length: number
  readonly chunks: Stream.Stream<Uint8Array>
} => {
  const padded = { value: paddingMarker, valueType: "TEXT" }
  let placed = false
  const withPadding = mapMeetings(body, (m) => {
    if (placed) return m
    placed = true
    return { ...m, fields: { ...(isRecord(m.fields) ? m.fields : {}), [hugeBodyKey]: padded } }
  })
  const target = placed ? withPadding : isRecord(body) ? { ...body, padding: paddingMarker } : { padding: paddingMarker }
  const text = JSON.stringify(target)
  const at = text.indexOf(paddingMarker)
  const head = encoder.encode(text.slice(0, at))
  const tail = encoder.encode(text.slice(at + paddingMarker.length))
  const pad = Math.max(0, bytes - head.length - tail.length)
  const full = Math.floor(pad / paddingChunk.length)
  const rest = paddingChunk.subarray(0, pad % paddingChunk.length)
  return {
    length: head.length + pad + tail.length,
    chunks: Stream.make(head).pipe(
      Stream.concat(Stream.take(Stream.repeatValue(paddingChunk), full)),
      Stream.concat(Stream.make(rest, tail))
    )
  }
}

/** Looks like the start of a meeting and then stops: not JSON. */
export const malformedBody = "{\"id\":\"mtg_"

/** The default `Content-Type` of a `Respond` fault's own `body`. */
export const respondContentType = "text/plain; charset=utf-8"
