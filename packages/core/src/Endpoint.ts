/**
 * The endpoint table of the API (spec §2, §3, §9, §10, §12): for each operation its method, path
 * template, rate-limit category, scope and whether it takes an `Idempotency-Key`. The client builds
 * its requests from it and the sandbox's router serves it, so the two cannot drift apart.
 *
 * Each resource is one table (`Meetings`, `Files`) built with the same `Endpoint` shape; `all`
 * lists every table.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * The only API version that exists (spec §1), sent as `Lightfield-Version` on every request.
 *
 * @since 0.1.0
 */
export const ApiVersion = "2026-03-01"

/**
 * The header that carries `ApiVersion`.
 *
 * @since 0.1.0
 */
export const VersionHeader = "lightfield-version"

/**
 * Rate-limit categories (spec §9): each has its own bucket on the server and in the client.
 *
 * @since 0.1.0
 */
export const Category = Schema.Literal("Read", "Write", "Search").annotations({ identifier: "Category" })

/**
 * @since 0.1.0
 */
/**
 * The type of the `Category` schema's values.
 *
 * @since 0.1.0
 */
export type Category = typeof Category.Type

/**
 * Scopes an API key is created with (spec §12): `<object>:<create|update|read|delete>`.
 *
 * @since 0.1.0
 */
export const Scope = Schema.Literal(
  "meetings:create",
  "meetings:update",
  "meetings:read",
  "meetings:delete",
  "files:create",
  "files:read"
).annotations({ identifier: "Scope" })

/**
 * @since 0.1.0
 */
/**
 * The type of the `Scope` schema's values.
 *
 * @since 0.1.0
 */
export type Scope = typeof Scope.Type

/**
 * HTTP methods the API uses (no PUT/PATCH: updates are `POST /v1/{collection}/{id}`).
 *
 * @since 0.1.0
 */
export type Method = "GET" | "POST" | "DELETE"

/**
 * One operation of the API.
 *
 * @since 0.1.0
 */
export interface Endpoint<Name extends string = string> {
  /** Operation name, e.g. `create`; also the span suffix (`Meetings.create`). */
  readonly name: Name
  readonly method: Method
  /** Path template; `{id}` stands for one path segment (`/v1/meetings/{id}`). Also the metric/span route. */
  readonly path: string
  readonly category: Category
  readonly scope: Scope
  /** Whether the API accepts an `Idempotency-Key` on it (the client sends one on every call). */
  readonly idempotent: boolean
  /** Whether the path has an `{id}` segment. */
  readonly takesId: boolean
}

const make = <const Name extends string>(
  name: Name,
  method: Method,
  path: string,
  category: Category,
  scope: Scope,
  idempotent: boolean
): Endpoint<Name> => ({ name, method, path, category, scope, idempotent, takesId: path.includes("{id}") })

/**
 * The meeting endpoints (spec §2, §3.5).
 *
 * @since 0.1.0
 */
export const Meetings = {
  create: make("create", "POST", "/v1/meetings", "Write", "meetings:create", true),
  update: make("update", "POST", "/v1/meetings/{id}", "Write", "meetings:update", true),
  retrieve: make("retrieve", "GET", "/v1/meetings/{id}", "Read", "meetings:read", false),
  list: make("list", "GET", "/v1/meetings", "Search", "meetings:read", false),
  delete: make("delete", "DELETE", "/v1/meetings/{id}", "Write", "meetings:delete", true)
} as const

/**
 * The name of a meeting operation.
 *
 * @since 0.1.0
 */
export type MeetingOperation = keyof typeof Meetings

/**
 * The files endpoints (spec §11): an upload session (`create`), its completion or cancellation, the
 * file itself and a temporary download URL. The bytes go to the presigned `uploadUrl`, which is
 * storage, not an API endpoint. `retrieve` (`GET /v1/files/{id}`) is [GAP]: assumed like the other
 * resources.
 *
 * @since 0.1.0
 */
export const Files = {
  create: make("create", "POST", "/v1/files", "Write", "files:create", true),
  complete: make("complete", "POST", "/v1/files/{id}/complete", "Write", "files:create", true),
  cancel: make("cancel", "POST", "/v1/files/{id}/cancel", "Write", "files:create", true),
  retrieve: make("retrieve", "GET", "/v1/files/{id}", "Read", "files:read", false),
  downloadUrl: make("downloadUrl", "GET", "/v1/files/{id}/url", "Read", "files:read", false)
} as const

/**
 * The name of a files operation.
 *
 * @since 0.1.0
 */
export type FileOperation = keyof typeof Files

/**
 * Every declared endpoint, in table order (meetings, then files).
 *
 * @since 0.1.0
 */
export const all: ReadonlyArray<Endpoint> = [...Object.values(Meetings), ...Object.values(Files)]

/**
 * What an `Idempotency-Key` is scoped to besides the organisation (spec §10: "per operation type",
 * so the same key on a meeting create and a file create does not clash): method and path template.
 *
 * @since 0.1.0
 */
export const operationKey = (endpoint: Endpoint): string => `${endpoint.method} ${endpoint.path}`

/**
 * The concrete path of an endpoint: `{id}` replaced by the URI-encoded id. The id must already have
 * passed `Meeting.validateId` (a `.` or `..` would be resolved away by URL normalisation).
 *
 * @since 0.1.0
 */
export const pathFor = (endpoint: Endpoint, id?: string): string =>
  endpoint.takesId ? endpoint.path.replace("{id}", encodeURIComponent(id ?? "")) : endpoint.path

/**
 * The path template in `HttpRouter` syntax (`/v1/meetings/:id`), for a server that serves the table.
 *
 * @since 0.1.0
 */
export const routerPath = (endpoint: Endpoint): `/${string}` =>
  endpoint.path.replace(/\{(\w+)\}/g, ":$1") as `/${string}`
