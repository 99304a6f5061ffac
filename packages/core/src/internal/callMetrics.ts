/**
 * `MeetingsMetrics` tagged per call (`method`, `route`, and `status` where it applies).
 */
import { Metric, MetricLabel } from "effect"
import type { Call } from "./request.js"

const labels = (call: Call<unknown>, ...more: ReadonlyArray<MetricLabel.MetricLabel>) => [
  MetricLabel.make("method", call.method),
  MetricLabel.make("route", call.route),
  ...more
]

// `Metric.taggedWithLabels` makes a new metric key, hashed again on every update. The keys are
// few (method × route × status), so each tagged metric is built once per service and reused.
/** A function from a call (and status) to the metric tagged for it, each built once. */
export const tagged = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>) => {
  const cache = new Map<string, Metric.Metric<Type, In, Out>>()
  return (call: Call<unknown>, status?: string): Metric.Metric<Type, In, Out> => {
    const key = `${call.method} ${call.route} ${status ?? ""}`
    let out = cache.get(key)
    if (out === undefined) {
      out = Metric.taggedWithLabels(
        metric,
        status === undefined ? labels(call) : labels(call, MetricLabel.make("status", status))
      )
      cache.set(key, out)
    }
    return out
  }
}
