/**
 * The replay loop of the outbox: queued writes sent in `seq` order with their idempotency keys,
 * every send recorded before it goes out, dead letters for what can never succeed, and no
 * dependency able to stall independent entries.
 */
import { MeetingParams, MeetingsError, ParamsProblem, Redaction } from "@lightfield-effect/core"
import { Clock, Context, Duration, Effect, Either, Metric, Option } from "effect"
import type { CacheError } from "../CacheError.js"
import * as CacheMetrics from "../CacheMetrics.js"
import type { OutboxEntry, OutboxFailure, ReplayResult } from "../Outbox.js"
import { DependencyFailed, IdempotencyKeyExpired } from "../Outbox.js"
import { isLocalId } from "./provisional.js"
import type { Session } from "./session.js"
import { isOffline } from "./session.js"
import { transaction } from "./sql.js"

/** How long after its first send an entry is still safe to resend (keys live 24 h; 1 h margin). */
export const keySafeLifetimeMillis = 23 * 3_600_000

/**
 * How long a claim on an outbox entry lasts without renewal (PostgreSQL; default 30 seconds). A
 * worker renews its claims every third of it; a worker that died holds them this long at most.
 */
export class OutboxClaimTtl extends Context.Reference<OutboxClaimTtl>()(
  "@lightfield-effect/cache/OutboxClaimTtl",
  { defaultValue: (): Duration.Duration => Duration.seconds(30) }
) {}

/**
 * How many entries a worker claims at once: one, so a worker alone replays in `seq` order (the
 * next claim sees the successors the last entry released), as the SQLite replay does.
 */
const claimBatch = 1

/** A replay's answer, and whether it stopped because the network is down. */
export interface ReplayRun extends ReplayResult {
  readonly networkDown: boolean
}

/** Params queued before this version are checked again before they are sent. */
export const validateCreate = ParamsProblem.validator(MeetingParams.CreateMeetingParams)
export const validateUpdate = ParamsProblem.validator(MeetingParams.UpdateMeetingParams)

/** Failures that may pass if the same entry is tried again later (the API is reachable). */
const isRetryableLater = (e: MeetingsError.MeetingsError): boolean =>
  e._tag === "IdempotencyConflict" || e._tag === "Conflict" || e._tag === "Unauthorized"

export const make = (session: Session) => {
  const { network, outbox, principal, rows, sql } = session
  const maxReplayAttempts = session.config.maxReplayAttempts

  /**
   * One replay. On SQLite (`passes`): the pending entries in `seq` order, in passes. An entry is
   * completed or buried (done), deferred to a later replay (a retryable failure: it blocks its
   * meeting, so later writes to it keep their order), or waits for a dependency queued after it (an
   * update on a provisional id whose create has not run yet: tried again in the next pass).
   * Independent entries never wait for a stuck one. An unreachable network stops the replay at once.
   *
   * On PostgreSQL (`claims`), where other instances replay the same queue at once: entries are
   * claimed one at a time (`outboxClaims.ts`: only the first pending entry of each meeting, none
   * another worker holds) and handled the same way, until nothing is left to claim. A deferred entry
   * stays claimed until this replay ends, so it too waits for a later replay.
   */
  const replayWith = (mode: "passes" | "claims"): Effect.Effect<ReplayRun, CacheError> => Effect.gen(function*() {
    const entries = mode === "passes" ? yield* outbox.pending(principal) : []
    const deadLocal = new Set(
      (yield* outbox.deadLetters(principal)).flatMap((e) => e.op === "create" && e.localId !== null ? [e.localId] : [])
    )
    const pendingCreates = new Set(entries.flatMap((e) => (e.op === "create" && e.localId !== null ? [e.localId] : [])))
    let replayed = 0
    let dead = 0
    let stoppedBy: Option.Option<OutboxFailure> = Option.none()
    let networkDown = false
    const resolved: Array<{ localId: string; id: string }> = []
    const done = new Set<number>()
    // Meetings (real or provisional ids) with an entry left for a later replay.
    const deferred = new Set<string>()

    const bury = (entry: OutboxEntry, error: OutboxFailure) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        yield* outbox.markDead(principal, entry.seq, error, now)
        dead++
        done.add(entry.seq)
        yield* Effect.logWarning("outbox entry is a dead letter", { seq: entry.seq, op: entry.op, error })
        if (entry.op === "create" && entry.localId !== null) {
          deadLocal.add(entry.localId)
          pendingCreates.delete(entry.localId)
          // The provisional meeting will never exist: stop serving it.
          yield* rows.markGone(principal, [entry.localId])
        } else if (entry.op === "update" && !isLocalId(entry.targetId)) {
          // The local edit was refused: show the server's version again.
          yield* rows.clearPending(principal, entry.targetId)
          yield* session.fetchRemote(entry.targetId, undefined).pipe(Effect.catchAll(() => Effect.void))
        } else if (entry.op === "delete" && !isLocalId(entry.targetId)) {
          // The delete was refused: the tombstone gives way to the server's copy.
          yield* rows.undelete(principal, entry.targetId)
          yield* session.fetchRemote(entry.targetId, undefined).pipe(Effect.catchAll(() => Effect.void))
        }
      })

    const defer = (entry: OutboxEntry, target: string, error: OutboxFailure) => {
      done.add(entry.seq)
      deferred.add(target)
      if (Option.isNone(stoppedBy)) stoppedBy = Option.some(error)
    }

    /** Decide what a failed attempt means; returns true when the replay must stop. */
    const failed = (entry: OutboxEntry, target: string, error: MeetingsError.MeetingsError) =>
      Effect.gen(function*() {
        // An outage, or the server still working on an earlier attempt with this key: the write may
        // yet succeed, so it is never final and does not use up the entry's attempts.
        if (isOffline(error) || error._tag === "IdempotencyConflict") {
          const now = yield* Clock.currentTimeMillis
          yield* outbox.recordAttempt(principal, entry.seq, error, now, false)
          stoppedBy = Option.some(error)
          networkDown = isOffline(error)
          return networkDown
        }
        if (isRetryableLater(error) && entry.attempts + 1 < maxReplayAttempts) {
          const now = yield* Clock.currentTimeMillis
          yield* outbox.recordAttempt(principal, entry.seq, error, now, true)
          defer(entry, target, error)
          return false
        }
        yield* bury({ ...entry, targetId: target }, error)
        return false
      })

    /** One entry; `"wait"` when its dependency is queued after it, `"stop"` when the network is down. */
    const replayEntry = (entry: OutboxEntry): Effect.Effect<"done" | "wait" | "stop", CacheError> =>
      Effect.gen(function*() {
        // The server keeps an idempotency key for 24 h (spec §10). An entry sent before may have been
        // executed; once its key may have expired, sending it again could execute it twice. Keep it
        // as a dead letter for a person to check instead (`retryDeadLetter` sends it with its key).
        // Every send is recorded before it goes out (`markSent`), so `firstSentAt` is set whenever
        // the server may have seen the key: after a crash, an interrupt or a lost answer alike.
        if (entry.firstSentAt !== null && (yield* Clock.currentTimeMillis) - entry.firstSentAt >= keySafeLifetimeMillis) {
          yield* bury(entry, new IdempotencyKeyExpired({
            firstSentAt: entry.firstSentAt,
            message: `Queued ${entry.op} first sent over ${keySafeLifetimeMillis / 3_600_000} h ago may already ` +
              `have been executed, and its idempotency key may have expired: check the server, then retry or discard it`
          }))
          return "done"
        }
        if (entry.op === "create") {
          const localId = entry.localId ?? entry.targetId
          const params = yield* Effect.either(validateCreate(entry.params))
          if (Either.isLeft(params)) {
            yield* bury(entry, params.left)
            return "done"
          }
          yield* outbox.markSent(principal, entry.seq, yield* Clock.currentTimeMillis)
          const result = yield* Effect.either(network.create(params.right, { idempotencyKey: entry.idempotencyKey }))
          if (Either.isLeft(result)) return (yield* failed(entry, localId, result.left)) ? "stop" : "done"
          const meeting = Redaction.redact(result.right)
          const now = yield* Clock.currentTimeMillis
          // Deleted while queued (after a send): its delete follows; the real id stays a tombstone.
          const deletedMeanwhile = yield* rows.isDeleted(principal, localId)
          yield* transaction(
            sql,
            "Cannot record a replayed create",
            Effect.all([
              deletedMeanwhile
                ? rows.markDeleted(principal, [meeting.id])
                : rows.upsert(principal, [meeting], { mode: "write", now }),
              rows.remove(principal, localId),
              outbox.resolveLocal(principal, localId, meeting.id, now),
              outbox.complete(principal, entry.seq)
            ], { discard: true })
          )
          pendingCreates.delete(localId)
          done.add(entry.seq)
          resolved.push({ localId, id: meeting.id })
          replayed++
          yield* Effect.logDebug("replayed a queued create", { seq: entry.seq, localId, id: meeting.id })
          return "done"
        }
        let target = entry.targetId
        if (isLocalId(target)) {
          const real = yield* outbox.resolve(principal, target)
          if (Option.isSome(real)) {
            target = real.value
          } else if (pendingCreates.has(target) && !deferred.has(target)) {
            return "wait"
          } else if (!pendingCreates.has(target)) {
            // Claims: another instance may have buried the create meanwhile.
            const createDead = mode === "passes" ? deadLocal.has(target) : (yield* outbox.deadLetters(principal)).some(
              (e) => e.op === "create" && e.localId === target
            )
            const dependency = createDead ? "DeadLetter" : "Discarded"
            yield* bury(entry, new DependencyFailed({
              localId: target,
              dependency,
              message: `The queued create of ${target} ${dependency === "DeadLetter" ? "is a dead letter" : "was discarded"}`
            }))
            return "done"
          }
        }
        if (deferred.has(target) || deferred.has(entry.targetId)) {
          // An earlier write to this meeting waits for a later replay: keep the order.
          deferred.add(target)
          done.add(entry.seq)
          return "done"
        }
        if (entry.op === "delete") {
          yield* outbox.markSent(principal, entry.seq, yield* Clock.currentTimeMillis)
          const result = yield* Effect.either(network.delete(target, { idempotencyKey: entry.idempotencyKey }))
          // 404: trashed already (by someone else); the delete has nothing left to do.
          if (Either.isLeft(result) && result.left._tag !== "MeetingNotFound") {
            return (yield* failed(entry, target, result.left)) ? "stop" : "done"
          }
          yield* transaction(
            sql,
            "Cannot record a replayed delete",
            Effect.all([rows.markDeleted(principal, [target]), outbox.complete(principal, entry.seq)], { discard: true })
          )
          done.add(entry.seq)
          replayed++
          yield* Effect.logDebug("replayed a queued delete", { seq: entry.seq, id: target })
          return "done"
        }
        const params = yield* Effect.either(validateUpdate(entry.params))
        if (Either.isLeft(params)) {
          yield* bury(entry, params.left)
          return "done"
        }
        yield* outbox.markSent(principal, entry.seq, yield* Clock.currentTimeMillis)
        const result = yield* Effect.either(
          network.update(target, params.right, { idempotencyKey: entry.idempotencyKey })
        )
        if (Either.isLeft(result)) return (yield* failed(entry, target, result.left)) ? "stop" : "done"
        const meeting = Redaction.redact(result.right)
        const now = yield* Clock.currentTimeMillis
        yield* transaction(
            sql,
          "Cannot record a replayed update",
          Effect.all([
            rows.upsert(principal, [meeting], { mode: "write", now }),
            outbox.complete(principal, entry.seq)
          ], { discard: true })
        )
        done.add(entry.seq)
        replayed++
        yield* Effect.logDebug("replayed a queued update", { seq: entry.seq, id: target })
        return "done"
      })

    if (mode === "claims") yield* claimed(replayEntry)
    // Each pass settles at least one entry or ends the replay, so there are at most as many as entries.
    passes: for (let pass = 0; pass <= entries.length; pass++) {
      let progressed = false
      let waiting = false
      for (const entry of entries) {
        if (done.has(entry.seq)) continue
        const outcome = yield* replayEntry(entry)
        if (outcome === "stop") break passes
        if (outcome === "wait") waiting = true
        else progressed = true
      }
      if (!waiting || !progressed) break
    }
    if (replayed > 0) yield* Metric.incrementBy(CacheMetrics.replayed, replayed)
    yield* session.updateOutboxGauges
    const remaining = yield* outbox.depth(principal)
    return { replayed, dead, remaining, resolved, stoppedBy, networkDown } satisfies ReplayRun
  }).pipe(Effect.annotateLogs({ service: "cache", operation: "replay" }))

  /**
   * Claim and replay until nothing is left to claim or the network is down. The claims are renewed
   * while this runs and given back when it ends, however it ends.
   */
  const claimed = (replayEntry: (entry: OutboxEntry) => Effect.Effect<"done" | "wait" | "stop", CacheError>) =>
    Effect.scoped(Effect.gen(function*() {
      const ttlMillis = Duration.toMillis(yield* OutboxClaimTtl)
      const worker = crypto.randomUUID()
      yield* Effect.addFinalizer(() =>
        outbox.releaseClaims(principal, worker).pipe(
          Effect.catchTag("CacheError", (e) => Effect.logWarning("cannot give back outbox claims", e.message))
        )
      )
      yield* Effect.forkScoped(
        Effect.forever(Effect.zipRight(Effect.sleep(Duration.millis(ttlMillis / 3)), outbox.renewClaims(principal, worker, ttlMillis)))
          .pipe(Effect.catchTag("CacheError", (e) => Effect.logWarning("cannot renew outbox claims", e.message)))
      )
      while (true) {
        const batch = yield* outbox.claim(principal, worker, { limit: claimBatch, ttlMillis })
        if (batch.length === 0) return
        for (const entry of batch) {
          // "wait" cannot happen here (a claimed entry has no pending predecessor); it stays claimed.
          if ((yield* replayEntry(entry)) === "stop") return
        }
      }
    }))

  const run: Effect.Effect<ReplayRun, CacheError> = sql.onDialectOrElse({
    pg: () => replayWith("claims"),
    orElse: () => replayWith("passes")
  })

  /** A replay on its own (the caller holds the write lock). */
  return { run } as const
}
