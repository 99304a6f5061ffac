/**
 * Rules for what users type that the library's schemas do not cover: dates, read policies and
 * output formats. Light on purpose (effect only): it is loaded on every start.
 */
import type { ReadPolicy } from "@lightfield-effect/cache"
import { DateTime, Effect, Option } from "effect"
import { UsageError } from "./Failure.js"

/**
 * ISO 8601 date-time with a zone: `2026-03-01T09:30Z`, `2026-03-01T09:30:00.000+01:00`. A bare
 * number or a date without a zone is refused rather than read in the machine's local time.
 */
const isoWithZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i

export const instant = (name: string, raw: string): Effect.Effect<DateTime.Utc, UsageError> => {
  const parsed = isoWithZone.test(raw.trim()) ? DateTime.make(raw.trim()) : Option.none()
  return Option.match(parsed, {
    onNone: () =>
      Effect.fail(
        new UsageError({
          message: `--${name} must be an ISO 8601 date-time with a zone (e.g. 2026-03-01T09:30:00Z), got '${raw}'`
        })
      ),
    onSome: (d) => Effect.succeed(DateTime.toUtc(d))
  })
}

/** `--policy` values as a CLI user types them, with the cache's policy each one means. */
export const policyChoices: ReadonlyArray<[string, ReadPolicy.ReadPolicy]> = [
  ["cache-first", "CacheFirst"],
  ["stale-while-revalidate", "StaleWhileRevalidate"],
  ["network-first", "NetworkFirst"],
  ["cache-only", "CacheOnly"]
]

/**
 * The names `--policy` took before (`CacheFirst`, …) keep working: they are rewritten to the
 * kebab-case values before parsing, so help and completions show one spelling.
 */
export const normalizePolicyArgs = (argv: ReadonlyArray<string>): ReadonlyArray<string> => {
  const kebab = (value: string) => policyChoices.find(([, legacy]) => legacy === value)?.[0] ?? value
  return argv.map((arg, i) => {
    if (argv[i - 1] === "--policy") return kebab(arg)
    if (arg.startsWith("--policy=")) return `--policy=${kebab(arg.slice("--policy=".length))}`
    return arg
  })
}

export const formats = ["table", "json", "jsonl", "yaml"] as const
export type Format = (typeof formats)[number]

/** `--json` is `--format json`; asking for both with different formats is a usage error. */
export const format = (json: boolean, chosen: Option.Option<Format>): Effect.Effect<Format, UsageError> =>
  Option.match(chosen, {
    onNone: () => Effect.succeed<Format>(json ? "json" : "table"),
    onSome: (f) =>
      json && f !== "json"
        ? Effect.fail(new UsageError({ message: `--json and --format ${f} ask for different formats` }))
        : Effect.succeed(f)
  })

/** `--base-url` / `LIGHTFIELD_BASE_URL`: an http(s) URL, checked before anything is sent. */
export const baseUrl = (raw: string): Effect.Effect<string, UsageError> => {
  // The value is quoted back unless it may hold credentials (`user:secret@host`).
  const problem = () =>
    new UsageError({ message: `the base URL must be an http(s) URL${raw.includes("@") ? "" : `, got '${raw}'`}` })
  return Effect.try({ try: () => new URL(raw), catch: problem }).pipe(
    Effect.filterOrFail((url) => url.protocol === "http:" || url.protocol === "https:", problem),
    Effect.as(raw)
  )
}
