/**
 * The databases the behaviour suites run on: one suite, parameterised by the database
 * (`describe.each(databases)`), never a copy. `pnpm test` runs SQLite only (Node only);
 * `pnpm test:fleet` sets `LIGHTFIELD_TEST_DATABASES=postgres` and runs the same suites on a real
 * PostgreSQL, each test in a database of its own.
 */
import { Effect } from "effect"
import type { Layer, Scope } from "effect"
import type { CacheError } from "../src/index.js"
import { Database } from "../src/index.js"
import { join } from "node:path"
import { tempDir } from "./fixtures.js"
import { freshPgUrl, PgTestDatabase } from "./fleet/pgDatabase.js"

export interface TestDatabase {
  readonly name: "sqlite" | "postgres"
  /**
   * A new empty database, gone when the scope closes: a file in a temp folder, or a `postgres://`
   * URL. Pass it where the fixtures take a database location (`withCache`, `databaseLayer`…).
   */
  readonly fresh: Effect.Effect<string, never, Scope.Scope>
  /** A migrated database as a layer, fresh each time it is built (`:memory:` on SQLite). */
  readonly layer: Layer.Layer<Database.Services, CacheError.CacheError>
}

export const sqlite: TestDatabase = {
  name: "sqlite",
  fresh: Effect.map(tempDir, (dir) => join(dir, "c.db")),
  layer: Database.layerMemory
}

export const postgres: TestDatabase = { name: "postgres", fresh: freshPgUrl(), layer: PgTestDatabase() }

const wanted = (process.env["LIGHTFIELD_TEST_DATABASES"] ?? "sqlite").split(",").map((s) => s.trim())

/** The databases of this run (default: SQLite). */
export const databases: ReadonlyArray<TestDatabase> = [sqlite, postgres].filter((d) => wanted.includes(d.name))
