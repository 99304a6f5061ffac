/**
 * The PostgreSQL connection of a cache: an `@effect/sql-pg` `PgClient` (a small pg pool) as the
 * `SqlClient`, so the portable SQL of every table owner runs on it unchanged. `INT8` (`BIGINT`,
 * `COUNT(*)`) and `NUMERIC` (`SUM` of a `BIGINT`) come back as JavaScript numbers, as on SQLite: the
 * cache's values (epoch milliseconds, counts, sequence numbers) are far below 2^53.
 *
 * Loaded only when `Database.layer` is given a `postgres://` URL, so SQLite users need neither
 * `@effect/sql-pg` nor `pg`.
 */
import type * as Reactivity from "@effect/experimental/Reactivity"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Context, Duration, Effect, Redacted } from "effect"
import type { Scope } from "effect"
import Pg from "pg"
import { CacheError } from "../CacheError.js"
import { ChangeNotices } from "./changeNotices.js"
import * as PgChangeNotices from "./pgChangeNotices.js"

/** What the PostgreSQL connection needs. */
export interface PostgresOptions {
  /** `postgres://user[:password]@host[:port]/database[?…]`. */
  readonly url: Redacted.Redacted<string>
  /** Pool size (default 5). */
  readonly maxConnections?: number | undefined
  /** How long connecting may take, the first `SELECT 1` included (default 5 seconds). */
  readonly connectTimeout?: Duration.DurationInput | undefined
}

/** The URL as it may be shown: the password replaced by `***`; a URL that does not parse is not shown. */
export const displayUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    if (parsed.password !== "") parsed.password = "***"
    return parsed.toString()
  } catch {
    return "<an unparsable database URL>"
  }
}

/** Does this look like a PostgreSQL URL (rather than a SQLite file name)? */
export const isPostgresUrl = (location: string): boolean => /^postgres(ql)?:\/\//i.test(location)

const numeric = (value: string): number => Number(value)

/** pg's own parsers, except that `INT8` and `NUMERIC` become numbers. */
const types: Pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === Pg.types.builtins.INT8 || oid === Pg.types.builtins.NUMERIC
      ? numeric
      : Pg.types.getTypeParser(oid, format ?? "text")) as Pg.CustomTypesConfig["getTypeParser"]
}

/** PostgreSQL's error code (`3D000`, `28000`, …) or Node's (`ECONNREFUSED`) anywhere in a short cause chain. */
const codeOf = (error: unknown): string | undefined => {
  let current = error
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    if ("code" in current && typeof current.code === "string") return current.code
    current = "cause" in current ? current.cause : undefined
  }
  return undefined
}

const innermostMessage = (error: unknown): string => {
  let current = error
  let message = error instanceof Error ? error.message : String(error)
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    if (current instanceof Error && current.message !== "") message = current.message
    current = "cause" in current ? current.cause : undefined
  }
  return message
}

/** Why a connection failed, in words (the URL shown without its password). */
const openFailure = (shown: string, cause: unknown): CacheError => {
  const code = codeOf(cause)
  const why = code === "3D000"
    ? "the database does not exist"
    : code === "28000" || code === "28P01"
    ? "the server refused the user"
    : code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "ETIMEDOUT"
    ? "the server is not reachable"
    : innermostMessage(cause)
  return new CacheError({
    reason: "Open",
    file: shown,
    message: `Cannot open the cache database ${shown}: ${why}${code === undefined ? "" : ` (${code})`}`,
    cause
  })
}

/** Refuse what cannot be a PostgreSQL URL before any connection is tried. */
const checkUrl = (url: string, shown: string): Effect.Effect<void, CacheError> => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return Effect.fail(new CacheError({ reason: "Config", file: shown, message: `Invalid database URL ${shown}` }))
  }
  if (!isPostgresUrl(url) || parsed.hostname === "" || parsed.pathname.length <= 1) {
    return Effect.fail(
      new CacheError({
        reason: "Config",
        file: shown,
        message: `Invalid database URL ${shown}: expected postgres://user@host[:port]/database`
      })
    )
  }
  return Effect.void
}

/** Open the pool (closed with the scope) and check the connection; every failure is a `CacheError` naming the URL without its password. */
export const open = (
  options: PostgresOptions
): Effect.Effect<Context.Context<SqlClient.SqlClient>, CacheError, Scope.Scope | Reactivity.Reactivity> =>
  Effect.gen(function*() {
    const url = Redacted.value(options.url)
    const shown = displayUrl(url)
    yield* checkUrl(url, shown)
    const maxConnections = options.maxConnections ?? 5
    // A sync holds one connection for its lease while its batches need another: a pool of one
    // would wait for itself forever.
    if (!Number.isInteger(maxConnections) || maxConnections < 2) {
      return yield* new CacheError({ reason: "Config", file: shown, message: `Invalid database option: maxConnections must be an integer of at least 2 (${maxConnections}): a sync holds one connection for its lease` })
    }
    const client = yield* PgClient.make({
      url: options.url,
      maxConnections,
      connectTimeout: options.connectTimeout ?? Duration.seconds(5),
      applicationName: "lightfield-cache",
      types
    }).pipe(
      Effect.mapError((e) => openFailure(shown, e)),
      Effect.catchAllDefect((defect) => Effect.fail(openFailure(shown, defect)))
    )
    // The change notices between instances on this database (hot sets, live queries): one listener per pool.
    const notices = yield* PgChangeNotices.make(client)
    return Context.make(SqlClient.SqlClient, client).pipe(Context.add(ChangeNotices, notices))
  })
