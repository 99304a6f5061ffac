/**
 * PUBLIC INTERFACE OF THE SANDBOX (pinned: other packages' tests code against this shape).
 * The implementation fills in `layer` / `make`; the shape below must not change without updating
 * every user.
 *
 * The sandbox is a local stand-in for the Lightfield meetings API (spec: lightfield-api.md): a
 * real HTTP server on loopback with seeded data, per-key privacy, rate limits, idempotency and
 * switchable faults. Internals live in one module per concept (Store, Seed, Auth, RateLimiter,
 * Idempotency, Faults, Routes, Admin); this module is the public face.
 */
import { HttpRouter } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import type { Meeting } from "@lightfield-effect/core"
import type { Scope } from "effect"
import { Context, Duration, Effect, Layer, Schema } from "effect"
import { createServer } from "node:http"
import * as Admin from "./Admin.js"
import * as Auth from "./Auth.js"
import * as Faults from "./Faults.js"
import * as Idempotency from "./Idempotency.js"
import * as RateLimiter from "./RateLimiter.js"
import * as RequestLog from "./RequestLog.js"
import * as Routes from "./Routes.js"
import * as SandboxClock from "./SandboxClock.js"
import * as Store from "./Store.js"

/** The seeded API keys. All belong to one organisation unless noted. */
export interface SandboxKeys {
  /** Workspace admin: FULL on every meeting, every scope. */
  readonly admin: string
  /** Plain member with every meetings scope: FULL on meetings they organise/attend or that are FULL; METADATA otherwise. */
  readonly member: string
  /** A second plain member (different organiser/attendee set), for two-principal privacy tests. */
  readonly member2: string
  /** Only `meetings:read`: create/update answer 403. */
  readonly readOnly: string
  /** A key of another organisation (own rate-limit buckets, sees none of org 1's meetings). */
  readonly otherOrg: string
}

/** A fault the sandbox can inject. */
export type Fault =
  | { readonly _tag: "Latency"; readonly millis: number }
  | { readonly _tag: "Status"; readonly status: 500 | 502 | 503 | 504 }
  | { readonly _tag: "RateLimit"; readonly retryAfterSeconds: number }
  /** Close the socket without answering, before the handler runs. */
  | { readonly _tag: "Drop" }
  /** Run the handler (so a create is stored), then close the socket without answering. */
  | { readonly _tag: "DropAfterCommit" }
  /** Answer 200 with a body that is not JSON. */
  | { readonly _tag: "MalformedJson" }
  /** Answer 200 with JSON that violates the meeting schema (e.g. `objectType: 42`). */
  | { readonly _tag: "SchemaViolation" }
  /** Add a field with an undocumented valueType (`HTML`) to every meeting served. */
  | { readonly _tag: "UnknownValueType" }
  /**
   * Answer this status (200-599) instead of running anything (before auth, like `Status`): `body`
   * as is with `contentType` (default `text/plain; charset=utf-8`), or, without `body`, the
   * wrapped error envelope for the status (`application/json`). `headers` are added (they win
   * over the rate-limit headers). E.g. a proxy's HTML 502, a 408, a plain 409 `conflict`, a 415.
   */
  | {
    readonly _tag: "Respond"
    readonly status: number
    readonly body?: string
    readonly contentType?: string
    readonly headers?: Readonly<Record<string, string>>
  }
  /** The handler's answer, with these headers added (they win over the rate-limit headers), e.g. `X-RateLimit-Limit: 0.001` on a 200. */
  | { readonly _tag: "Headers"; readonly headers: Readonly<Record<string, string>> }
  /** A list page answered with only its first `keep` items while `totalCount` still counts them all. */
  | { readonly _tag: "ShortPage"; readonly keep: number }
  /**
   * The handler's answer, with its JSON body padded to `bytes` bytes (a long string in the first
   * meeting's `sandboxPadding` custom field, else a top-level `padding` key), streamed in chunks so
   * the sandbox never holds it whole. Chunked unless `declareLength` sends a `Content-Length`.
   * For testing a client's body-size cap.
   */
  | { readonly _tag: "HugeBody"; readonly bytes: number; readonly declareLength?: boolean }

export interface FaultRule {
  readonly fault: Fault
  /** Only requests whose `METHOD /path` matches (e.g. "GET /v1/meetings", "POST /v1/meetings/*"); default: all. */
  readonly match?: string
  /** How many matching requests it hits before it is used up; default: unlimited (per run). */
  readonly times?: number
}

export interface LoggedRequest {
  readonly method: string
  readonly path: string
  readonly query: string
  readonly apiKey: string | undefined
  readonly idempotencyKey: string | undefined
  readonly body: unknown
  readonly status: number
  /** Set when an idempotent replay answered instead of the handler. */
  readonly replayed: boolean
  /** Sandbox-clock epoch millis. */
  readonly at: number
  /** The fault that hit this request, if any. A dropped connection is logged with `status: 0`. */
  readonly fault?: Fault["_tag"]
  /**
   * Why the request has no ordinary answer. A request whose client went away while it was being
   * handled (e.g. the client timed out during a `Latency` fault) is logged with `status: 499` and
   * `note: "client closed the connection"`.
   */
  readonly note?: string
}

export interface SandboxOptions {
  /** Port to listen on; 0 (default) picks a free port. */
  readonly port?: number
  /** Host; default 127.0.0.1. */
  readonly host?: string
  /** Number of seeded meetings (default 200). */
  readonly meetings?: number
  /** Seed for the deterministic generator (default 1). */
  readonly seed?: number
  /** Token bucket per org × category; `false` switches rate limiting off. Default 25/s, capacity 25. */
  readonly rateLimit?: false | { readonly perSecond: number; readonly capacity?: number }
  /** A new meeting shows in list only after this delay (the search index lag). Default 0. */
  readonly indexLag?: Duration.DurationInput
  /** Faults active from the start. */
  readonly faults?: ReadonlyArray<FaultRule>
  /** Meetings seeded for the second organisation (the `otherOrg` key). Default 20. */
  readonly otherOrgMeetings?: number
  /** Most recent requests kept in the log. Default 100 000. */
  readonly requestLogLimit?: number
}

export interface SandboxShape {
  /** e.g. `http://127.0.0.1:40123` (no trailing slash; paths start with `/v1`). */
  readonly baseUrl: Effect.Effect<string>
  readonly keys: SandboxKeys
  /** Add fault rules (they apply in order, first match wins). */
  readonly inject: (...rules: ReadonlyArray<FaultRule>) => Effect.Effect<void>
  /** Remove every fault rule. */
  readonly clearFaults: Effect.Effect<void>
  readonly setIndexLag: (lag: Duration.DurationInput) => Effect.Effect<void>
  readonly setRateLimit: (limit: false | { readonly perSecond: number; readonly capacity?: number }) => Effect.Effect<void>
  /** Every request received (including refused ones), oldest first. */
  readonly requests: Effect.Effect<ReadonlyArray<LoggedRequest>>
  /**
   * API requests received and not yet logged: counted from when a request's body has been read
   * until its outcome is logged (answered, dropped or abandoned by its client). Lets a test wait,
   * without sleeping, until a request is being handled (e.g. held by a `Latency` fault).
   */
  readonly inFlight: Effect.Effect<number>
  readonly clearRequests: Effect.Effect<void>
  /** Stored meetings as the admin sees them (FULL), newest first. */
  readonly meetings: Effect.Effect<ReadonlyArray<Meeting.Meeting>>
  /** Add `count` generated meetings now (e.g. to make offsets drift during a scan). */
  readonly seedMore: (count: number) => Effect.Effect<void>
  /** Remove a meeting (it vanishes from every view). */
  readonly remove: (id: string) => Effect.Effect<void>
  /** Change a stored meeting's privacy setting directly (to test downgrades). */
  readonly setPrivacy: (id: string, privacy: "FULL" | "METADATA") => Effect.Effect<void>
  /** Move the sandbox's own clock forward (idempotency expiry, "in the past" checks). */
  readonly advanceClock: (by: Duration.DurationInput) => Effect.Effect<void>
  /** Stop listening (connections are refused); state is kept. */
  readonly stop: Effect.Effect<void>
  /** Listen again on the same port with the same state; fails if the port was taken meanwhile. */
  readonly start: Effect.Effect<void, SandboxError>
}

/** The sandbox could not listen (e.g. `EADDRINUSE`: the port is taken). */
export class SandboxError extends Schema.TaggedError<SandboxError>()("SandboxError", {
  reason: Schema.Literal("Listen"),
  port: Schema.Number,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

const listenError = (port: number, host: string, cause: unknown) => {
  const code = typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : undefined
  const detail = code === "EADDRINUSE"
    ? `port ${port} on ${host} is already in use`
    : code === "EACCES"
    ? `no permission to listen on port ${port} on ${host}`
    : `cannot listen on ${host}:${port}: ${cause instanceof Error ? cause.message : String(cause)}`
  return new SandboxError({ reason: "Listen", port, message: `Sandbox ${detail}`, cause })
}

export class Sandbox extends Context.Tag("@lightfield-effect/sandbox/Sandbox")<Sandbox, SandboxShape>() {}

/** The version header value every API request must carry. */
export const apiVersion = Routes.apiVersion

/** The API keys a sandbox started with `seed` hands out (same for every run with that seed). */
export const keysFor = (seed = 1): SandboxKeys => Auth.makeKeyring(seed).keys

/** Implemented by the sandbox package. Scoped: the server stops when the scope closes. */
export const make = (options: SandboxOptions = {}): Effect.Effect<SandboxShape, SandboxError, Scope.Scope> =>
  Effect.gen(function*() {
    const seed = options.seed ?? 1
    const host = options.host ?? "127.0.0.1"
    const clock = SandboxClock.make()
    const keyring = Auth.makeKeyring(seed)
    const store = Store.make(seed)
    store.seed(Auth.acme, Math.max(0, options.meetings ?? 200))
    store.seed(Auth.globex, Math.max(0, options.otherOrgMeetings ?? 20))
    const limiter = RateLimiter.make(options.rateLimit)
    const idempotency = Idempotency.make()
    const faults = Faults.make(options.faults)
    const log = RequestLog.make(options.requestLogLimit ?? 100_000)
    const inFlight = { count: 0 }
    let indexLagMillis = Duration.toMillis(options.indexLag ?? 0)

    const sandboxScope = yield* Effect.scope
    const nodeServer = createServer()
    const server = yield* NodeHttpServer.make(() => nodeServer, { port: options.port ?? 0, host }).pipe(
      Effect.mapError((error) => listenError(options.port ?? 0, host, error.cause))
    )
    // Runs before the server's own release: refuse restarts, and do not wait for idle keep-alives.
    let closed = false
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
        nodeServer.closeAllConnections()
      })
    )
    const port = server.address._tag === "TcpAddress" ? server.address.port : 0
    const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host
    const baseUrl = `http://${urlHost}:${port}`

    const lock = yield* Effect.makeSemaphore(1)
    const listen = Effect.async<void, SandboxError>((resume) => {
      if (nodeServer.listening || closed) return resume(Effect.void)
      const onError = (error: Error) => resume(Effect.fail(listenError(port, host, error)))
      nodeServer.once("error", onError)
      nodeServer.listen({ port, host }, () => {
        nodeServer.off("error", onError)
        resume(Effect.void)
      })
    })
    const unlisten = Effect.async<void>((resume) => {
      if (!nodeServer.listening) return resume(Effect.void)
      nodeServer.close(() => resume(Effect.void))
      // In-flight and keep-alive connections go too, as when a real server goes away.
      nodeServer.closeAllConnections()
    })

    const shape: SandboxShape = {
      baseUrl: Effect.succeed(baseUrl),
      keys: keyring.keys,
      inject: (...rules) => Effect.sync(() => faults.add(rules)),
      clearFaults: Effect.sync(() => faults.clear()),
      setIndexLag: (lag) =>
        Effect.sync(() => {
          indexLagMillis = Duration.toMillis(lag)
        }),
      setRateLimit: (limit) => Effect.sync(() => limiter.set(limit)),
      requests: Effect.sync(() => log.entries()),
      inFlight: Effect.sync(() => inFlight.count),
      clearRequests: Effect.sync(() => log.clear()),
      meetings: Effect.sync(() => store.all(Auth.acme.id).map((record) => Store.toMeeting(record, "FULL"))),
      seedMore: (count) => Effect.sync(() => store.seedMore(Auth.acme, Math.max(0, count), clock.now())),
      remove: (id) => Effect.asVoid(Effect.sync(() => store.remove(id))),
      setPrivacy: (id, privacy) =>
        Effect.sync(() => {
          const record = store.find(id)
          if (record === undefined) return
          record.privacy = privacy
          store.touch(record, clock.now())
        }),
      advanceClock: (by) => Effect.sync(() => clock.advance(by)),
      stop: lock.withPermits(1)(unlisten),
      start: lock.withPermits(1)(listen)
    }

    const state: Routes.State = {
      clock,
      keyring,
      store,
      limiter,
      idempotency,
      faults,
      log,
      inFlight,
      indexLagMillis: () => indexLagMillis
    }
    const admin: Admin.AdminContext = {
      shape,
      store,
      orgId: Auth.acme.id,
      faultRules: () => faults.list(),
      restart: (down) =>
        Effect.sleep(Duration.millis(50)).pipe(
          // Let the answer leave before the connections are cut.
          Effect.zipRight(shape.stop),
          Effect.zipRight(Effect.sleep(down)),
          Effect.zipRight(shape.start),
          // Nobody awaits this fiber: a failed listen (the port was taken meanwhile) is logged.
          Effect.catchTag("SandboxError", (error) => Effect.logWarning(error.message)),
          Effect.forkIn(sandboxScope),
          Effect.asVoid
        )
    }
    const app = Routes.router(state).pipe(
      HttpRouter.mount("/__sandbox", Admin.router(admin)),
      Effect.catchTag("RouteNotFound", () => Routes.notFound(state)),
      // Request fibers run on the sandbox clock: real sleeps, movable "now", immune to TestClock.
      Effect.withClock(clock.clock)
    )
    yield* server.serve(app)
    return shape
  })

/** The sandbox as a scoped layer: it listens while the layer is alive. */
export const layer = (options?: SandboxOptions): Layer.Layer<Sandbox, SandboxError> => Layer.scoped(Sandbox, make(options))
