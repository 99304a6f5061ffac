/**
 * Core's `TranscriptJournal` kept in the cache's SQLite file (table `transcript_journal`, owned by
 * this module), so a transcript upload interrupted by a crash or a Ctrl-C resumes on the next run:
 * the same file, the same idempotency keys, no second upload. Steps are per principal (the
 * cache's) and per run key; each `put` is committed before it returns.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { TranscriptJournal } from "@lightfield-effect/core"
import { Clock, Effect, Either, Layer, Option, Schema } from "effect"
import { MeetingsCache } from "./MeetingsCache.js"

const encodeStep = Schema.encodeSync(Schema.parseJson(TranscriptJournal.TranscriptStep))
const decodeStep = Schema.decodeUnknownEither(Schema.parseJson(TranscriptJournal.TranscriptStep))

const failed = (message: string) => (cause: unknown) => new TranscriptJournal.TranscriptJournalError({ message, cause })

/**
 * The journal over the database's connection, for `principal`.
 *
 * @since 0.1.0
 */
export const make = (principal: string): Effect.Effect<TranscriptJournal.TranscriptJournalShape, never, SqlClient.SqlClient> =>
  Effect.map(SqlClient.SqlClient, (sql) => ({
    get: (key) =>
      sql<{ step: string }>`SELECT step FROM transcript_journal WHERE principal = ${principal} AND run_key = ${key}`.pipe(
        Effect.mapError(failed(`Cannot read the transcript step of ${key}`)),
        Effect.flatMap((rows) => {
          const row = rows[0]
          if (row === undefined) return Effect.succeed(Option.none())
          return Either.match(decodeStep(row.step), {
            onLeft: (e) => Effect.fail(failed(`The stored transcript step of ${key} cannot be decoded`)(e)),
            onRight: (step) => Effect.succeed(Option.some(step))
          })
        }),
        Effect.withSpan("TranscriptSteps.get")
      ),
    put: (key, step) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        sql`INSERT INTO transcript_journal (principal, run_key, step, updated_at)
          VALUES (${principal}, ${key}, ${encodeStep(step)}, ${now})
          ON CONFLICT (principal, run_key) DO UPDATE SET step = excluded.step, updated_at = excluded.updated_at`).pipe(
        Effect.asVoid,
        Effect.mapError(failed(`Cannot record the transcript step of ${key}`)),
        Effect.tap(() => Effect.logDebug("transcript step recorded", { key, stage: step.stage._tag })),
        Effect.withSpan("TranscriptSteps.put")
      ),
    remove: (key) =>
      sql`DELETE FROM transcript_journal WHERE principal = ${principal} AND run_key = ${key}`.pipe(
        Effect.asVoid,
        Effect.mapError(failed(`Cannot remove the transcript step of ${key}`)),
        Effect.withSpan("TranscriptSteps.remove")
      )
  }))

/**
 * `TranscriptJournal` in the cache's file, for the principal of the `MeetingsCache` in context.
 *
 * @since 0.1.0
 */
export const layer: Layer.Layer<TranscriptJournal.TranscriptJournal, never, MeetingsCache | SqlClient.SqlClient> = Layer
  .effect(TranscriptJournal.TranscriptJournal, Effect.flatMap(MeetingsCache, (cache) => make(cache.principal)))
