/**
 * Spans per call (issue 14): with no tracer installed, one span per call (the method's) and no
 * platform span per attempt, the call span's trace headers still sent; with a tracer installed,
 * the platform's `http.client` span per attempt as before. The platform client at the bottom is a
 * stand-in that records the span its request runs under and the headers it got (the sandbox cannot
 * show spans).
 */
import { assert, describe, it } from "@effect/vitest"
import { HttpClient, HttpClientResponse, type Headers } from "@effect/platform"
import { Context, DefaultServices, Effect, Redacted, Stream, Tracer } from "effect"
import { MeetingsClient } from "../src/index.js"

interface Seen {
  readonly span: Tracer.AnySpan | undefined
  readonly headers: Headers.Headers
}

const emptyPage = JSON.stringify({ data: [], object: "list", totalCount: 0 })

/** A client whose platform records what each attempt saw, and answers an empty page. */
const recordingClient = Effect.gen(function*() {
  const seen: Array<Seen> = []
  const platform = HttpClient.make((request, _url, _signal, fiber) =>
    Effect.sync(() => {
      seen.push({ span: fiber.currentSpan, headers: request.headers })
      return HttpClientResponse.fromWeb(
        request,
        new Response(emptyPage, { status: 200, headers: { "content-type": "application/json" } })
      )
    })
  )
  const meetings = yield* MeetingsClient.make({ apiKey: Redacted.make("sk_test"), baseUrl: "http://api.test" }).pipe(
    Effect.provideService(HttpClient.HttpClient, platform)
  )
  return { meetings, seen }
})

/** A tracer of its own (so "a tracer is installed"), recording span names, native spans inside. */
const recordingTracer = () => {
  const names: Array<string> = []
  const native = Context.get(DefaultServices.liveServices, Tracer.Tracer)
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      names.push(name)
      return native.span(name, parent, context, links, startTime, kind, options)
    },
    context: (f) => f()
  })
  return { names, tracer }
}

const traceparentOf = (span: Tracer.Span) => `00-${span.traceId}-${span.spanId}-01`

describe("spans", () => {
  it.effect("with no tracer installed, an attempt runs under the call's span, which its trace headers name", () =>
    Effect.gen(function*() {
      const { meetings, seen } = yield* recordingClient
      yield* meetings.list({ limit: 1 })
      const [attempt] = seen
      assert.strictEqual(attempt?.span?._tag, "Span")
      const span = attempt!.span as Tracer.Span
      assert.strictEqual(span.name, "Meetings.list")
      assert.strictEqual(attempt!.headers["traceparent"], traceparentOf(span))
      assert.match(attempt!.headers["b3"] ?? "", new RegExp(`^${span.traceId}-${span.spanId}-1`))
    }))

  it.effect("with a tracer installed, each attempt keeps the platform's own span, a child of the call's", () =>
    Effect.gen(function*() {
      const { meetings, seen } = yield* recordingClient
      const { names, tracer } = recordingTracer()
      yield* meetings.list({ limit: 1 }).pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual(names, ["Meetings.list", "http.client GET"])
      const span = seen[0]!.span as Tracer.Span
      assert.strictEqual(span.name, "http.client GET")
      assert.strictEqual(span.parent._tag === "Some" && span.parent.value._tag === "Span" && span.parent.value.name, "Meetings.list")
      assert.strictEqual(seen[0]!.headers["traceparent"], traceparentOf(span))
    }))

  it.effect("each page of a stream is a Meetings.list span inside the Meetings.stream span", () =>
    Effect.gen(function*() {
      const { meetings, seen } = yield* recordingClient
      yield* Stream.runDrain(meetings.stream())
      const span = seen[0]!.span as Tracer.Span
      assert.strictEqual(span.name, "Meetings.list")
      assert.strictEqual(span.parent._tag === "Some" && span.parent.value._tag === "Span" && span.parent.value.name, "Meetings.stream")
    }))

  it.effect("with propagation off, no trace headers are sent, whichever tracer", () =>
    Effect.gen(function*() {
      const { meetings, seen } = yield* recordingClient
      const { tracer } = recordingTracer()
      yield* meetings.list({ limit: 1 }).pipe(Effect.locally(HttpClient.currentTracerPropagation, false))
      yield* meetings.list({ limit: 1 }).pipe(
        Effect.withTracer(tracer),
        Effect.locally(HttpClient.currentTracerPropagation, false)
      )
      assert.strictEqual(seen.length, 2)
      for (const { headers } of seen) {
        assert.isUndefined(headers["traceparent"])
        assert.isUndefined(headers["b3"])
      }
    }))
})
