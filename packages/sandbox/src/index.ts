/**
 * A local stand-in for the Lightfield meetings API: a real HTTP server on loopback with seeded
 * data, per-key privacy, rate limits, idempotency and switchable faults.
 *
 * @since 0.1.0
 */
export * as Sandbox from "./Sandbox.js"
