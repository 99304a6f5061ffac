/**
 * The writes of a `MeetingsCache`: write-through `create`/`update` that queue in the outbox when the
 * API is unreachable (or when asked to), the replay under the write lock, dead-letter handling,
 * `rebuild`, and moving another principal's queue. One write at a time per service (`writeLock`),
 * so a new write never overtakes a queued one to the same meeting.
 */
import { IdempotencyKey, Meeting, MeetingParams, MeetingsError as Errors, ParamsProblem, Redaction } from "@lightfield-effect/core"
import type { MeetingsError } from "@lightfield-effect/core"
import { Clock, DateTime, Effect, Either, Option, Schema } from "effect"
import { CacheError, CacheMiss } from "../CacheError.js"
import type { DeleteResult, OutboxFailure, ReplayResult, WriteOptions } from "../Outbox.js"
import { Principal } from "../Principal.js"
import type { Cached } from "../ReadPolicy.js"
import { fromLocalWrite, fromNetwork } from "../ReadPolicy.js"
import type { NewEntry } from "./outboxStore.js"
import { applyUpdate, isLocalId, localIdPrefix, provisionalMeeting } from "./provisional.js"
import * as Replay from "./replay.js"
import type { Session } from "./session.js"
import { checkTimeout, isOffline, timeoutOf } from "./session.js"
import { transaction } from "./sql.js"

type MeetingT = Meeting.Meeting

const validateCreate = ParamsProblem.validator(MeetingParams.CreateMeetingParams)
const validateUpdate = ParamsProblem.validator(MeetingParams.UpdateMeetingParams)

/** The online attempt of a write that was then queued: it may have reached the server. */
type Sent = { readonly at: number; readonly error: OutboxFailure }

export const make = (session: Session) => {
  const { lookup, network, outbox, principal, rows, sql, store, writeLock } = session
  const replayer = Replay.make(session)

  /**
   * Before an online write: replay what is queued, so the new write does not overtake queued
   * writes to the same meeting. A create touches no queued meeting: it goes online unless the
   * replay found the network down. An update goes online only when no write to its meeting waits.
   */
  const drained = (target: Option.Option<string>) =>
    Effect.gen(function*() {
      if ((yield* outbox.depth(principal)) === 0) return true
      const result = yield* replayer.run
      if (result.remaining === 0) return true
      if (result.networkDown) return false
      return Option.isNone(target) || (yield* outbox.pendingFor(principal, target.value)) === 0
    })

  /** Queue an entry and show its provisional meeting, in one transaction. */
  const enqueue = (entry: NewEntry, provisional: MeetingT, now: number) =>
    transaction(
      sql,
      "Cannot queue an offline write",
      Effect.zipRight(outbox.enqueue(principal, entry, now), rows.upsert(principal, [provisional], { mode: "local", now }))
    ).pipe(Effect.zipRight(session.updateOutboxGauges))

  /** Send a write online; the answer stored, or the failure (and when it was sent). */
  const sendOnline = <E>(send: Effect.Effect<MeetingT, E>) =>
    Effect.gen(function*() {
      const at = yield* Clock.currentTimeMillis
      const result = yield* Effect.either(send)
      if (Either.isLeft(result)) return Either.left({ error: result.left, at })
      const meeting = Redaction.redact(result.right)
      yield* store([meeting], "write")
      return Either.right(fromNetwork(meeting, yield* Clock.currentTimeMillis))
    })

  const create = Effect.fn("MeetingsCache.create")(function*(
    params: MeetingParams.CreateMeetingParams,
    writeOptions: WriteOptions = {}
  ) {
    const valid = yield* validateCreate(params)
    const idempotencyKey = yield* IdempotencyKey.resolve(writeOptions.idempotencyKey)
    yield* checkTimeout(writeOptions.timeout)
    return yield* writeLock.withPermits(1)(Effect.gen(function*() {
      let sent: Sent | undefined
      if (writeOptions.offline !== true && (yield* drained(Option.none()))) {
        const online = yield* sendOnline(network.create(valid, { idempotencyKey, ...timeoutOf(writeOptions.timeout) }))
        if (Either.isRight(online)) return online.right
        const { at, error } = online.left
        if (!(session.config.offlineWrites && isOffline(error))) return yield* error
        // The request may have reached the server: the queued entry starts with this send recorded.
        sent = { at, error }
        yield* Effect.logDebug("network unreachable; create queued in the outbox", { error: error._tag })
      }
      const now = yield* Clock.currentTimeMillis
      const localId = `${localIdPrefix}${crypto.randomUUID()}`
      const provisional = provisionalMeeting(localId, valid, DateTime.unsafeMake(now))
      yield* enqueue({ op: "create", targetId: localId, localId, idempotencyKey, params: valid, sent }, provisional, now)
      return fromLocalWrite(provisional, now)
    }))
  })

  const update = Effect.fn("MeetingsCache.update")(function*(
    id: string,
    params: MeetingParams.UpdateMeetingParams,
    writeOptions: WriteOptions = {}
  ) {
    yield* Meeting.validateId(id)
    const valid = yield* validateUpdate(params)
    const idempotencyKey = yield* IdempotencyKey.resolve(writeOptions.idempotencyKey)
    yield* checkTimeout(writeOptions.timeout)
    return yield* writeLock.withPermits(1)(Effect.gen(function*() {
      const resolveTarget = Effect.map(lookup(id), ({ key }) => key)
      let target = yield* resolveTarget
      let networkError: Option.Option<MeetingsError.MeetingsError> = Option.none()
      let sent: Sent | undefined
      if (writeOptions.offline !== true && (yield* drained(Option.some(target)))) {
        target = yield* resolveTarget
        if (!isLocalId(target)) {
          const online = yield* sendOnline(
            network.update(target, valid, { idempotencyKey, ...timeoutOf(writeOptions.timeout) })
          )
          if (Either.isRight(online)) return online.right
          const { at, error } = online.left
          if (!(session.config.offlineWrites && isOffline(error))) return yield* error
          networkError = Option.some(error)
          sent = { at, error }
        }
      }
      const stored = Option.filter(yield* rows.findById(principal, target), (s) => !s.gone)
      if (Option.isNone(stored)) {
        // Nothing to show a pending version of: do not queue a write the caller cannot see.
        if (Option.isSome(networkError)) return yield* networkError.value
        return yield* new CacheMiss({ id, message: `Meeting ${id} is not cached; an offline update needs a cached copy` })
      }
      const now = yield* Clock.currentTimeMillis
      const provisional = applyUpdate(stored.value.meeting, valid, DateTime.unsafeMake(now))
      yield* enqueue({ op: "update", targetId: target, localId: null, idempotencyKey, params: valid, sent }, provisional, now)
      yield* Effect.logDebug("update queued in the outbox", { id: target })
      return fromLocalWrite(provisional, now)
    }))
  })

  /**
   * Write-through delete (spec §3.5): the row becomes a content-free tombstone that no sync brings
   * back. Unreachable: queued (a tombstone meanwhile). A provisional meeting whose create was never
   * sent: the create and its queued writes are dropped, nothing is sent.
   */
  const remove = Effect.fn("MeetingsCache.delete")(function*(id: string, writeOptions: WriteOptions = {}) {
    const valid = yield* Meeting.validateId(id)
    const idempotencyKey = yield* IdempotencyKey.resolve(writeOptions.idempotencyKey)
    yield* checkTimeout(writeOptions.timeout)
    return yield* writeLock.withPermits(1)(Effect.gen(function*() {
      const target = (yield* lookup(valid)).key
      if (yield* rows.isDeleted(principal, target)) {
        return yield* new Errors.MeetingNotFound({ id, message: `Meeting ${id} is deleted` })
      }
      if (isLocalId(target)) {
        const create = (yield* outbox.pending(principal)).find((e) => e.op === "create" && e.localId === target)
        if (create === undefined) {
          return yield* new CacheMiss({ id, message: `Provisional meeting ${id} has no queued create` })
        }
        if (create.sends === 0) {
          const cancelled = yield* transaction(
            sql,
            "Cannot cancel queued writes",
            Effect.zipLeft(outbox.cancelLocal(principal, target), rows.markDeleted(principal, [target]))
          )
          yield* session.updateOutboxGauges
          yield* Effect.logDebug("delete cancelled the queued writes of a provisional meeting", { id: target, cancelled })
          return { id: target, outcome: "cancelled", meeting: Option.none() } satisfies DeleteResult
        }
        // The create may have reached the server: the delete is queued behind it.
      }
      let sent: Sent | undefined
      if (!isLocalId(target) && writeOptions.offline !== true && (yield* drained(Option.some(target)))) {
        const at = yield* Clock.currentTimeMillis
        const result = yield* Effect.either(network.delete(target, { idempotencyKey, ...timeoutOf(writeOptions.timeout) }))
        if (Either.isRight(result) || result.left._tag === "MeetingNotFound") {
          // Deleted, now or before (404): either way it never comes back.
          yield* rows.markDeleted(principal, [target])
          if (Either.isLeft(result)) return yield* result.left
          yield* Effect.logDebug("meeting deleted", { id: target })
          return { id: target, outcome: "deleted", meeting: Option.map(result.right, (m) => Redaction.redact(m)) } satisfies DeleteResult
        }
        const error = result.left
        if (!(session.config.offlineWrites && isOffline(error))) return yield* error
        sent = { at, error }
      }
      const now = yield* Clock.currentTimeMillis
      yield* transaction(
        sql,
        "Cannot queue an offline delete",
        Effect.zipRight(
          outbox.enqueue(principal, { op: "delete", targetId: target, localId: null, idempotencyKey, params: {}, sent }, now),
          rows.markDeleted(principal, [target])
        )
      )
      yield* session.updateOutboxGauges
      yield* Effect.logDebug("delete queued in the outbox", { id: target })
      return { id: target, outcome: "queued", meeting: Option.none() } satisfies DeleteResult
    }))
  })

  const replay: Effect.Effect<ReplayResult, CacheError> = writeLock.withPermits(1)(
    Effect.map(replayer.run, ({ networkDown: _, ...result }) => result)
  ).pipe(Effect.withSpan("MeetingsCache.replay"))

  const rebuild = writeLock.withPermits(1)(Effect.gen(function*() {
    // One transaction: clear the mirror (pending rows stay) and restore any queued create whose
    // provisional row is missing, so queued writes stay visible under their ids.
    const entries = yield* transaction(sql, "Cannot rebuild the mirror", Effect.gen(function*() {
      yield* rows.clear(principal)
      yield* session.syncState.clear(principal)
      const entries = yield* outbox.pending(principal)
      const now = yield* Clock.currentTimeMillis
      const provisional: Array<MeetingT> = []
      for (const entry of entries) {
        if (entry.op !== "create" || entry.localId === null) continue
        if (Option.isSome(yield* rows.findById(principal, entry.localId))) continue
        const params = yield* Effect.either(validateCreate(entry.params))
        if (Either.isRight(params)) {
          provisional.push(provisionalMeeting(entry.localId, params.right, DateTime.unsafeMake(entry.createdAt)))
        }
      }
      yield* rows.upsert(principal, provisional, { mode: "local", now })
      return entries
    }))
    yield* Effect.logDebug("cache mirror rebuilt", { keptOutbox: entries.length })
  })).pipe(Effect.withSpan("MeetingsCache.rebuild"))

  const adoptOutbox = (from: string) =>
    writeLock.withPermits(1)(Effect.gen(function*() {
      const source = yield* Either.mapLeft(
        Schema.decodeUnknownEither(Principal)(from),
        () => new CacheError({ reason: "Config", message: `Not a principal: ${JSON.stringify(from)}` })
      )
      if (source === principal) return { moved: 0 }
      const moved = yield* transaction(
        sql,
        "Cannot move outbox entries",
        Effect.zipLeft(outbox.adopt(source, principal), rows.adoptProvisional(source, principal))
      )
      yield* session.updateOutboxGauges
      yield* Effect.logDebug("outbox entries moved from another principal", { from: source, moved })
      return { moved }
    })).pipe(Effect.withSpan("MeetingsCache.adoptOutbox"))

  const resolveId = (id: string): Effect.Effect<Option.Option<string>, CacheError> =>
    isLocalId(id) ? outbox.resolve(principal, id) : Effect.succeed(Option.some(id))

  const stamped = <A>(f: (now: number) => Effect.Effect<A, CacheError>) =>
    Effect.zipLeft(Effect.flatMap(Clock.currentTimeMillis, f), session.updateOutboxGauges)

  return {
    create: create as (
      params: MeetingParams.CreateMeetingParams,
      options?: WriteOptions
    ) => Effect.Effect<Cached<MeetingT>, MeetingsError.MeetingsError | CacheError>,
    update: update as (
      id: string,
      params: MeetingParams.UpdateMeetingParams,
      options?: WriteOptions
    ) => Effect.Effect<Cached<MeetingT>, MeetingsError.MeetingsError | CacheError | CacheMiss>,
    delete: remove as (
      id: string,
      options?: WriteOptions
    ) => Effect.Effect<DeleteResult, MeetingsError.MeetingsError | CacheError | CacheMiss>,
    replay,
    rebuild,
    adoptOutbox,
    resolveId,
    retryDeadLetter: (seq: number) => Effect.asVoid(stamped((now) => outbox.retryDead(principal, seq, now))),
    discardDeadLetter: (seq: number) => stamped((now) => outbox.discardDead(principal, seq, now))
  } as const
}
