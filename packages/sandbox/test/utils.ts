import { HttpBody, HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { ErrorBody, Meeting } from "@lightfield-effect/core"
import { Duration, Effect, Layer, Schedule, Schema } from "effect"
import * as Sandbox from "../src/Sandbox.js"

export interface SendOptions {
  /** Bearer key; omitted = no Authorization header. */
  readonly key?: string
  /** `null` leaves the version header out. */
  readonly version?: string | null
  readonly body?: unknown
  readonly rawBody?: string
  readonly contentType?: string
  readonly headers?: Readonly<Record<string, string>>
}

export interface Sent {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly text: string
}

/** One real HTTP request to the sandbox in context. */
export const send = (method: "GET" | "POST" | "DELETE", path: string, options: SendOptions = {}) =>
  Effect.gen(function*() {
    const sandbox = yield* Sandbox.Sandbox
    const client = yield* HttpClient.HttpClient
    const baseUrl = yield* sandbox.baseUrl
    let request = HttpClientRequest.make(method)(baseUrl + path)
    if (options.key !== undefined) request = HttpClientRequest.bearerToken(request, options.key)
    if (options.version !== null) request = HttpClientRequest.setHeader(request, "Lightfield-Version", options.version ?? "2026-03-01")
    if (options.headers !== undefined) request = HttpClientRequest.setHeaders(request, options.headers)
    if (options.rawBody !== undefined) {
      request = HttpClientRequest.bodyText(request, options.rawBody, options.contentType ?? "application/json")
    } else if (options.body !== undefined) {
      request = HttpClientRequest.bodyText(request, JSON.stringify(options.body), options.contentType ?? "application/json")
    }
    const response = yield* client.execute(request)
    const text = yield* response.text
    const sent: Sent = { status: response.status, headers: response.headers, text }
    return sent
  })

export const json = (sent: Sent): unknown => JSON.parse(sent.text)

/** The error detail of a wrapped error body (fails the test if the body is not wrapped). */
export const errorOf = (sent: Sent) => Schema.decodeUnknown(Schema.parseJson(ErrorBody.WrappedErrorBody))(sent.text).pipe(
  Effect.map((b) => b.error),
  Effect.orDie
)

export const meetingOf = (sent: Sent) =>
  Schema.decodeUnknown(Schema.parseJson(Meeting.Meeting))(sent.text).pipe(Effect.orDie)

export const pageOf = (sent: Sent) =>
  Schema.decodeUnknown(Schema.parseJson(Meeting.MeetingListPage))(sent.text).pipe(Effect.orDie)

/** A create body with dates safely in the past. */
export const createBody = (overrides: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  fields: {
    $title: "Sandbox test meeting",
    $startDate: "2026-01-05T10:00:00.000Z",
    $endDate: "2026-01-05T11:00:00.000Z",
    ...overrides
  },
  ...extra
})

export const testLayer = (options: Sandbox.SandboxOptions = {}) =>
  Layer.merge(Sandbox.layer(options), NodeHttpClient.layerUndici)

/** A sandbox of its own (scoped) plus an HTTP client, for tests that change global knobs. */
export const withSandbox = <A, E, R>(
  options: Sandbox.SandboxOptions,
  f: (sandbox: Sandbox.SandboxShape) => Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    const sandbox = yield* Sandbox.make(options)
    return yield* f(sandbox).pipe(Effect.provideService(Sandbox.Sandbox, sandbox))
  }).pipe(Effect.provide(NodeHttpClient.layerUndici))

/** Poll `self` (every few ms, at most `within`) until `done` holds; dies if it never does. */
export const pollUntil = <A, R>(
  self: Effect.Effect<A, never, R>,
  done: (a: A) => boolean,
  within: Duration.DurationInput = "3 seconds"
) =>
  Effect.filterOrFail(self, done, () => "pending" as const).pipe(
    Effect.retry(Schedule.spaced("2 millis").pipe(Schedule.upTo(within))),
    Effect.orDieWith(() => new Error(`condition not reached within ${Duration.format(Duration.decode(within))}`))
  )

/** The upload session a `POST /v1/files` answers (the parts the tests use). */
export interface Session {
  readonly id: string
  readonly status: string
  readonly uploadUrl: string
  readonly uploadHeaders: Readonly<Record<string, string>>
  readonly expiresAt: string
  readonly sizeBytes: number
}

const encoder = new TextEncoder()

/** Opens an upload session for `content` (text) as `key`. */
export const createFile = (key: string, content: string, extra: Record<string, unknown> = {}) =>
  Effect.gen(function*() {
    const res = yield* send("POST", "/v1/files", {
      key,
      body: { filename: "notes.txt", mimeType: "text/plain", sizeBytes: encoder.encode(content).length, ...extra }
    })
    if (res.status !== 200) return yield* Effect.dieMessage(`create file: ${res.status} ${res.text}`)
    return json(res) as Session
  })

/** A raw `PUT` of `bytes` to a presigned URL with the given headers (the session's, unless told). */
export const putBytes = (url: string, bytes: Uint8Array | string, headers: Readonly<Record<string, string>>) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const body = typeof bytes === "string" ? encoder.encode(bytes) : bytes
    const request = HttpClientRequest.put(url).pipe(
      HttpClientRequest.setBody(HttpBody.uint8Array(body, "")),
      HttpClientRequest.setHeaders(headers)
    )
    const response = yield* client.execute(request)
    const text = yield* response.text
    const sent: Sent = { status: response.status, headers: response.headers, text }
    return sent
  })

/** A file of `key`'s organisation holding `content`, uploaded and `COMPLETED`. */
export const completedFile = (key: string, content = "hello transcript") =>
  Effect.gen(function*() {
    const session = yield* createFile(key, content)
    const put = yield* putBytes(session.uploadUrl, content, session.uploadHeaders)
    if (put.status !== 200) return yield* Effect.dieMessage(`upload: ${put.status} ${put.text}`)
    const done = yield* send("POST", `/v1/files/${session.id}/complete`, { key, body: {} })
    if (done.status !== 200) return yield* Effect.dieMessage(`complete: ${done.status} ${done.text}`)
    return session.id
  })
