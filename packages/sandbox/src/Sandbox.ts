/**
 * The public face of the sandbox: a local stand-in for the Lightfield meetings API (spec:
 * lightfield-api.md), a real HTTP server on loopback with seeded data, per-key privacy, rate
 * limits, idempotency and switchable faults. Its types live in leaf modules (`SandboxShape`,
 * `Faults`, `RequestLog`, `Auth`, `SandboxError`) and are re-exported here; the internals are one
 * module per concept (Store, Seed, Auth, RateLimiter, Idempotency, Faults, Pipeline, Handlers,
 * Answer, Routes, Admin).
 *
 * @since 0.1.0
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Endpoint } from "@lightfield-effect/core"
import type { Scope } from "effect"
import { Context, Duration, Effect, Layer } from "effect"
import { createServer } from "node:http"
import * as Admin from "./internal/admin.js"
import * as Auth from "./internal/auth.js"
import * as Faults from "./Faults.js"
import * as FileStore from "./internal/fileStore.js"
import * as Idempotency from "./internal/idempotency.js"
import * as RateLimiter from "./internal/rateLimiter.js"
import * as RequestLog from "./RequestLog.js"
import * as Routes from "./internal/routes.js"
import * as SandboxClock from "./internal/sandboxClock.js"
import * as Storage from "./internal/storage.js"
import type * as State from "./internal/state.js"
import * as Store from "./internal/store.js"
import { listenError, type SandboxError } from "./SandboxError.js"
import type { SandboxFile, SandboxKeys, SandboxOptions, SandboxShape } from "./SandboxShape.js"

/**
 * A fault the sandbox can inject, and a rule saying which requests it hits (see `Faults`).
 *
 * @since 0.1.0
 */
export type { Fault, FaultRule } from "./Faults.js"
/**
 * One request in the sandbox's log (see `RequestLog`).
 *
 * @since 0.1.0
 */
export type { LoggedRequest } from "./RequestLog.js"
/**
 * The sandbox could not listen (see `SandboxError`).
 *
 * @since 0.1.0
 */
export { SandboxError } from "./SandboxError.js"
/**
 * The seeded keys, the options and the running sandbox's controls (see `SandboxShape`).
 *
 * @since 0.1.0
 */
export type { SandboxFile, SandboxKeys, SandboxOptions, SandboxShape } from "./SandboxShape.js"

/**
 * The running sandbox as a service (provided by `layer`).
 *
 * @since 0.1.0
 */
export class Sandbox extends Context.Tag("@lightfield-effect/sandbox/Sandbox")<Sandbox, SandboxShape>() {}

/**
 * The `Lightfield-Version` value every API request must carry.
 *
 * @since 0.1.0
 */
export const apiVersion: typeof Endpoint.ApiVersion = Endpoint.ApiVersion

/**
 * The API keys a sandbox started with `seed` hands out (same for every run with that seed), so
 * another process can compute them.
 *
 * @since 0.1.0
 */
export const keysFor = (seed = 1): SandboxKeys => Auth.makeKeyring(seed).keys

const toSandboxFile = (record: FileStore.FileRecord): SandboxFile => ({
  id: record.id,
  orgId: record.orgId,
  filename: record.filename,
  mimeType: record.mimeType,
  sizeBytes: record.sizeBytes,
  status: record.status,
  storedBytes: record.object?.bytes,
  storedMd5: record.object?.md5,
  createdAt: record.createdAt,
  expiresAt: record.expiresAt,
  completedAt: record.completedAt
})

/**
 * Starts a sandbox on loopback (seeded, listening) and returns its controls. Scoped: the server
 * stops when the scope closes. Fails with `SandboxError` when it cannot listen.
 *
 * @since 0.1.0
 */
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
    const files = FileStore.make({
      seed,
      baseUrl,
      uploadTtlMillis: Duration.toMillis(options.uploadUrlTtl ?? Duration.hours(1))
    })
    // The stored bytes live in a temporary directory while the sandbox runs.
    yield* Effect.addFinalizer(() => Effect.sync(() => files.close()))

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
      files: Effect.sync(() => files.all(clock.now()).map(toSandboxFile)),
      deletedMeetings: Effect.sync(() =>
        store.trashed().map(({ deletedAt, record }) => ({ id: record.id, deletedAt }))
      ),
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

    const state: State.State = {
      clock,
      keyring,
      store,
      files,
      legacyFileIds: options.legacyFileIds ?? false,
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
      HttpRouter.concat(Storage.router(state)),
      HttpRouter.mount("/__sandbox", Admin.router(admin)),
      Effect.catchTag("RouteNotFound", () => Routes.notFound(state)),
      // Request fibers run on the sandbox clock: real sleeps, movable "now", immune to TestClock.
      Effect.withClock(clock.clock)
    )
    yield* server.serve(app)
    yield* Effect.logDebug(`sandbox listening on ${baseUrl}`)
    return shape
  })

/**
 * The sandbox as a layer: it listens while the layer is alive.
 *
 * @since 0.1.0
 */
export const layer = (options?: SandboxOptions): Layer.Layer<Sandbox, SandboxError> => Layer.scoped(Sandbox, make(options))
