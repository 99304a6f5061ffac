/**
 * Options of the HTTP client and the `Config` that reads them from the environment. The API key is
 * `Redacted` here and is only unwrapped when the request is built.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type { Schedule } from "effect"
import { Config, Duration, Either, Option, Redacted } from "effect"
import * as Endpoint from "./Endpoint.js"
import type { MeetingsError } from "./MeetingsError.js"
import { InvalidConfig } from "./MeetingsError.js"

/**
 * Sent as `User-Agent: lightfield-effect/<version>`; keep in step with package.json.
 *
 * @since 0.1.0
 */
export const version = "0.1.0"

/**
 * The production base URL (paths start with `/v1`).
 *
 * @since 0.1.0
 */
export const DefaultBaseUrl = "https://api.lightfield.app"

/**
 * The only API version that exists (spec §1); owned by `Endpoint.ApiVersion`.
 *
 * @since 0.1.0
 */
export const ApiVersion = Endpoint.ApiVersion

/**
 * The default of every option.
 *
 * @since 0.1.0
 */
export const defaults = {
  baseUrl: DefaultBaseUrl,
  timeout: Duration.seconds(60),
  maxRetries: 2,
  rate: 25,
  retryAfterCap: Duration.seconds(60),
  maxResponseBytes: 16 * 1024 * 1024,
  userAgent: `lightfield-effect/${version}`
} as const

/**
 * Options of the HTTP client (`MeetingsClient.layer`); only `apiKey` is required.
 *
 * @since 0.1.0
 */
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
   * Largest answer body read, in bytes (default 16 MiB); a larger successful answer fails with
   * `UndecodableResponse` instead of being held in memory.
   */
  readonly maxResponseBytes?: number
  /**
   * Replaces the default retry policy (see `MeetingsClient.retrySchedule`). Its input is the typed
   * error of the failed attempt; `maxRetries` and `retryAfterCap` are then ignored.
   */
  readonly retrySchedule?: Schedule.Schedule<unknown, MeetingsError>
  /** Hook to wrap the platform client (tracing, proxies, extra headers). */
  readonly transformClient?: (client: HttpClient.HttpClient) => HttpClient.HttpClient
}

/**
 * `Options` with every default filled in.
 *
 * @since 0.1.0
 */
export interface Resolved {
  readonly apiKey: Redacted.Redacted
  readonly baseUrl: string
  readonly timeout: Duration.Duration
  readonly maxRetries: number
  readonly rate: number | false
  readonly retryAfterCap: Duration.Duration
  readonly userAgent: string
  readonly maxResponseBytes: number
  readonly retrySchedule: Option.Option<Schedule.Schedule<unknown, MeetingsError>>
  readonly transformClient: Option.Option<(client: HttpClient.HttpClient) => HttpClient.HttpClient>
}

/**
 * `Options` with the defaults filled in, unchecked. Prefer `validate`, which `MeetingsClient.make` uses.
 *
 * @since 0.1.0
 */
export const resolve = (options: Options): Resolved => ({
  apiKey: options.apiKey,
  // No trailing slash: paths are appended as `/v1/…`.
  baseUrl: String(options.baseUrl ?? defaults.baseUrl).replace(/\/+$/, ""),
  timeout: Duration.decode(options.timeout ?? defaults.timeout),
  maxRetries: Math.max(0, Math.floor(options.maxRetries ?? defaults.maxRetries)),
  rate: options.rate === undefined ? defaults.rate : options.rate,
  retryAfterCap: Duration.decode(options.retryAfterCap ?? defaults.retryAfterCap),
  userAgent: options.userAgent ?? defaults.userAgent,
  maxResponseBytes: options.maxResponseBytes ?? defaults.maxResponseBytes,
  retrySchedule: Option.fromNullable(options.retrySchedule),
  transformClient: Option.fromNullable(options.transformClient)
})

/** Visible ASCII, no spaces: what a bearer token may hold (and all a `Bearer` header value can carry safely). */
const tokenPattern = /^[\x21-\x7e]+$/

/** Printable ASCII with inner spaces: a safe header value. */
const headerValuePattern = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/

/**
 * A URL's text with anything between `//` and `@` (user info) replaced, for messages.
 *
 * @since 0.1.0
 */
export const withoutCredentials = (url: string): string => url.replace(/\/\/[^/?#]*@/, "//***@")

const durationOf = (input: Duration.DurationInput): Option.Option<Duration.Duration> => {
  try {
    return Option.some(Duration.decode(input))
  } catch {
    return Option.none()
  }
}

/**
 * `Options` checked and with every default filled in, or the first unusable option as
 * `InvalidConfig`. `MeetingsClient.make` (and so every layer) runs it before anything else, so a
 * typo in the base URL or a key with a line break fails the layer, not the first call.
 *
 * @since 0.1.0
 */
export const validate = (options: Options): Either.Either<Resolved, InvalidConfig> => {
  const fail = (option: string, message: string) => Either.left(new InvalidConfig({ option, message }))
  // A bare string (plain JavaScript, a cast) would make `Redacted.value` throw: a defect, not a typed error.
  if (!Redacted.isRedacted(options.apiKey)) {
    return fail("apiKey", "apiKey must be a Redacted value (Redacted.make(key)), or use layerWithApiKey / layerConfig")
  }
  const key = Redacted.value(options.apiKey)
  if (typeof key !== "string" || !tokenPattern.test(key)) {
    return fail(
      "apiKey",
      "apiKey must be a non-empty token of visible ASCII characters (no spaces, line breaks or control characters)"
    )
  }
  const rawUrl = String(options.baseUrl ?? defaults.baseUrl)
  let url: URL
  try {
    url = new URL(rawUrl)
  } catch {
    return fail("baseUrl", `baseUrl ${JSON.stringify(withoutCredentials(rawUrl).slice(0, 200))} is not a URL`)
  }
  const shown = JSON.stringify(withoutCredentials(url.href).slice(0, 200))
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return fail("baseUrl", `baseUrl ${shown} must be an http: or https: URL`)
  }
  if (url.hostname === "") return fail("baseUrl", `baseUrl ${shown} has no host`)
  if (url.username !== "" || url.password !== "") {
    return fail("baseUrl", `baseUrl ${shown} must not carry credentials (the API key goes in apiKey)`)
  }
  if (url.search !== "" || url.hash !== "") {
    return fail("baseUrl", `baseUrl ${shown} must not have a query or fragment (paths are appended to it)`)
  }
  const userAgent = options.userAgent ?? defaults.userAgent
  if (!headerValuePattern.test(userAgent)) {
    return fail("userAgent", "userAgent must be printable ASCII without line breaks or control characters")
  }
  const timeout = durationOf(options.timeout ?? defaults.timeout)
  if (Option.isNone(timeout) || !Duration.greaterThan(timeout.value, Duration.zero)) {
    return fail("timeout", "timeout must be a duration greater than 0")
  }
  const retryAfterCap = durationOf(options.retryAfterCap ?? defaults.retryAfterCap)
  if (Option.isNone(retryAfterCap)) return fail("retryAfterCap", "retryAfterCap must be a duration")
  const maxRetries = options.maxRetries ?? defaults.maxRetries
  if (!Number.isInteger(maxRetries) || maxRetries < 0) return fail("maxRetries", "maxRetries must be an integer ≥ 0")
  const rate = options.rate === undefined ? defaults.rate : options.rate
  if (rate !== false && !(Number.isFinite(rate) && rate > 0)) {
    return fail("rate", "rate must be a number of requests per second greater than 0, or false")
  }
  const maxResponseBytes = options.maxResponseBytes ?? defaults.maxResponseBytes
  if (!Number.isInteger(maxResponseBytes) || maxResponseBytes < 1) {
    return fail("maxResponseBytes", "maxResponseBytes must be an integer ≥ 1")
  }
  return Either.right({
    apiKey: options.apiKey,
    // No trailing slash: paths are appended as `/v1/…`.
    baseUrl: url.href.replace(/\/+$/, ""),
    timeout: timeout.value,
    maxRetries,
    rate,
    retryAfterCap: retryAfterCap.value,
    userAgent,
    maxResponseBytes,
    retrySchedule: Option.fromNullable(options.retrySchedule),
    transformClient: Option.fromNullable(options.transformClient)
  })
}

/**
 * Reads the options from the environment:
 * `LIGHTFIELD_API_KEY` (required, redacted), `LIGHTFIELD_BASE_URL`, `LIGHTFIELD_TIMEOUT` (e.g. `30 seconds`),
 * `LIGHTFIELD_MAX_RETRIES`, `LIGHTFIELD_RATE_PER_SECOND`, `LIGHTFIELD_RETRY_AFTER_CAP`, `LIGHTFIELD_USER_AGENT`,
 * `LIGHTFIELD_MAX_RESPONSE_BYTES`. The values are checked by `validate` when the layer is built.
 *
 * @since 0.1.0
 */
export const config: Config.Config<Options> = Config.all({
  apiKey: Config.redacted("LIGHTFIELD_API_KEY"),
  // Read as text: `validate` checks it (and keeps credentials out of its message).
  baseUrl: Config.string("LIGHTFIELD_BASE_URL").pipe(Config.withDefault(DefaultBaseUrl)),
  timeout: Config.duration("LIGHTFIELD_TIMEOUT").pipe(Config.withDefault(defaults.timeout)),
  maxRetries: Config.integer("LIGHTFIELD_MAX_RETRIES").pipe(
    Config.validate({ message: "LIGHTFIELD_MAX_RETRIES must be 0 or more", validation: (n) => n >= 0 }),
    Config.withDefault(defaults.maxRetries)
  ),
  maxResponseBytes: Config.integer("LIGHTFIELD_MAX_RESPONSE_BYTES").pipe(Config.withDefault(defaults.maxResponseBytes)),
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
