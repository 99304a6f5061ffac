/**
 * The owner of the `read_stats` table: each principal's cache reads (hits, of which stale, and
 * misses), persisted so a hit ratio survives the process.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { Context, Effect, Layer, Option, Schema } from "effect"
import type { CacheError } from "../CacheError.js"
import type { Principal } from "../Principal.js"
import { mapSql, transaction } from "./sql.js"

/** Cache reads answered from SQLite (hits, of which stale) and not (misses). */
export interface ReadCounts {
  readonly hits: number
  readonly misses: number
  readonly stale: number
}

export interface ReadCountsStoreShape {
  /** Add this process's counts to the persisted ones. */
  readonly add: (principal: Principal, reads: ReadCounts) => Effect.Effect<void, CacheError>
  readonly get: (principal: Principal) => Effect.Effect<ReadCounts, CacheError>
}

export class ReadCountsStore extends Context.Tag("@lightfield-effect/cache/internal/ReadCountsStore")<
  ReadCountsStore,
  ReadCountsStoreShape
>() {}

const Counts = Schema.Struct({ hits: Schema.Number, misses: Schema.Number, stale: Schema.Number })

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const find = SqlSchema.findOne({
    Request: Schema.String,
    Result: Counts,
    execute: (principal) => sql`SELECT hits, misses, stale FROM read_stats WHERE principal = ${principal}`
  })
  return ReadCountsStore.of({
    add: (principal, reads) =>
      reads.hits === 0 && reads.misses === 0 && reads.stale === 0
        ? Effect.void
        : transaction(
          sql,
          "Cannot record read statistics",
          sql`INSERT INTO read_stats (principal, hits, misses, stale)
            VALUES (${principal}, ${reads.hits}, ${reads.misses}, ${reads.stale})
            ON CONFLICT (principal) DO UPDATE SET hits = read_stats.hits + excluded.hits,
              misses = read_stats.misses + excluded.misses, stale = read_stats.stale + excluded.stale`
        ).pipe(Effect.asVoid),
    get: (principal) =>
      find(principal).pipe(
        Effect.map(Option.getOrElse((): ReadCounts => ({ hits: 0, misses: 0, stale: 0 }))),
        mapSql("Cannot read read statistics", "Decode")
      )
  })
})

/** The read counts owner over the context's `SqlClient`. */
export const layer: Layer.Layer<ReadCountsStore, never, SqlClient.SqlClient> = Layer.effect(ReadCountsStore, make)
