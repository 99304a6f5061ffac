/**
 * The SQLite connection of a cache: a better-sqlite3 handle, an `SqlClient` built over it (as
 * `@effect/sql-sqlite-node`'s `SqliteClient` builds its own) for the portable SQL, and the handle
 * itself as the `SqliteHandle` service for the paths where `@effect/sql`'s per-statement cost
 * dominates (reads by id, sync batches: prepared once, run synchronously). `:memory:` and files run
 * the same code, except that on a file reads by id outside any transaction go to a second,
 * read-only connection with the file memory-mapped (`prepareCommitted`); it never writes.
 *
 * Both sides share one semaphore: a transaction holds it from BEGIN to COMMIT, and a direct use of
 * the handle outside that transaction waits for it, so no statement ever lands in another fiber's
 * open transaction. Transactions start with `BEGIN IMMEDIATE` (every cache transaction writes), and
 * a COMMIT that fails is rolled back on the spot, before the connection is released.
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlError from "@effect/sql/SqlError"
import * as Statement from "@effect/sql/Statement"
import type { Connection } from "@effect/sql/SqlConnection"
import BetterSqlite from "better-sqlite3"
import { resolve } from "node:path"
import { Context, Effect, Scope } from "effect"

/**
 * A prepared statement of the handle (positional `?` parameters): the part of better-sqlite3's
 * statement the cache uses, declared here so the published types need no `@types/better-sqlite3`.
 */
export interface NativeStatement {
  readonly run: (...params: Array<unknown>) => { readonly changes: number }
  readonly get: (...params: Array<unknown>) => unknown
  readonly all: (...params: Array<unknown>) => Array<unknown>
}

/** The part of better-sqlite3's connection that `use` hands out (see `NativeStatement`). */
export interface NativeDatabase {
  readonly prepare: (sql: string) => NativeStatement
  readonly exec: (sql: string) => unknown
  readonly inTransaction: boolean
}

/** The handle, for synchronous statements inside (or outside) the client's transactions. */
export interface SqliteHandleShape {
  /** Prepared once per SQL text, kept for the life of the connection. */
  readonly prepare: (sql: string) => NativeStatement
  /**
   * `prepare` in raw mode: each row an array of the selected columns in order (no object with
   * named keys to build: ~0.5 µs of a ~4.8 µs read by id of four columns).
   */
  readonly prepareRaw: (sql: string) => NativeStatement
  /**
   * `prepareRaw` for a read of committed rows, to run only while `inTransaction()` is false (then
   * the two connections see the same rows). On a file it is a second, read-only connection that
   * has the file memory-mapped (`mmapSize`): no `read` system call per page (~1.2 µs of a ~4.4 µs
   * read by id). The writing connection is never mapped: a sync would map every page it touches
   * (a sync of 100k meetings measured 524 MB peak RSS instead of 285). On `:memory:`, or when the
   * reader cannot be opened, it is `prepareRaw`.
   */
  readonly prepareCommitted: (sql: string) => NativeStatement
  /** Whether a transaction is open on the connection (any fiber's). */
  readonly inTransaction: () => boolean
  /**
   * Run `f` on the connection: at once inside this fiber's transaction (it sees the transaction's
   * own writes) or when no transaction is open; after the open one otherwise. A thrown error is a
   * `SqlError`.
   */
  readonly use: <A>(f: (db: NativeDatabase) => A) => Effect.Effect<A, SqlError.SqlError>
  /**
   * Whether `use` would run at once in this context (inside this fiber's transaction, or with none
   * open): lets the read-by-id path run synchronously, without an effect per step.
   */
  readonly canRunNow: (context: Context.Context<never>) => boolean
}

export class SqliteHandle extends Context.Tag("@lightfield-effect/cache/internal/SqliteHandle")<
  SqliteHandle,
  SqliteHandleShape
>() {}

export interface ConnectionOptions {
  readonly filename: string
  /** Prepared statements kept for the `SqlClient` (default 200; the handle's own are not counted). */
  readonly prepareCacheSize?: number
  /** Bytes of the file the reader maps (default 256 MiB; 0: the reader reads it as the writer does). */
  readonly mmapSize?: number
}

/** `ConnectionOptions.mmapSize`'s default: what SQLite itself calls a large map, well below its cap. */
const defaultMmapSize = 256 * 1024 * 1024

const failure = (cause: unknown, message: string) => new SqlError.SqlError({ cause, message })

/** A map of at most `capacity` entries, least recently used dropped first. */
const boundedCache = <V>(capacity: number, make: (key: string) => V) => {
  const entries = new Map<string, V>()
  return (key: string): V => {
    const found = entries.get(key)
    if (found !== undefined) {
      entries.delete(key)
      entries.set(key, found)
      return found
    }
    const made = make(key)
    if (entries.size >= capacity) {
      const oldest = entries.keys().next()
      if (oldest.done !== true) entries.delete(oldest.value)
    }
    entries.set(key, made)
    return made
  }
}

/** Open the handle (closed with the scope) and build the `SqlClient` and `SqliteHandle` over it. */
export const make = (
  options: ConnectionOptions
): Effect.Effect<
  { readonly client: SqlClient.SqlClient; readonly handle: SqliteHandleShape },
  SqlError.SqlError,
  Scope.Scope | Reactivity.Reactivity
> =>
  Effect.gen(function*() {
    const db = yield* Effect.acquireRelease(
      Effect.try({ try: () => new BetterSqlite(options.filename), catch: (cause) => failure(cause, "Cannot open database") }),
      (db) => Effect.sync(() => db.close())
    )
    if (options.filename !== ":memory:" && options.filename !== "") {
      yield* Effect.try({ try: () => db.pragma("journal_mode = WAL"), catch: (cause) => failure(cause, "Cannot enable WAL") })
    }

    const clientStatement = boundedCache(options.prepareCacheSize ?? 200, (sql) => db.prepare(sql))
    /** Statements prepared once per SQL text on a connection (raw: rows as arrays). */
    const preparedOn = (connection: () => BetterSqlite.Database, raw: boolean) => {
      const statements = new Map<string, NativeStatement>()
      return (sql: string): NativeStatement => {
        let statement = statements.get(sql)
        if (statement === undefined) {
          const prepared = connection().prepare<Array<unknown>>(sql)
          statement = raw ? prepared.raw(true) : prepared
          statements.set(sql, statement)
        }
        return statement
      }
    }
    const prepare = preparedOn(() => db, false)
    const prepareRaw = preparedOn(() => db, true)

    // Opened with the writer (the same file, whatever happens to the path or the working folder
    // later), closed before it (the writer checkpoints the WAL when it closes). Not retried when it
    // cannot be opened: reads then stay on the writer. No busy wait (`timeout: 0`): a busy read
    // fails at once and the read goes the writer's way, never blocking the event loop.
    const closeQuietly = (connection: BetterSqlite.Database | null) => {
      try {
        connection?.close()
      } catch {
        // Nothing to lose: it never writes.
      }
    }
    let reader: BetterSqlite.Database | null = null
    if (options.filename !== ":memory:" && options.filename !== "") {
      let opened: BetterSqlite.Database | null = null
      try {
        opened = new BetterSqlite(resolve(options.filename), { readonly: true, timeout: 0 })
        opened.pragma(`mmap_size = ${Math.max(0, Math.floor(options.mmapSize ?? defaultMmapSize))}`)
        reader = opened
      } catch {
        closeQuietly(opened)
      }
    }
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        const open = reader
        reader = null // a read after close goes to the closed writer, and fails typed
        closeQuietly(open)
      })
    )
    const onReader = preparedOn(() => reader!, true)
    const prepareCommitted = (sql: string): NativeStatement => reader === null ? prepareRaw(sql) : onReader(sql)

    const run = (sql: string, params: ReadonlyArray<unknown>, raw: boolean, prepared: boolean) =>
      Effect.withFiberRuntime<ReadonlyArray<unknown>, SqlError.SqlError>((fiber) => {
        try {
          const statement = prepared ? clientStatement(sql) : db.prepare(sql)
          if (Context.get(fiber.currentContext, SqlClient.SafeIntegers)) statement.safeIntegers(true)
          if (statement.reader) return Effect.succeed(statement.all(...params))
          const result = statement.run(...params)
          return Effect.succeed(raw ? (result as unknown as ReadonlyArray<unknown>) : [])
        } catch (cause) {
          return Effect.fail(failure(cause, "Failed to execute statement"))
        }
      })

    const connection: Connection = {
      execute: (sql, params, transformRows) =>
        transformRows ? Effect.map(run(sql, params, false, true), transformRows as never) : run(sql, params, false, true),
      executeRaw: (sql, params) => run(sql, params, true, true),
      executeValues: (sql, params) =>
        Effect.try({
          try: () => {
            const statement = clientStatement(sql)
            if (!statement.reader) {
              statement.run(...params)
              return []
            }
            statement.raw(true)
            try {
              return statement.all(...params) as ReadonlyArray<ReadonlyArray<unknown>>
            } finally {
              statement.raw(false)
            }
          },
          catch: (cause) => failure(cause, "Failed to execute statement")
        }),
      executeUnprepared: (sql, params, transformRows) => {
        // A BEGIN IMMEDIATE that met another connection's lock opened nothing, and SQLite may
        // already have rolled back after a failed statement (a full disk): the ROLLBACK that
        // follows has nothing to do, and must not fail (it would be a defect) over that.
        if (sql === "ROLLBACK" && !db.inTransaction) return Effect.succeed([])
        const ran = run(sql, params ?? [], false, false)
        // A failed COMMIT may leave the transaction open: roll it back before the connection is
        // released, so the next statement never joins it.
        const settled = sql === "COMMIT"
          ? Effect.tapError(ran, () => Effect.sync(() => (db.inTransaction ? db.exec("ROLLBACK") : undefined)))
          : ran
        return transformRows ? Effect.map(settled, transformRows as never) : settled
      },
      executeStream: () => Effect.dieMessage("executeStream is not supported by the cache's SQLite connection")
    }

    const semaphore = yield* Effect.makeSemaphore(1)
    const acquirer = semaphore.withPermits(1)(Effect.succeed(connection))
    const transactionAcquirer = Effect.uninterruptibleMask((restore) =>
      Effect.as(
        Effect.zipRight(restore(semaphore.take(1)), Effect.tap(Effect.scope, (scope) => Scope.addFinalizer(scope, semaphore.release(1)))),
        connection
      )
    )
    const client = yield* SqlClient.make({
      acquirer,
      transactionAcquirer,
      compiler: Statement.makeCompilerSqlite(),
      beginTransaction: "BEGIN IMMEDIATE",
      spanAttributes: [["db.system.name", "sqlite"]]
    })

    const attempt = <A>(f: (db: BetterSqlite.Database) => A): Effect.Effect<A, SqlError.SqlError> => {
      try {
        return Effect.succeed(f(db))
      } catch (cause) {
        return Effect.fail(failure(cause, "Failed to execute statement"))
      }
    }
    // Inside this fiber's transaction (how `@effect/sql` itself finds it), or nobody's: run now.
    const canRunNow = (context: Context.Context<never>) =>
      !db.inTransaction || Context.getOption(context, SqlClient.TransactionConnection)._tag === "Some"
    // The handle seen through the slice of its type that the published declarations name.
    const native = <A>(f: (db: NativeDatabase) => A) => (db: BetterSqlite.Database): A => f(db as unknown as NativeDatabase)
    const use = <A>(f: (db: NativeDatabase) => A): Effect.Effect<A, SqlError.SqlError> =>
      Effect.contextWithEffect((context: Context.Context<never>) =>
        canRunNow(context)
          ? attempt(native(f))
          : semaphore.withPermits(1)(Effect.suspend(() => attempt(native(f))))
      )

    return { client, handle: { prepare, prepareRaw, prepareCommitted, inTransaction: () => db.inTransaction, use, canRunNow } }
  })

/** The `SqlClient` and the `SqliteHandle` of one connection, as a layer (the handle closes with it). */
export const layer = (
  options: ConnectionOptions
): Effect.Effect<
  Context.Context<SqlClient.SqlClient | SqliteHandle>,
  SqlError.SqlError,
  Scope.Scope | Reactivity.Reactivity
> =>
  Effect.map(make(options), ({ client, handle }) =>
    Context.make(SqlClient.SqlClient, client).pipe(Context.add(SqliteHandle, handle)))
