/**
 * How the pipeline's outcome becomes an HTTP response: the reply as JSON with the rate-limit
 * headers, or what an answer fault makes of it (a rewritten body, extra headers, a padded body
 * streamed in chunks, a destroyed socket).
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Duration, Effect, Stream } from "effect"
import type * as Auth from "./auth.js"
import type { Fault } from "../Faults.js"
import * as RateLimiter from "./rateLimiter.js"
import type * as Reply from "./reply.js"

/** What the pipeline decided for one request. */
export interface Outcome {
  readonly reply: Reply.Reply
  readonly decision: RateLimiter.Decision
  readonly principal: Auth.Principal | undefined
  readonly replayed: boolean
  readonly fault: Fault | undefined
  /** Close the socket instead of answering. */
  readonly drop: boolean
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

export const toResponse = (outcome: Outcome): HttpServerResponse.HttpServerResponse => {
  const { decision, fault, reply } = outcome
  const headers = {
    ...RateLimiter.headers(decision),
    ...reply.headers,
    ...(fault?._tag === "Headers" ? fault.headers : {})
  }
  if (fault?._tag === "Respond" && fault.body !== undefined) {
    return HttpServerResponse.text(fault.body, {
      status: fault.status,
      contentType: fault.contentType ?? respondContentType,
      headers
    })
  }
  if (fault?._tag === "MalformedJson") {
    return HttpServerResponse.text(malformedBody, { status: 200, contentType: "application/json", headers })
  }
  const isSuccess = reply.status >= 200 && reply.status < 300
  const body = fault?._tag === "SchemaViolation"
    ? withSchemaViolation(reply.body)
    : fault?._tag === "UnknownValueType" && isSuccess
    ? withUnknownValueType(reply.body)
    : fault?._tag === "ShortPage" && isSuccess
    ? withShortPage(reply.body, fault.keep)
    : reply.body
  const status = fault?._tag === "SchemaViolation" ? 200 : reply.status
  if (fault?._tag === "HugeBody") {
    const huge = hugeBody(body, fault.bytes)
    return HttpServerResponse.stream(huge.chunks, {
      status,
      contentType: "application/json",
      headers,
      ...(fault.declareLength === true ? { contentLength: huge.length } : {})
    })
  }
  const contentType = fault?._tag === "Respond" ? fault.contentType ?? "application/json" : "application/json"
  return HttpServerResponse.text(JSON.stringify(body), { status, contentType, headers })
}

/** Close the connection without an answer; the server interrupts this fiber when the socket closes. */
export const destroySocket = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.sync(() => NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()).pipe(
    Effect.zipRight(Effect.sleep(Duration.seconds(5))),
    Effect.as(HttpServerResponse.empty({ status: 499 }))
  )
