/**
 * The one failure of the sandbox itself: it could not listen.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * The sandbox could not listen (e.g. `EADDRINUSE`: the port is taken).
 *
 * @since 0.1.0
 */
export class SandboxError extends Schema.TaggedError<SandboxError>()("SandboxError", {
  reason: Schema.Literal("Listen"),
  port: Schema.Number,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * A listen failure as a `SandboxError` with a message that says what to do.
 *
 * @since 0.1.0
 */
export const listenError = (port: number, host: string, cause: unknown): SandboxError => {
  const code = typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : undefined
  const detail = code === "EADDRINUSE"
    ? `port ${port} on ${host} is already in use`
    : code === "EACCES"
    ? `no permission to listen on port ${port} on ${host}`
    : `cannot listen on ${host}:${port}: ${cause instanceof Error ? cause.message : String(cause)}`
  return new SandboxError({ reason: "Listen", port, message: `Sandbox ${detail}`, cause })
}
