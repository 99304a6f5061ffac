/**
 * Metrics recorded by `MeetingsClient`. Each request is counted once per attempt, tagged with the
 * HTTP `method`, the route template (`/v1/meetings/{id}`, never the id itself) and the `status`
 * (a number, or `transport` / `timeout` when no response arrived).
 */
import { Metric, MetricBoundaries } from "effect"

/**
 * Every attempt, tagged `method`, `route`, `status`.
 *
 * @since 0.1.0
 */
export const requests = Metric.counter("lightfield_requests_total", {
  description: "HTTP attempts sent to the Lightfield API",
  incremental: true
})

/**
 * Every retry the schedule decided to make, tagged `method`, `route`.
 *
 * @since 0.1.0
 */
export const retries = Metric.counter("lightfield_retries_total", {
  description: "Retries of Lightfield API calls",
  incremental: true
})

/**
 * Every 429 answer (before retries), tagged `method`, `route`.
 *
 * @since 0.1.0
 */
export const rateLimited = Metric.counter("lightfield_rate_limited_total", {
  description: "429 answers from the Lightfield API",
  incremental: true
})

/**
 * Attempt latency in milliseconds (request sent to body read), tagged `method`, `route`.
 *
 * @since 0.1.0
 */
export const latency = Metric.histogram(
  "lightfield_request_duration_ms",
  MetricBoundaries.exponential({ start: 5, factor: 2, count: 14 }),
  "Latency of Lightfield API attempts in milliseconds"
)

/**
 * Time spent waiting for the client-side rate limiter, in milliseconds, tagged `category`.
 *
 * @since 0.1.0
 */
export const limiterWait = Metric.histogram(
  "lightfield_rate_limiter_wait_ms",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 14 }),
  "Time requests waited for the client-side rate limiter"
)
