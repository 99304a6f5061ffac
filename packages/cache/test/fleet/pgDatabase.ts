/**
 * PostgreSQL for tests: a database of its own per test (or per file), created from a connection to
 * the server's `postgres` database and dropped afterwards (`WITH (FORCE)`: leftover sessions too).
 * Shared by the fleet suites of every package: import `freshPgUrl` / `PgTestDatabase` from here.
 *
 * The server is `LIGHTFIELD_TEST_PG_ADMIN_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect, Layer, Redacted } from "effect"
import type { Scope } from "effect"
import { randomBytes } from "node:crypto"
import { Database } from "../../src/index.js"

/** The maintenance database URL the test databases are created from. */
export const adminUrl = process.env["LIGHTFIELD_TEST_PG_ADMIN_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres"

/** The URL of database `name` on the test server. */
export const urlOf = (name: string): string => {
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}

/** A fresh database name: `lf_t_<pid>_<random>` (lowercase, so it needs no quoting anywhere). */
export const freshName = (prefix = "lf_t"): string => `${prefix}_${process.pid}_${randomBytes(6).toString("hex")}`

/** Run `f` with a one-connection client on the maintenance database (closed afterwards). */
export const withAdmin = <A, E>(f: (admin: PgClient.PgClient) => Effect.Effect<A, E>) =>
  Effect.scoped(
    Effect.flatMap(
      PgClient.make({ url: Redacted.make(adminUrl), maxConnections: 1, applicationName: "lightfield-tests" }),
      f
    )
  ).pipe(Effect.provide(Reactivity.layer))

/**
 * The URL of a new empty database, dropped when the scope closes. Pass the URL to
 * `Database.layer({ url })` (or the test fixtures' `dbLayer`), as many times as the test likes: it
 * stays until the scope ends.
 */
export const freshPgUrl = (prefix?: string): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const name = freshName(prefix)
      return Effect.as(withAdmin((admin) => admin`CREATE DATABASE ${admin(name)}`), name)
    }).pipe(Effect.orDie),
    (name) => withAdmin((admin) => admin`DROP DATABASE IF EXISTS ${admin(name)} WITH (FORCE)`).pipe(Effect.orDie)
  ).pipe(Effect.map(urlOf))

/** The cache's database (migrated) in a fresh PostgreSQL database, dropped with the layer. */
export const PgTestDatabase = (options: { readonly maxConnections?: number } = {}) =>
  Layer.unwrapScoped(
    Effect.map(freshPgUrl(), (url) => Database.layer({ url, maxConnections: options.maxConnections ?? 3 }))
  )
