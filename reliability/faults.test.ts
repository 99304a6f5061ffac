/**
 * Fault matrix through the sandbox: 429 storms, 500/502/503/504, dropped connections (before and
 * after the handler ran), answers slower than the per-attempt timeout, malformed JSON, bodies that
 * violate the schema, unknown valueTypes — each against retrieve, list, create, update, a cache sync
 * and `NetworkFirst` cache reads, both as a short burst (fewer hits than the retries) and as a storm.
 *
 * Every cell ends in its documented typed error (core's `MeetingsError` tags) or in a success after
 * retries — never a defect (`Cause.isDie`) or an interruption, never an unhandled rejection — and
 * while each fault is active the cache keeps answering reads of synced meetings. Writes hit by a
 * dropped answer are executed exactly once (idempotency key reused by the retries).
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import type { MeetingsCache } from "@lightfield-effect/cache"
import type { Meetings, MeetingsError } from "@lightfield-effect/core"
import { MeetingsClient } from "@lightfield-effect/core"
import type { Sandbox } from "@lightfield-effect/sandbox"
import { Cause, Duration, Effect, Exit, Logger, LogLevel, Option } from "effect"
import { join } from "node:path"
import * as Env from "./lib/Env.js"
import * as Run from "./lib/Run.js"
import { Tally } from "./lib/Summary.js"

const tally = new Tally("faults", "fault matrix")
afterAll(() => {
  Run.record(tally)
})

/**
 * Per-attempt timeout of the calls under a latency fault (the fault is well above it). Other calls
 * keep a generous timeout, so a loaded machine cannot turn them into timeouts.
 */
const shortTimeout = Duration.millis(300)
const callTimeout = (kind: FaultKind) => (kind === "Latency" ? shortTimeout : Duration.seconds(5))

const clientOptions: Env.ClientOptions = {
  timeout: Duration.seconds(5),
  maxRetries: 2,
  retryAfterCap: Duration.millis(100),
  // Same shape as the default policy, compressed so a storm costs a fraction of a second.
  retrySchedule: MeetingsClient.retrySchedule({
    maxRetries: 2,
    base: Duration.millis(20),
    maxDelay: Duration.millis(100),
    retryAfterCap: Duration.millis(100)
  })
}

type Op =
  | "retrieve"
  | "list"
  | "create"
  | "update"
  | "cache.create"
  | "cache.sync"
  | "cache.get NetworkFirst"
  | "cache.list NetworkFirst"

const ops: ReadonlyArray<Op> = [
  "retrieve",
  "list",
  "create",
  "update",
  "cache.create",
  "cache.sync",
  "cache.get NetworkFirst",
  "cache.list NetworkFirst"
]

const routeOf: Record<Op, string> = {
  retrieve: "GET /v1/meetings/*",
  list: "GET /v1/meetings",
  create: "POST /v1/meetings",
  update: "POST /v1/meetings/*",
  "cache.create": "POST /v1/meetings",
  "cache.sync": "GET /v1/meetings",
  "cache.get NetworkFirst": "GET /v1/meetings/*",
  "cache.list NetworkFirst": "GET /v1/meetings"
}

/** The faults of this matrix (the sandbox may know more). */
type FaultKind =
  | "RateLimit"
  | "Status"
  | "Drop"
  | "DropAfterCommit"
  | "Latency"
  | "MalformedJson"
  | "SchemaViolation"
  | "UnknownValueType"

interface Env {
  readonly sb: Sandbox.SandboxShape
  readonly api: Meetings.MeetingsShape
  readonly cache: MeetingsCache.MeetingsCacheShape
  readonly syncedId: string
  /** Titles of the creates sent during the matrix: each must exist exactly once on the server at the end. */
  readonly titles: Array<string>
}

/** A typed error's label: its tag, plus the reason/status that tells storms apart. */
const errorLabel = (e: MeetingsError.MeetingsError | { readonly _tag: string }): string =>
  e._tag === "MeetingsUnavailable" && "reason" in e ? `MeetingsUnavailable/${e.reason}` : e._tag

/** What the cell must end in. Reads through the cache fall back to SQLite when the API is unreachable. */
const expected = (kind: FaultKind, storm: boolean, op: Op): ReadonlyArray<string> => {
  const viaCache = op === "cache.get NetworkFirst" || op === "cache.list NetworkFirst"
  if (kind === "UnknownValueType") return ["success"]
  // A 200 whose body is not a meeting is final (no retry), and not "unreachable" for the cache.
  if (kind === "MalformedJson" || kind === "SchemaViolation") return ["UndecodableResponse"]
  if (!storm) return viaCache ? ["success", "success (from cache)"] : ["success"]
  // Write-through: an unreachable API queues the create in the outbox (same idempotency key).
  if (op === "cache.create") return ["success (queued)"]
  // A list page does not say where it came from; a get does.
  if (op === "cache.list NetworkFirst") return ["success"]
  if (op === "cache.get NetworkFirst") return ["success (from cache)"]
  switch (kind) {
    case "RateLimit":
      return ["RateLimited"]
    case "Status":
      return ["MeetingsUnavailable/Server"]
    case "Drop":
    case "DropAfterCommit":
      return ["MeetingsUnavailable/Transport"]
    case "Latency":
      return ["MeetingsUnavailable/Timeout"]
  }
}

const setup = Effect.gen(function*() {
  const rng = Run.prng("faults-env")
  const dir = yield* Env.tempDir("faults")
  const sb = yield* Env.sandbox({ meetings: 40, seed: rng.int(1, 1_000_000) })
  const baseUrl = yield* sb.baseUrl
  const key = sb.keys.member
  const api = yield* Env.client(baseUrl, key, clientOptions)
  const cache = yield* Env.cache({ baseUrl, apiKey: key, db: join(dir, "cache.db"), client: clientOptions })
  yield* cache.sync()
  const syncedId = (yield* sb.meetings)[3]!.id
  return { sb, api, cache, syncedId, titles: [] } satisfies Env
})

let createCounter = 0

const createParams = (env: Env) => {
  const title = `fault create ${Run.seed()} ${++createCounter}`
  env.titles.push(title)
  const now = Date.now()
  return {
    fields: {
      $title: title,
      $startDate: new Date(now - 7_200_000).toISOString(),
      $endDate: new Date(now - 3_600_000).toISOString(),
      $description: "created under a fault"
    }
  }
}

const runOp = (env: Env, op: Op, timeout: Duration.Duration) =>
  Effect.gen(function*() {
    switch (op) {
      case "retrieve":
        return yield* Effect.as(env.api.retrieve(env.syncedId, { timeout }), "network")
      case "list":
        return yield* Effect.as(env.api.list({ limit: 25 }, { timeout }), "network")
      case "create":
        yield* env.api.create(createParams(env), { timeout })
        return "network"
      case "cache.create": {
        const answer = yield* env.cache.create(createParams(env), { timeout })
        return answer.pending ? "queued" : "network"
      }
      case "update":
        return yield* Effect.as(env.api.update(env.syncedId, { fields: { $privacySetting: "FULL" } }, { timeout }), "network")
      case "cache.sync":
        return yield* Effect.as(env.cache.sync({ timeout }), "network")
      case "cache.get NetworkFirst":
        return (yield* env.cache.retrieve(env.syncedId, { policy: "NetworkFirst", timeout })).source
      case "cache.list NetworkFirst":
        return yield* Effect.as(env.cache.list({ limit: 10 }, { policy: "NetworkFirst", timeout }), "network")
    }
  })

/** Run one cell; returns its outcome label, counting defects. */
const cell = (env: Env, kind: FaultKind, fault: Sandbox.Fault, storm: boolean, op: Op, times: number) =>
  Effect.gen(function*() {
    yield* env.sb.clearFaults
    yield* env.sb.inject({ fault, match: routeOf[op], ...(storm ? {} : { times }) })
    const exit = yield* Effect.exit(runOp(env, op, callTimeout(kind)))
    yield* env.sb.clearFaults
    tally.trials++
    let label: string
    if (Exit.isSuccess(exit)) {
      label = exit.value === "cache" ? "success (from cache)" : exit.value === "queued" ? "success (queued)" : "success"
    } else if (Cause.isDie(exit.cause) || Cause.isInterrupted(exit.cause)) {
      tally.defects++
      label = `DEFECT ${Cause.pretty(exit.cause).split("\n")[0]}`
    } else {
      const failure = Cause.failureOption(exit.cause)
      label = Option.match(failure, { onNone: () => "unknown failure", onSome: errorLabel })
    }
    tally.outcome(label.startsWith("success") ? "success" : label.startsWith("DEFECT") ? "defect" : "typed error")
    const want = expected(kind, storm, op)
    assert.include(want, label, `${kind}${storm ? " storm" : ` ×${times}`} on ${op}: got ${label}, expected ${want.join(" | ")}`)
    return label
  })

/**
 * While the fault hits every route, the cache still answers reads of a synced meeting: CacheFirst and
 * StaleWhileRevalidate from SQLite, NetworkFirst by falling back to SQLite when the API is
 * unreachable. (A 200 whose body is unreadable is not "unreachable" for the cache's documented
 * policy: NetworkFirst passes the typed `UndecodableResponse` through.)
 */
const readsDuringFault = (env: Env, kind: FaultKind, fault: Sandbox.Fault) =>
  Effect.gen(function*() {
    yield* env.sb.clearFaults
    yield* env.sb.inject({ fault })
    const undecodable = kind === "MalformedJson" || kind === "SchemaViolation"
    const reads = [
      ["CacheFirst get", env.cache.retrieve(env.syncedId, { policy: "CacheFirst" }), "success"],
      [
        "StaleWhileRevalidate get",
        env.cache.retrieve(env.syncedId, { policy: "StaleWhileRevalidate", maxAge: 0, timeout: callTimeout(kind) }),
        "success"
      ],
      [
        "NetworkFirst get",
        env.cache.retrieve(env.syncedId, { policy: "NetworkFirst", timeout: callTimeout(kind) }),
        undecodable ? "UndecodableResponse" : "success"
      ]
    ] as const
    for (const [name, read, want] of reads) {
      const exit = yield* Effect.exit(read)
      tally.trials++
      let label: string
      if (Exit.isSuccess(exit)) {
        assert.strictEqual(exit.value.value.id, env.syncedId)
        label = "success"
      } else if (Cause.isDie(exit.cause) || Cause.isInterrupted(exit.cause)) {
        tally.defects++
        label = `DEFECT ${Cause.pretty(exit.cause).split("\n")[0]}`
      } else {
        label = Option.match(Cause.failureOption(exit.cause), { onNone: () => "unknown failure", onSome: errorLabel })
      }
      tally.outcome(label === "success" ? "read served during fault" : "read answered a typed error")
      assert.strictEqual(label, want, `${kind}: ${name} of a synced meeting while the fault is active`)
    }
    const listed = yield* Effect.exit(env.cache.list({ limit: 10 }, { policy: "CacheFirst" }))
    tally.trials++
    tally.outcome("read served during fault")
    assert.isTrue(Exit.isSuccess(listed), `${kind}: CacheFirst list while the fault is active`)
    const queried = yield* Effect.exit(env.cache.query({ limit: 10 }))
    tally.trials++
    tally.outcome("read served during fault")
    assert.isTrue(Exit.isSuccess(queried), `${kind}: local query while the fault is active`)
    // Let background revalidations (StaleWhileRevalidate) meet the fault before it is cleared.
    yield* Effect.sleep(Duration.millis(50))
    yield* env.sb.clearFaults
  })

const matrix = (kind: FaultKind, make: () => Sandbox.Fault) =>
  Effect.gen(function*() {
    const env = yield* setup
    const rng = Run.prng(`faults-${kind}`)
    const unhandledBefore = Run.unhandled()
    for (let round = 0; round < Run.sizes().faultRounds; round++) {
      for (const op of ops) {
        // A burst shorter than the retries (a latency burst hits once: the retries must each answer in time).
        yield* cell(env, kind, make(), false, op, kind === "Latency" ? 1 : rng.int(1, 2))
        yield* cell(env, kind, make(), true, op, 0)
      }
    }
    yield* readsDuringFault(env, kind, make())
    // Once the fault is gone: the outbox drains, every create exists exactly once on the server
    // (those that failed with a typed error included: their request was executed or not, never twice),
    // and the cache syncs.
    const replayed = yield* env.cache.replay
    assert.strictEqual(replayed.remaining + replayed.dead, 0, `${kind}: the outbox drains after the fault`)
    const stored = yield* env.sb.meetings
    for (const title of env.titles) {
      const n = stored.filter((m) => m.fields["$title"]?.value === title).length
      if (n > 1) tally.outcome("create executed twice")
      if (n > 1) tally.duplicated++
      assert.isAtMost(n, 1, `${kind}: "${title}" executed ${n} times`)
    }
    const queuedTitles = (yield* env.cache.query({ limit: 1000 })).map((c) => String(c.value.fields["$title"]?.value ?? ""))
    for (const title of env.titles) {
      const onServer = stored.some((m) => m.fields["$title"]?.value === title)
      const local = queuedTitles.includes(title)
      // A create the cache accepted (queued or confirmed) must have reached the server.
      if (local && !onServer) {
        tally.lost++
        assert.fail(`${kind}: "${title}" was accepted by the cache but never reached the server`)
      }
    }
    const after = yield* Effect.exit(env.cache.sync())
    assert.isTrue(Exit.isSuccess(after), `${kind}: sync after the fault`)
    const unhandled = Run.unhandled() - unhandledBefore
    tally.defects += unhandled
    assert.strictEqual(unhandled, 0, `${kind}: unhandled rejections`)
    return env
  })

const scopedQuiet = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Error))

describe("fault matrix", () => {
  const rng = () => Run.prng("faults")

  it.live("429 storms: RateLimited after the retries, success when the burst is shorter", () =>
    Effect.gen(function*() {
      const r = rng()
      yield* matrix("RateLimit", () => ({ _tag: "RateLimit", retryAfterSeconds: r.pick([0, 1]) }))
    }).pipe(scopedQuiet))

  it.live("500/502/503/504: MeetingsUnavailable{Server} after the retries", () =>
    Effect.gen(function*() {
      const r = rng()
      yield* matrix("Status", () => ({ _tag: "Status", status: r.pick([500, 502, 503, 504] as const) }))
    }).pipe(scopedQuiet))

  it.live("dropped connections: MeetingsUnavailable{Transport}", () =>
    matrix("Drop", () => ({ _tag: "Drop" })).pipe(scopedQuiet))

  it.live("answers dropped after the handler ran: MeetingsUnavailable{Transport}, writes executed exactly once", () =>
    matrix("DropAfterCommit", () => ({ _tag: "DropAfterCommit" })).pipe(scopedQuiet))

  it.live("answers slower than the timeout: MeetingsUnavailable{Timeout}", () =>
    Effect.gen(function*() {
      const r = rng()
      yield* matrix("Latency", () => ({ _tag: "Latency", millis: Duration.toMillis(shortTimeout) + r.int(100, 300) }))
    }).pipe(scopedQuiet))

  it.live("malformed JSON: UndecodableResponse (not retried), cached reads keep answering", () =>
    matrix("MalformedJson", () => ({ _tag: "MalformedJson" })).pipe(scopedQuiet))

  it.live("bodies that violate the schema: UndecodableResponse (not retried), cached reads keep answering", () =>
    matrix("SchemaViolation", () => ({ _tag: "SchemaViolation" })).pipe(scopedQuiet))

  it.live("unknown valueTypes: decoded and kept, in the client and in the cache", () =>
    Effect.gen(function*() {
      const env = yield* matrix("UnknownValueType", () => ({ _tag: "UnknownValueType" }))
      yield* env.sb.inject({ fault: { _tag: "UnknownValueType" } })
      const html = (m: { readonly fields: Readonly<Record<string, { readonly valueType: string } | undefined>> }) =>
        Object.values(m.fields).some((f) => f?.valueType === "HTML")
      assert.isTrue(html(yield* env.api.retrieve(env.syncedId)), "the client keeps the unknown valueType")
      const fresh = yield* env.cache.retrieve(env.syncedId, { policy: "NetworkFirst" })
      assert.isTrue(html(fresh.value), "the cache answers it")
      const cached = yield* env.cache.retrieve(env.syncedId, { policy: "CacheOnly" })
      assert.isTrue(html(cached.value), "the cache stored it")
      yield* env.cache.sync()
      const stored = yield* env.cache.query({ limit: 500 })
      assert.isTrue(stored.length > 0 && stored.every((c) => html(c.value)), "a sync under the fault stores it for every meeting")
      yield* env.sb.clearFaults
    }).pipe(scopedQuiet))
})
