/**
 * Checks for numeric and duration options: each answers the value or what is wrong with it (the
 * caller picks the typed error), so a bad option never spins, crashes or dies.
 */
import { Duration, Either, Option } from "effect"

/** An integer in `[min, max]`. */
export const integer = (
  name: string,
  value: number,
  range: { readonly min: number; readonly max?: number }
): Either.Either<number, string> => {
  const max = range.max ?? Number.MAX_SAFE_INTEGER
  return Number.isInteger(value) && value >= range.min && value <= max
    ? Either.right(value)
    : Either.left(`${name} must be an integer from ${range.min}${max === Number.MAX_SAFE_INTEGER ? " up" : ` to ${max}`} (got ${String(value)})`)
}

/**
 * A duration: `positive` refuses zero; `finite` refuses `Infinity`. Negative durations and strings
 * `Duration.decode` cannot read are refused.
 */
export const duration = (
  name: string,
  input: Duration.DurationInput,
  rules: { readonly positive: boolean; readonly finite: boolean }
): Either.Either<Duration.Duration, string> => {
  const refuse = () =>
    Either.left(
      `${name} must be a ${rules.positive ? "positive" : "non-negative"}${rules.finite ? " finite" : ""} duration ` +
        `such as "30 seconds" (got ${typeof input === "string" ? JSON.stringify(input) : String(input)})`
    )
  // `Duration.decode` reads a negative amount as zero: refuse it here.
  if (typeof input === "number" && (Number.isNaN(input) || input < 0)) return refuse()
  if (typeof input === "bigint" && input < 0n) return refuse()
  if (typeof input === "string" && input.trim().startsWith("-")) return refuse()
  const decoded = Duration.decodeUnknown(input)
  if (Option.isNone(decoded)) return refuse()
  const d = decoded.value
  if (rules.finite && !Duration.isFinite(d)) return refuse()
  if (rules.positive && Duration.lessThanOrEqualTo(d, Duration.zero)) return refuse()
  if (Duration.lessThan(d, Duration.zero)) return refuse()
  return Either.right(d)
}

/** An optional option: `undefined` passes as `undefined`. */
export const optional = <A, B>(
  value: A | undefined,
  check: (value: A) => Either.Either<B, string>
): Either.Either<B | undefined, string> => (value === undefined ? Either.right(undefined) : check(value))
