/**
 * The HTTP implementation of `Meetings`. It needs only `HttpClient.HttpClient`, so the platform
 * (Node/undici, fetch, …) is chosen by the application.
 *
 * Every call: validates its params with core's schemas before anything is sent, waits for the
 * client-side rate limiter of its category, sends one attempt with a per-attempt timeout, maps the
 * answer to a typed `MeetingsError`, and retries transient failures with a replaceable `Schedule`.
 */
import type { HttpClientError } from "@effect/platform"
import { Headers, HttpClient, HttpClientRequest } from "@effect/platform"
import type { ConfigError } from "effect"
import {
  Array as Arr,
  Chunk,
  Clock,
  Config,
  Duration,
  Effect,
  Fiber,
  Layer,
  Metric,
  MetricLabel,
  Option,
  ParseResult,
  Redacted,
  Ref,
  Schedule,
  Schema,
  Stream
} from "effect"
import * as Endpoint from "./Endpoint.js"
import * as ErrorBody from "./ErrorBody.js"
import * as IdempotencyKey from "./IdempotencyKey.js"
import * as Limiter from "./internal/limiter.js"
import type { Meeting, MeetingListPage } from "./Meeting.js"
import { validateId } from "./Meeting.js"
import * as MeetingCodec from "./MeetingCodec.js"
import { CreateMeetingParams, ListMeetingsParams, MaxLimit, UpdateMeetingParams } from "./MeetingParams.js"
import type { CallOptions, MeetingsShape, StreamOptions, StreamProgress, WriteOptions } from "./Meetings.js"
import { Meetings } from "./Meetings.js"
import * as MeetingsConfig from "./MeetingsConfig.js"
import type { MeetingsError } from "./MeetingsError.js"
import {
  BadRequest,
  Conflict,
  Forbidden,
  IdempotencyConflict,
  InvalidParams,
  MeetingNotFound,
  MeetingsUnavailable,
  RateLimited,
  retryAfterOf,
  scopeFromMessage,
  UndecodableResponse,
  Unauthorized,
  Unprocessable
} from "./MeetingsError.js"
import * as MeetingsMetrics from "./MeetingsMetrics.js"
import * as ParamsProblem from "./ParamsProblem.js"

/** Rate-limit categories (spec §9); kept here for old imports, owned by `Endpoint.Category`. */
export type Category = Endpoint.Category

/** The longest `Idempotency-Key` the API accepts (spec §10); owned by `IdempotencyKey.MaxLength`. */
export const MaxIdempotencyKeyLength = IdempotencyKey.MaxLength

// ---------------------------------------------------------------------------------------------
// Retry policy
// ---------------------------------------------------------------------------------------------

/**
 * Whether a failed attempt is worth another one: transport errors, timeouts, 5xx, 429, 408 and
 * 409, except an `idempotency_conflict` for a request that carried no key (it cannot resolve).
 * 400, 401, 403, 404, 415, 422 and undecodable answers are final.
 */
export const isRetryable = (error: MeetingsError): boolean => {
  switch (error._tag) {
    case "MeetingsUnavailable":
    case "RateLimited":
    case "Conflict":
      return true
    case "IdempotencyConflict":
      return error.idempotencyKey !== undefined
    case "BadRequest":
      return error.status === 408
    default:
      return false
  }
}

/**
 * The default retry policy, as a `Schedule` over the failed attempt's error: at most `maxRetries`
 * (default 2) retries of `isRetryable` errors, exponential backoff from 0.5 s doubling up to 8 s
 * with up to 25 % jitter taken off; a server-requested delay (`retry-after-ms` / `Retry-After`,
 * cut to `retryAfterCap`, default 60 s) replaces the backoff for that attempt.
 */
export const retrySchedule = (options?: {
  readonly maxRetries?: number
  readonly retryAfterCap?: Duration.DurationInput
  readonly base?: Duration.DurationInput
  readonly maxDelay?: Duration.DurationInput
}): Schedule.Schedule<MeetingsError, MeetingsError> => {
  const cap = Duration.decode(options?.retryAfterCap ?? MeetingsConfig.defaults.retryAfterCap)
  const maxDelay = Duration.decode(options?.maxDelay ?? "8 seconds")
  return Schedule.exponential(options?.base ?? "500 millis", 2).pipe(
    Schedule.modifyDelay((_, delay) => Duration.min(delay, maxDelay)),
    Schedule.jitteredWith({ min: 0.75, max: 1 }),
    Schedule.intersect(Schedule.recurs(options?.maxRetries ?? MeetingsConfig.defaults.maxRetries)),
    Schedule.whileInput(isRetryable),
    Schedule.passthrough,
    Schedule.modifyDelay((error: MeetingsError, delay) =>
      Option.match(retryAfterOf(error), { onNone: () => delay, onSome: (asked) => Duration.min(asked, cap) })
    )
  )
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

const headerNumber = (headers: Headers.Headers, name: string): Option.Option<number> =>
  Headers.get(headers, name).pipe(
    Option.map((s) => s.trim()),
    Option.filter((s) => s !== ""),
    Option.map(Number),
    Option.filter((n) => Number.isFinite(n))
  )

/** The server's clock from its `Date` header (falling back to ours), for server timestamps. */
const serverTime = (headers: Headers.Headers, fallback: number): number =>
  Headers.get(headers, "date").pipe(
    Option.map(Date.parse),
    Option.filter((millis) => !Number.isNaN(millis)),
    Option.getOrElse(() => fallback)
  )

/**
 * `retry-after-ms` (milliseconds) first, then `Retry-After` (seconds or an HTTP date, measured
 * against `now`, best the server's `Date`).
 */
export const retryAfterFromHeaders = (headers: Headers.Headers, now: number): Option.Option<Duration.Duration> =>
  headerNumber(headers, "retry-after-ms").pipe(
    Option.filter((ms) => ms >= 0),
    Option.map(Duration.millis),
    Option.orElse(() =>
      Headers.get(headers, "retry-after").pipe(
        Option.flatMap((value) => {
          const trimmed = value.trim()
          if (/^\d+(\.\d+)?$/.test(trimmed)) return Option.some(Duration.seconds(Number(trimmed)))
          const date = Date.parse(trimmed)
          return Number.isNaN(date) ? Option.none() : Option.some(Duration.millis(Math.max(0, date - now)))
        })
      )
    )
  )

const pathOf = (error: ParseResult.ParseError): { readonly path: string; readonly message: string } => {
  const [first] = ParseResult.ArrayFormatter.formatErrorSync(error)
  return first === undefined
    ? { path: "", message: error.message }
    : { path: first.path.map(String).join("."), message: first.message }
}

const decodeErrorBody = Schema.decodeUnknownOption(Schema.parseJson(ErrorBody.ErrorBody))

interface Answer {
  readonly status: number
  readonly headers: Headers.Headers
  readonly text: string
}

/** The spec's default message for each status (§8.2), used when the body is not an API error. */
const defaultMessages: Readonly<Record<number, string>> = ErrorBody.DefaultMessage

const defaultTypes: Readonly<Record<number, string>> = ErrorBody.ErrorType

/**
 * Maps a non-2xx answer to its typed error (spec §8.2) by its STATUS, keeping the server's
 * message/code/param when the body is an API error. A body that is not one (an HTML page from a
 * proxy or gateway) still maps by status, with the spec's default message, so a 408/409/5xx from a
 * proxy stays retryable and a 404 stays `MeetingNotFound`. Only statuses outside 4xx/5xx (1xx,
 * 3xx) become `UndecodableResponse`.
 */
const statusError = (
  call: { readonly id?: string; readonly idempotencyKey?: string },
  answer: Answer,
  retryAfter: Option.Option<Duration.Duration>
): MeetingsError => {
  const { status } = answer
  const body = decodeErrorBody(answer.text).pipe(Option.map(ErrorBody.detail))
  const message = Option.match(body, {
    onNone: () => defaultMessages[status] ?? `HTTP ${status}`,
    onSome: (d) => d.message
  })
  const delay = Option.getOrUndefined(retryAfter)
  if (status >= 500) {
    return new MeetingsUnavailable({ reason: "Server", status, message, retryAfter: delay })
  }
  if (status < 400) {
    return new UndecodableResponse({ status, path: "", message: `Unexpected HTTP ${status}` })
  }
  const detail = Option.getOrUndefined(body)
  switch (status) {
    case 401:
      return new Unauthorized({ message })
    case 403:
      return new Forbidden({ message, scope: Option.getOrUndefined(scopeFromMessage(message)) })
    case 404:
      return new MeetingNotFound({ id: call.id, message })
    case 409:
      return detail?.type === ErrorBody.IdempotencyConflictType
        ? new IdempotencyConflict({ message, idempotencyKey: call.idempotencyKey, retryAfter: delay })
        : new Conflict({ message, retryAfter: delay })
    case 422:
      return new Unprocessable({ message, param: detail?.param })
    case 429:
      return new RateLimited({
        message,
        retryAfter: delay,
        limit: Option.getOrUndefined(headerNumber(answer.headers, "x-ratelimit-limit")),
        remaining: Option.getOrUndefined(headerNumber(answer.headers, "x-ratelimit-remaining"))
      })
    default:
      // 400, 408 (retried), 415 and any other 4xx.
      return new BadRequest({
        status,
        type: detail?.type ?? defaultTypes[status] ?? "bad_request",
        message,
        code: detail?.code,
        param: detail?.param
      })
  }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

const invalid = (param: string, message: string, status: 400 | 422 = 400) =>
  new InvalidParams({ param, message, status })

const validateCreate = ParamsProblem.validator(CreateMeetingParams)
const validateUpdate = ParamsProblem.validator(UpdateMeetingParams)
const validateList = ParamsProblem.validator(ListMeetingsParams)

// ---------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------

interface Call<A> {
  /** Span name, e.g. `Meetings.create`. */
  readonly name: string
  readonly category: Category
  readonly method: Endpoint.Method
  /** Route template for spans and metrics (`/v1/meetings/{id}`): ids never become metric tags. */
  readonly route: string
  readonly path: string
  readonly urlParams?: Record<string, string>
  readonly body?: unknown
  readonly idempotencyKey?: string
  /** The meeting id a 404 refers to. */
  readonly id?: string
  readonly timeout: Option.Option<Duration.DurationInput>
  readonly decode: (text: string) => Effect.Effect<A, ParseResult.ParseError>
}

const decodeMeeting = MeetingCodec.decodeMeetingJsonEffect
const decodePage = MeetingCodec.decodePageJsonEffect

/** The fixed part of a call, from the endpoint table. */
const callOf = (endpoint: Endpoint.Endpoint, id?: string) => ({
  name: `Meetings.${endpoint.name}`,
  category: endpoint.category,
  method: endpoint.method,
  route: endpoint.path,
  path: Endpoint.pathFor(endpoint, id)
})

/** Build the `Meetings` service over the ambient `HttpClient`. */
export const make = (options: MeetingsConfig.Options): Effect.Effect<MeetingsShape, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const config = MeetingsConfig.resolve(options)
    const platform = yield* HttpClient.HttpClient
    const client = Option.match(config.transformClient, { onNone: () => platform, onSome: (f) => f(platform) })

    // One bucket per category, shared by every fiber using this service (it is built once per layer).
    const burst = config.rate === false ? 1 : Math.max(1, Math.floor(config.rate / 2))
    const limiters: Record<Category, Limiter.Limiter> = {
      Write: yield* Limiter.make("Write", { rate: config.rate, burst }),
      Read: yield* Limiter.make("Read", { rate: config.rate, burst }),
      Search: yield* Limiter.make("Search", { rate: config.rate, burst })
    }

    const schedule = Option.getOrElse(
      config.retrySchedule,
      (): Schedule.Schedule<unknown, MeetingsError> =>
        retrySchedule({ maxRetries: config.maxRetries, retryAfterCap: config.retryAfterCap })
    )

    const baseRequest = (call: Call<unknown>, idempotencyKey: Option.Option<string>) => {
      const request = HttpClientRequest.make(call.method)(`${config.baseUrl}${call.path}`, {
        urlParams: call.urlParams ?? {},
        headers: {
          [Endpoint.VersionHeader]: Endpoint.ApiVersion,
          "user-agent": config.userAgent
        },
        acceptJson: true
      }).pipe(HttpClientRequest.bearerToken(config.apiKey))
      const withKey = Option.match(idempotencyKey, {
        onNone: () => request,
        onSome: (key) => HttpClientRequest.setHeader(request, IdempotencyKey.Header, key)
      })
      // `bodyUnsafeJson` sets `Content-Type: application/json`; bodies are schema-validated plain data.
      return call.body === undefined ? withKey : HttpClientRequest.bodyUnsafeJson(withKey, call.body)
    }

    /**
     * Reads the `X-RateLimit-*` headers: once a bucket is empty (or a 429 came), no request of that
     * category starts before the bucket's reset (or the server's `Retry-After`). Reset is a server
     * timestamp, so it is measured against the server's `Date`, not our clock, and capped.
     */
    const observeRateLimit = (
      category: Category,
      answer: Answer,
      now: number,
      serverNow: number,
      retryAfter: Option.Option<Duration.Duration>
    ) => {
      const cap = Duration.toMillis(config.retryAfterCap)
      const remaining = headerNumber(answer.headers, "x-ratelimit-remaining")
      const untilReset = Option.isSome(remaining) && remaining.value <= 0
        ? Option.map(headerNumber(answer.headers, "x-ratelimit-reset"), (seconds) => seconds * 1000 - serverNow)
        : Option.none()
      const untilRetry = answer.status === 429 ? Option.map(retryAfter, Duration.toMillis) : Option.none<number>()
      const waits = Arr.getSomes([untilReset, untilRetry])
      const pause = waits.length === 0
        ? Effect.void
        : limiters[category].pauseUntil(now + Math.min(cap, Math.max(0, ...waits)))
      // Spec §9: the header is the source of truth at runtime; a lower limit lowers our rate.
      const limit = Option.match(headerNumber(answer.headers, "x-ratelimit-limit"), {
        onNone: () => Effect.void,
        onSome: (perSecond) => limiters[category].observeLimit(perSecond)
      })
      return Effect.zipRight(limit, pause)
    }

    const labels = (call: Call<unknown>, ...more: ReadonlyArray<MetricLabel.MetricLabel>) => [
      MetricLabel.make("method", call.method),
      MetricLabel.make("route", call.route),
      ...more
    ]

    // `Metric.taggedWithLabels` makes a new metric key, hashed again on every update. The keys are
    // few (method × route × status), so each tagged metric is built once per service and reused.
    const tagged = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>) => {
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
    const requestsOf = tagged(MeetingsMetrics.requests)
    const latencyOf = tagged(MeetingsMetrics.latency)
    const rateLimitedOf = tagged(MeetingsMetrics.rateLimited)
    const retriesOf = tagged(MeetingsMetrics.retries)

    /** One attempt: limiter, request, body read under the timeout, status mapping, decoding. */
    const attempt = <A>(call: Call<A>, attempts: Ref.Ref<number>, idempotencyKey: Option.Option<string>) =>
      Effect.gen(function*() {
        const n = yield* Ref.updateAndGet(attempts, (n) => n + 1)
        yield* Effect.annotateCurrentSpan("attempt", n)
        yield* limiters[call.category].take
        const timeout = Option.match(call.timeout, { onNone: () => config.timeout, onSome: Duration.decode })
        const started = yield* Clock.currentTimeMillis
        const answer = yield* client.execute(baseRequest(call, idempotencyKey)).pipe(
          Effect.flatMap((response) =>
            Effect.map(response.text, (text): Answer => ({ status: response.status, headers: response.headers, text }))
          ),
          Effect.mapError((cause: HttpClientError.HttpClientError) =>
            new MeetingsUnavailable({ reason: "Transport", message: cause.message, cause })
          ),
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () =>
              new MeetingsUnavailable({ reason: "Timeout", message: `No answer within ${Duration.format(timeout)}` })
          }),
          Effect.tapError((error) =>
            Metric.increment(requestsOf(call, error.reason === "Timeout" ? "timeout" : "transport"))
          )
        )
        const now = yield* Clock.currentTimeMillis
        yield* Effect.annotateCurrentSpan("http.status_code", answer.status)
        yield* Metric.increment(requestsOf(call, String(answer.status)))
        yield* Metric.update(latencyOf(call), now - started)
        if (answer.status === 429) {
          yield* Metric.increment(rateLimitedOf(call))
        }
        const serverNow = serverTime(answer.headers, now)
        const retryAfter = retryAfterFromHeaders(answer.headers, serverNow)
        yield* observeRateLimit(call.category, answer, now, serverNow, retryAfter)
        if (answer.status < 200 || answer.status >= 300) {
          return yield* Effect.fail(statusError(call, answer, retryAfter))
        }
        return yield* call.decode(answer.text).pipe(
          Effect.mapError((error) => new UndecodableResponse({ status: answer.status, ...pathOf(error) }))
        )
      }).pipe(
        Effect.tapError((error) =>
          Effect.logDebug("Lightfield attempt failed").pipe(
            Effect.annotateLogs({ error: error._tag, message: error.message })
          )
        )
      )

    /** A whole call: retries with the schedule, logging and counting each retry. */
    const run = <A>(call: Call<A>): Effect.Effect<A, MeetingsError> =>
      Effect.gen(function*() {
        // The span itself comes from `Effect.fn` on the method, so invalid params are traced too.
        yield* Effect.annotateCurrentSpan({
          "http.request.method": call.method,
          "http.route": call.route,
          "url.path": call.path,
          "lightfield.category": call.category
        })
        const attempts = yield* Ref.make(0)
        const idempotencyKey = Option.fromNullable(call.idempotencyKey)
        const observed = schedule.pipe(
          Schedule.modifyDelayEffect((_, delay) =>
            Effect.logDebug("Lightfield call retrying").pipe(
              Effect.annotateLogs({ delay: Duration.format(delay) }),
              Effect.zipRight(Metric.increment(retriesOf(call))),
              Effect.as(delay)
            )
          )
        )
        return yield* attempt(call, attempts, idempotencyKey).pipe(Effect.retry(observed))
      }).pipe(
        // Keep the bearer token out of logs and span attributes even if a caller reset the defaults.
        Effect.locallyWith(Headers.currentRedactedNames, (names) =>
          names.includes("authorization") ? names : [...names, "authorization"]
        ),
        Effect.annotateLogs({ service: "lightfield", call: call.name })
      )

    const timeoutOf = (options: CallOptions | undefined) => Option.fromNullable(options?.timeout)

    const create = Effect.fn("Meetings.create")(
      function*(params: CreateMeetingParams, options?: WriteOptions) {
        const body = yield* validateCreate(params)
        // One key per logical call, reused by every retry.
        const idempotencyKey = yield* IdempotencyKey.resolve(options?.idempotencyKey)
        return yield* run({
          ...callOf(Endpoint.Meetings.create),
          body,
          idempotencyKey,
          timeout: timeoutOf(options),
          decode: decodeMeeting
        })
      }
    )

    const update = Effect.fn("Meetings.update")(
      function*(id: string, params: UpdateMeetingParams, options?: WriteOptions) {
        const meetingId = yield* validateId(id)
        const body = yield* validateUpdate(params)
        const idempotencyKey = yield* IdempotencyKey.resolve(options?.idempotencyKey)
        return yield* run({
          ...callOf(Endpoint.Meetings.update, meetingId),
          body,
          idempotencyKey,
          id: meetingId,
          timeout: timeoutOf(options),
          decode: decodeMeeting
        })
      }
    )

    const retrieve = Effect.fn("Meetings.retrieve")(
      function*(id: string, options?: CallOptions) {
        const meetingId = yield* validateId(id)
        return yield* run({
          ...callOf(Endpoint.Meetings.retrieve, meetingId),
          id: meetingId,
          timeout: timeoutOf(options),
          decode: decodeMeeting
        })
      }
    )

    const list = Effect.fn("Meetings.list")(
      function*(params?: ListMeetingsParams, options?: CallOptions) {
        const query = yield* validateList(params ?? {})
        const urlParams: Record<string, string> = {}
        if (query.limit !== undefined) urlParams.limit = String(query.limit)
        if (query.offset !== undefined) urlParams.offset = String(query.offset)
        return yield* run({
          ...callOf(Endpoint.Meetings.list),
          urlParams,
          timeout: timeoutOf(options),
          decode: decodePage
        })
      }
    )

    const stream = (options?: StreamOptions) => scan(list, options)

    return { create, update, retrieve, list, stream } satisfies MeetingsShape
  })

// ---------------------------------------------------------------------------------------------
// Stream over all pages
// ---------------------------------------------------------------------------------------------

/** Offsets of the first-seen listing covered by the pages received so far: `[from, to)`. */
interface Covered {
  readonly from: number
  readonly to: number
}

interface ScanState {
  /** `totalCount` of the first page: the listing every existing id must be found in. */
  readonly initialTotal: number
  readonly latestTotal: number
  /** The initial listing's `[0, reach)` is covered by the pages received so far. */
  readonly reach: number
  readonly pages: number
}

/** The first offset of the initial listing no page has covered yet. */
const firstGap = (state: ScanState): Option.Option<number> =>
  state.reach < state.initialTotal ? Option.some(state.reach) : Option.none()

/**
 * Adds a page's interval to the coverage `[0, reach)` and returns the new reach. Pages that land
 * beyond the reach (they came back out of order, or a gap precedes them) wait in `ahead`, sorted by
 * `from`, until the reach grows up to them: each page is handled in O(|ahead|), which stays about
 * the page concurrency, instead of re-sorting every interval seen so far.
 */
const extendReach = (reach: number, ahead: Array<Covered>, page: Covered): number => {
  if (page.from > reach) {
    let i = ahead.length
    while (i > 0 && ahead[i - 1]!.from > page.from) i--
    ahead.splice(i, 0, page)
    return reach
  }
  let next = Math.max(reach, page.to)
  while (ahead.length > 0 && ahead[0]!.from <= next) next = Math.max(next, ahead.shift()!.to)
  return next
}

/**
 * `Stream.mapEffect(f, { concurrency })` for a list known up front: the results in input order,
 * with up to `concurrency` of them in flight (refilled before each result is emitted, so the
 * fetches go on while the consumer works). `Stream.mapEffect` does the same through a queue of
 * deferreds and a fiber per element; in a full sync that plumbing cost ~0.4 ms per page, about as
 * much as fetching and decoding it. Here each element is one fiber forked into the stream's scope
 * and joined in turn, so when the stream ends early, fails or is interrupted, the scope interrupts
 * the fetches still running. A failure surfaces when its element's turn comes (each attempt is
 * bounded by its timeout).
 */
const inOrder = <I, A, E>(
  items: ReadonlyArray<I>,
  concurrency: number,
  f: (item: I) => Effect.Effect<A, E>
): Stream.Stream<A, E> =>
  Stream.unwrapScoped(
    Effect.map(Effect.scope, (scope) => {
      const inFlight: Array<Fiber.RuntimeFiber<A, E>> = []
      let next = 0
      const fill = Effect.suspend(() => {
        const start = inFlight.length
        const n = Math.min(concurrency - start, items.length - next)
        if (n <= 0) return Effect.void
        const batch = items.slice(next, next + n)
        next += n
        return Effect.forEach(batch, (item) => Effect.forkIn(f(item), scope), { discard: false }).pipe(
          Effect.map((fibers) => {
            inFlight.push(...fibers)
          })
        )
      })
      const pull: Effect.Effect<A, Option.Option<E>> = Effect.zipRight(
        fill,
        Effect.suspend(() => {
          const head = inFlight.shift()
          if (head === undefined) return Effect.fail(Option.none())
          return Fiber.join(head).pipe(Effect.mapError(Option.some), Effect.zipLeft(fill))
        })
      )
      return Stream.repeatEffectOption(pull)
    })
  )

/**
 * Every meeting once, page by page. New meetings are listed first, so inserts during the scan shift
 * older ones to later offsets: a page at `offset` read while `totalCount` had grown by `d` shows the
 * initial listing's `[offset - d, offset - d + n)`. Pages planned from the first `totalCount` are
 * fetched with bounded concurrency; duplicates from the shift are dropped by id; then any part of
 * the initial listing no page covered (items shifted past a page boundary, or the tail pushed
 * beyond the planned pages) is fetched at its shifted offset until everything is covered and the
 * end rule (fewer than `limit`, or `offset + n >= totalCount`) held for the tail.
 */
const scan = (
  list: (params?: ListMeetingsParams, options?: CallOptions) => Effect.Effect<MeetingListPage, MeetingsError>,
  options: StreamOptions | undefined
): Stream.Stream<Meeting, MeetingsError> =>
  Stream.unwrap(
    Effect.gen(function*() {
      const limit = options?.pageSize ?? MaxLimit
      if (!Number.isInteger(limit) || limit < 1 || limit > MaxLimit) {
        return yield* Effect.fail(invalid("pageSize", `pageSize must be an integer from 1 to ${MaxLimit}`))
      }
      const concurrency = Math.max(1, Math.floor(options?.concurrency ?? 2))
      const callOptions: CallOptions = options?.timeout === undefined ? {} : { timeout: options.timeout }
      // The ids emitted so far: a mutable set local to this run of the stream (adding an id is O(1);
      // an immutable set would be copied on every page, O(N²/pageSize) over a large listing). It is
      // only touched inside `Ref.modify`, so concurrent pages update it one at a time.
      const seen = new Set<string>()
      // Covered intervals past the reach; like `seen`, only touched inside `Ref.modify`.
      const ahead: Array<Covered> = []
      const state = yield* Ref.make<ScanState>({
        initialTotal: 0,
        latestTotal: 0,
        reach: 0,
        pages: 0
      })

      const fetchPage = (offset: number): Effect.Effect<Chunk.Chunk<Meeting>, MeetingsError> =>
        list({ limit, offset }, callOptions).pipe(
          Effect.flatMap((page) =>
            Ref.modify(state, (s): [[Chunk.Chunk<Meeting>, StreamProgress], ScanState] => {
              const initialTotal = s.pages === 0 ? page.totalCount : s.initialTotal
              const drift = page.totalCount - initialTotal
              const n = page.data.length
              const ended = n < limit || offset + n >= page.totalCount
              const from = offset - drift
              const fresh = page.data.filter((m) => !seen.has(m.id))
              for (const m of fresh) seen.add(m.id)
              const next: ScanState = {
                initialTotal,
                latestTotal: page.totalCount,
                reach: extendReach(s.reach, ahead, { from, to: ended ? Number.POSITIVE_INFINITY : from + n }),
                pages: s.pages + 1
              }
              return [
                [Chunk.unsafeFromArray(fresh), {
                  pages: next.pages,
                  items: seen.size,
                  totalCount: page.totalCount,
                  complete: false
                }],
                next
              ]
            })
          ),
          Effect.tap(([, progress]) => (options?.onProgress === undefined ? Effect.void : options.onProgress(progress))),
          Effect.map(([chunk]) => chunk)
        )

      const first = Stream.fromEffect(fetchPage(0))

      // The remaining pages of the first `totalCount` (none if the first page already ended).
      const planned = Stream.unwrap(
        Effect.map(Ref.get(state), (s) => {
          const pages = Option.isSome(firstGap(s)) ? Math.ceil(s.initialTotal / limit) - 1 : 0
          return inOrder(Arr.makeBy(Math.max(0, pages), (i) => (i + 1) * limit), concurrency, fetchPage)
        })
      )

      // Each gap fetch covers at least the gap's first offset unless more meetings were inserted in
      // between; bound the extra pages so an endless stream of inserts cannot keep us here forever.
      const gapOffset = Effect.map(Ref.get(state), (s) =>
        Option.map(firstGap(s), (gap) => Math.max(0, gap + s.latestTotal - s.initialTotal))
      )
      const gaps = Stream.unwrap(
        Effect.map(Ref.get(state), (s) => {
          const maxExtraPages = Math.ceil(s.initialTotal / limit) + 10
          return Stream.paginateChunkEffect(
            { offset: Option.none<number>(), extra: 0 },
            ({ extra, offset }): Effect.Effect<
              readonly [Chunk.Chunk<Meeting>, Option.Option<{ offset: Option.Option<number>; extra: number }>],
              MeetingsError
            > =>
              Effect.gen(function*() {
                const chunk = Option.isSome(offset) ? yield* fetchPage(offset.value) : Chunk.empty<Meeting>()
                const next = yield* gapOffset
                if (Option.isSome(next) && extra >= maxExtraPages) {
                  yield* Effect.logWarning("Lightfield stream stopped filling gaps: meetings kept being inserted")
                  return [chunk, Option.none()] as const
                }
                return [chunk, Option.map(next, (o) => ({ offset: Option.some(o), extra: extra + 1 }))] as const
              })
          )
        })
      )

      // The closing event says whether the scan covered the whole listing.
      const closing = Stream.execute(
        Effect.flatMap(Ref.get(state), (s) =>
          options?.onProgress === undefined ? Effect.void : options.onProgress({
            pages: s.pages,
            items: seen.size,
            totalCount: s.latestTotal,
            complete: Option.isNone(firstGap(s))
          }))
      )

      return Stream.concat(Stream.concat(Stream.flattenChunks(Stream.concat(first, planned)), gaps), closing)
    })
  ).pipe(Stream.withSpan("Meetings.stream"))

// ---------------------------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------------------------

/** `Meetings` over HTTP with the given options. */
export const layer = (options: MeetingsConfig.Options): Layer.Layer<Meetings, never, HttpClient.HttpClient> =>
  Layer.effect(Meetings, make(options))

/** `Meetings` over HTTP, options read from `Config` (default: `MeetingsConfig.config`, the environment). */
export const layerConfig = (
  config: Config.Config<MeetingsConfig.Options> = MeetingsConfig.config
): Layer.Layer<Meetings, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.effect(Meetings, Effect.flatMap(config, make))


/**
 * For callers that hold the key as a plain string (tests against the sandbox): wraps it in
 * `Redacted` at once. Applications should read it with `Config.redacted` (`layerConfig`).
 */
export const layerWithApiKey = (
  apiKey: string,
  options?: Omit<MeetingsConfig.Options, "apiKey">
): Layer.Layer<Meetings, never, HttpClient.HttpClient> => layer({ ...options, apiKey: Redacted.make(apiKey) })
