/**
 * The logs of a call. Core logs each operation at Debug and leaves the level to the application;
 * a Debug line is only built (annotations, message) when Debug is on, since the fiber would drop it
 * anyway (it checks the minimum level before any logger). Every line core logs for a call carries
 * `service` and `call` (added where it logs; `caller.ts` sets them around the whole call only
 * when code other than core's runs inside it).
 */
import * as Headers from "@effect/platform/Headers"
import type { Fiber } from "effect"
import { Effect, FiberRef, LogLevel } from "effect"

/** The annotations of every log line inside a call. */
export const annotations = (call: { readonly name: string }) => ({ service: "lightfield", call: call.name })

/** Whether `fiber` logs at Debug (a Debug line is dropped otherwise, before any logger). */
export const debugEnabled = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean =>
  !LogLevel.greaterThan(fiber.getFiberRef(FiberRef.currentMinimumLogLevel), LogLevel.Debug)

/** A Debug line with `extra` annotations, built only when the fiber logs at Debug. */
export const debug = (
  message: string,
  extra: Readonly<Record<string, unknown>>
): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) =>
    debugEnabled(fiber) ? Effect.annotateLogs(Effect.logDebug(message), extra) : Effect.void
  )

/**
 * Keeps the bearer token out of logs and span attributes even if a caller reset the platform's
 * redacted header names (they include `authorization` by default: then nothing is changed).
 */
export const withRedactedAuthorization = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime((fiber) =>
    fiber.getFiberRef(Headers.currentRedactedNames).includes("authorization")
      ? self
      : Effect.locallyWith(self, Headers.currentRedactedNames, (names) => [...names, "authorization"])
  )
