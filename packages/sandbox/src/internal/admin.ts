/**
 * `/__sandbox/*`: steering endpoints for another process (the demo CLI, a crash-test child).
 * No auth, no rate limits, not logged. Bodies are JSON; answers are JSON.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type { ParseResult } from "effect"
import { Duration, Effect, Either, Schema } from "effect"
import * as Faults from "../Faults.js"
import type { FaultRule } from "../Faults.js"
import type { SandboxShape } from "../SandboxShape.js"
import type { Store } from "./store.js"

export interface AdminContext {
  readonly shape: SandboxShape
  readonly store: Store
  readonly orgId: string
  readonly faultRules: () => ReadonlyArray<FaultRule>
  /** Stop, wait, start again, in the background (the answer goes out first). */
  readonly restart: (down: Duration.Duration) => Effect.Effect<void>
}

const json = (body: unknown, status = 200) => HttpServerResponse.text(JSON.stringify(body), { status, contentType: "application/json" })

const badRequest = (message: string) => json({ error: { type: "bad_request", message } }, 400)

/** Read the body and decode it with `schema`; an empty body decodes `{}`. */
const withBody = <A, I>(
  schema: Schema.Schema<A, I>,
  f: (value: A) => Effect.Effect<HttpServerResponse.HttpServerResponse>
) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const text = yield* Effect.orElseSucceed(request.text, () => "")
    const decoded: Either.Either<A, ParseResult.ParseError> = Schema.decodeUnknownEither(Schema.parseJson(schema))(
      text.trim() === "" ? "{}" : text
    )
    if (Either.isLeft(decoded)) return badRequest(decoded.left.message)
    return yield* f(decoded.right)
  })

const Millis = Schema.Struct({ millis: Schema.Number.pipe(Schema.nonNegative()) })

const RateLimitBody = Schema.Union(
  Schema.Literal(false),
  Schema.Struct({ enabled: Schema.Literal(false) }),
  Schema.Struct({
    perSecond: Schema.Number.pipe(Schema.nonNegative()),
    capacity: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { exact: true })
  })
)

const Count = Schema.Struct({ count: Schema.Int.pipe(Schema.between(0, 1_000_000)) })

const Privacy = Schema.Struct({ privacy: Schema.Literal("FULL", "METADATA") })

const pageParams = (url: string) => {
  const search = new URLSearchParams(url.includes("?") ? url.slice(url.indexOf("?") + 1) : "")
  const num = (name: string, fallback: number) => {
    const n = Number(search.get(name) ?? Number.NaN)
    return Number.isInteger(n) && n >= 0 ? n : fallback
  }
  return { offset: num("offset", 0), limit: num("limit", Number.MAX_SAFE_INTEGER) }
}

export const router = (ctx: AdminContext) =>
  HttpRouter.empty.pipe(
    HttpRouter.get("/health", Effect.succeed(json({ ok: true }))),
    HttpRouter.get(
      "/keys",
      Effect.map(ctx.shape.baseUrl, (baseUrl) => json({ baseUrl, keys: ctx.shape.keys }))
    ),
    HttpRouter.get("/faults", Effect.sync(() => json({ rules: ctx.faultRules() }))),
    HttpRouter.post(
      "/faults",
      withBody(Faults.FaultRulesBody, (body) => {
        const rules: ReadonlyArray<FaultRule> = Array.isArray(body) ? body : "rules" in body ? body.rules : [body]
        return Effect.as(ctx.shape.inject(...rules), json({ rules: ctx.faultRules() }))
      })
    ),
    HttpRouter.del("/faults", Effect.as(ctx.shape.clearFaults, json({ rules: [] }))),
    HttpRouter.get("/requests", Effect.map(ctx.shape.requests, (requests) => json({ requests }))),
    HttpRouter.del("/requests", Effect.as(ctx.shape.clearRequests, json({ requests: [] }))),
    HttpRouter.post(
      "/index-lag",
      withBody(Millis, ({ millis }) => Effect.as(ctx.shape.setIndexLag(Duration.millis(millis)), json({ millis })))
    ),
    HttpRouter.post(
      "/rate-limit",
      withBody(RateLimitBody, (body) => {
        const limit = body === false || "enabled" in body
          ? false as const
          : { perSecond: body.perSecond, ...(body.capacity === undefined ? {} : { capacity: body.capacity }) }
        return Effect.as(ctx.shape.setRateLimit(limit), json({ rateLimit: limit }))
      })
    ),
    HttpRouter.post(
      "/clock/advance",
      withBody(Millis, ({ millis }) => Effect.as(ctx.shape.advanceClock(Duration.millis(millis)), json({ millis })))
    ),
    HttpRouter.get(
      "/meetings",
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const { limit, offset } = pageParams(request.originalUrl)
        const all = ctx.store.all(ctx.orgId)
        const data = yield* Effect.forEach(all.slice(offset, offset + limit), (record) =>
          ctx.store.render(record, "FULL"))
        return json({ data, object: "list", totalCount: all.length })
      })
    ),
    HttpRouter.get("/files", Effect.map(ctx.shape.files, (files) => json({ files }))),
    HttpRouter.get("/meetings/deleted", Effect.map(ctx.shape.deletedMeetings, (deleted) => json({ deleted }))),
    HttpRouter.post(
      "/meetings/seed",
      withBody(Count, ({ count }) => Effect.as(ctx.shape.seedMore(count), json({ added: count })))
    ),
    HttpRouter.del(
      "/meetings/:id",
      Effect.flatMap(HttpRouter.params, (params) =>
        Effect.as(ctx.shape.remove(params.id ?? ""), json({ removed: params.id ?? "" })))
    ),
    HttpRouter.post(
      "/meetings/:id/privacy",
      Effect.flatMap(HttpRouter.params, (params) =>
        withBody(Privacy, ({ privacy }) =>
          Effect.as(ctx.shape.setPrivacy(params.id ?? "", privacy), json({ id: params.id ?? "", privacy }))))
    ),
    HttpRouter.post(
      "/restart",
      withBody(Schema.Struct({ downMillis: Schema.optionalWith(Schema.Number.pipe(Schema.nonNegative()), { exact: true }) }), ({ downMillis }) =>
        Effect.as(ctx.restart(Duration.millis(downMillis ?? 0)), json({ restarting: true, downMillis: downMillis ?? 0 })))
    )
  )
