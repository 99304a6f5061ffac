/**
 * Spans of a call. Each method has its own span (`Effect.fn("Meetings.list")`), annotated with the
 * route, the attempt and the status. The platform client adds one more span per attempt
 * (`http.client GET`: the URL, every header, the status), which costs about as much as the rest
 * of the attempt's bookkeeping. When no tracer is installed (effect's native tracer, which keeps
 * spans only for logs and nested spans), nobody reads it: the call runs with the platform's span
 * turned off, and the request carries the trace headers (`traceparent`, `b3`) of the call's span
 * instead, as the platform would have sent them (unless propagation is off). With a tracer
 * installed the platform's span per attempt is kept as it is.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import type * as Headers from "@effect/platform/Headers"
import type { Fiber } from "effect"
import { Context, DefaultServices, Effect, FiberRef, Tracer } from "effect"

/** The tracer every fiber has unless one is provided. */
const nativeTracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

const always = () => true

/**
 * Runs `self(traceHeaders)`: under the native tracer with the platform's span per attempt off and
 * the call span's trace headers to send (`undefined` when they are not to be sent: another tracer
 * is installed and the platform sends its own, or tracing or propagation is off).
 */
export const withCallSpan = <A, E, R>(
  self: (traceHeaders: Headers.Headers | undefined) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime((fiber) => {
    const tracer = Context.get(fiber.getFiberRef(DefaultServices.currentServices), Tracer.Tracer)
    if (tracer !== nativeTracer) return self(undefined)
    return Effect.locally(self(traceHeaders(fiber)), HttpClient.currentTracerDisabledWhen, always)
  })

const traceHeaders = (fiber: Fiber.RuntimeFiber<unknown, unknown>): Headers.Headers | undefined => {
  const span = fiber.currentSpan
  return span?._tag === "Span" && fiber.getFiberRef(FiberRef.currentTracerEnabled) &&
      fiber.getFiberRef(HttpClient.currentTracerPropagation)
    ? HttpTraceContext.toHeaders(span)
    : undefined
}
