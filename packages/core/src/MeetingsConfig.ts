/**
 * Options of the HTTP client and the `Config` that reads them from the environment. The API key is
 * `Redacted` here and is only unwrapped when the request is built.
 */
import type { HttpClient } from "@effect/platform"
import type { Redacted, Schedule } from "effect"
import { Config, Duration, Option } from "effect"
import * as Endpoint from "./Endpoint.js"
import type { MeetingsError } from "./MeetingsError.js"

/** Sent as `User-Agent: lightfield-effect/<version>`; keep in step with package.json. */
export const version = "0.1.0"

export const DefaultBaseUrl = "https://api.lightfield.app"

/** The only API version that exists (spec §1); owned by `Endpoint.ApiVersion`. */
export const ApiVersion = Endpoint.ApiVersion

export const defaults = {
  baseUrl: DefaultBaseUrl,
  timeout: Duration.seconds(60),
  maxRetries: 2,
  rate: 25,
  retryAfterCap: Duration.seconds(60),
  userAgent: `lightfield-effect/${version}`
} as const

export interface Options {
  /** `sk_lf_…`; stays redacted until the `Authorization` header is set. */
  readonly apiKey: Redacted.Redacted
  /** Default `https://api.lightfield.app` (paths start with `/v1`). */
  readonly baseUrl?: string | URL
  /** Per-attempt timeout; default 60 s. Calls may override it. */
  readonly timeout?: Duration.DurationInput
  /** Retries after the first attempt (transport errors, timeouts, 408, 409, 429, 5xx); default 2. */
  readonly maxRetries?: number
  /** Client-side requests per second per category (Write, Read, Search); default 25. `false` turns it off. */
  readonly rate?: number | false
  /** Longest server-requested delay (`Retry-After`) that is honoured; longer ones are cut to it. Default 60 s. */
  readonly retryAfterCap?: Duration.DurationInput
  /** Default `lightfield-effect/<version>`. */
  readonly userAgent?: string
  /**
   * Replaces the default retry policy (see `MeetingsClient.retrySchedule`). Its input is the typed
   * error of the failed attempt; `maxRetries` and `retryAfterCap` are then ignored.
   */
  readonly retrySchedule?: Schedule.Schedule<unknown, MeetingsError>
  /** Hook to wrap the platform client (tracing, proxies, extra headers). */
  readonly transformClient?: (client: HttpClient.HttpClient) => HttpClient.HttpClient
}

/** `Options` with every default filled in. */
export interface Resolved {
  readonly apiKey: Redacted.Redacted
  readonly baseUrl: string
  readonly timeout: Duration.Duration
  readonly maxRetries: number
  readonly rate: number | false
  readonly retryAfterCap: Duration.Duration
  readonly userAgent: string
  readonly retrySchedule: Option.Option<Schedule.Schedule<unknown, MeetingsError>>
  readonly transformClient: Option.Option<(client: HttpClient.HttpClient) => HttpClient.HttpClient>
}

export const resolve = (options: Options): Resolved => ({
  apiKey: options.apiKey,
  // No trailing slash: paths are appended as `/v1/…`.
  baseUrl: String(options.baseUrl ?? defaults.baseUrl).replace(/\/+$/, ""),
  timeout: Duration.decode(options.timeout ?? defaults.timeout),
  maxRetries: Math.max(0, Math.floor(options.maxRetries ?? defaults.maxRetries)),
  rate: options.rate === undefined ? defaults.rate : options.rate,
  retryAfterCap: Duration.decode(options.retryAfterCap ?? defaults.retryAfterCap),
  userAgent: options.userAgent ?? defaults.userAgent,
  retrySchedule: Option.fromNullable(options.retrySchedule),
  transformClient: Option.fromNullable(options.transformClient)
})

/**
 * Reads the options from the environment:
 * `LIGHTFIELD_API_KEY` (required, redacted), `LIGHTFIELD_BASE_URL`, `LIGHTFIELD_TIMEOUT` (e.g. `30 seconds`),
 * `LIGHTFIELD_MAX_RETRIES`, `LIGHTFIELD_RATE_PER_SECOND`, `LIGHTFIELD_RETRY_AFTER_CAP`, `LIGHTFIELD_USER_AGENT`.
 */
export const config: Config.Config<Options> = Config.all({
  apiKey: Config.redacted("LIGHTFIELD_API_KEY"),
  baseUrl: Config.url("LIGHTFIELD_BASE_URL").pipe(Config.withDefault(new URL(DefaultBaseUrl))),
  timeout: Config.duration("LIGHTFIELD_TIMEOUT").pipe(Config.withDefault(defaults.timeout)),
  maxRetries: Config.integer("LIGHTFIELD_MAX_RETRIES").pipe(
    Config.validate({ message: "LIGHTFIELD_MAX_RETRIES must be 0 or more", validation: (n) => n >= 0 }),
    Config.withDefault(defaults.maxRetries)
  ),
  rate: Config.number("LIGHTFIELD_RATE_PER_SECOND").pipe(
    Config.validate({
      message: "LIGHTFIELD_RATE_PER_SECOND must be greater than 0",
      validation: (n) => n > 0
    }),
    Config.withDefault(defaults.rate)
  ),
  retryAfterCap: Config.duration("LIGHTFIELD_RETRY_AFTER_CAP").pipe(Config.withDefault(defaults.retryAfterCap)),
  userAgent: Config.option(Config.string("LIGHTFIELD_USER_AGENT"))
}).pipe(
  Config.map(({ userAgent, ...rest }): Options =>
    Option.match(userAgent, { onNone: () => rest, onSome: (userAgent) => ({ ...rest, userAgent }) })
  )
)
