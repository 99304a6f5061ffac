/**
 * A full disk (issue 10 #6). The cache file lives on a small tmpfs (`mount -t tmpfs -o size=…`;
 * where mounting is not allowed, a file capped by `PRAGMA max_page_count` instead). After a sync,
 * the rest of the filesystem is filled, then every kind of write runs: an offline create (with a
 * large description), an offline update, a `NetworkFirst` read that stores the answer, an online
 * create, a sync, and opening a second cache file.
 *
 * Each ends in a success or a typed `CacheError`, never a defect; nothing is half-written (the
 * stored meetings and the outbox are byte-for-byte what they were before the failed write, and
 * `integrity_check` is ok); once space is freed the same cache works again.
 */
import { describe, it } from "@effect/vitest"
import type { MeetingsCache } from "@lightfield-effect/cache"
import type { MeetingParams } from "@lightfield-effect/core"
import { Effect, Logger, LogLevel, Option } from "effect"
import { execFileSync } from "node:child_process"
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs"
import { join } from "node:path"
import * as Env from "./lib/Env.js"
import * as Run from "./lib/Run.js"
import * as Scenario from "./lib/Scenario.js"

/** A small tmpfs at a temp folder for the scope, or `None` if mounting is not allowed here. */
const smallFilesystem = (dir: string, size: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const at = join(dir, "tmpfs")
      mkdirSync(at)
      try {
        execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", at], { stdio: "ignore" })
        return Option.some(at)
      } catch {
        return Option.none<string>()
      }
    }),
    (at) => Effect.sync(() => Option.map(at, (path) => execFileSync("umount", ["-l", path], { stdio: "ignore" })))
  )

/** Fill the filesystem of `dir` until it is full; returns a function that frees the space again. */
const fill = (dir: string): (() => void) => {
  const file = join(dir, "filler")
  const fd = openSync(file, "w")
  const chunk = Buffer.alloc(64 * 1024)
  try {
    for (let size = chunk.length; size >= 1; size = Math.floor(size / 2)) {
      for (;;) {
        try {
          writeSync(fd, chunk, 0, size)
        } catch {
          break
        }
      }
    }
  } finally {
    closeSync(fd)
  }
  return () => rmSync(file, { force: true })
}

const createParams = (title: string, descriptionBytes: number): MeetingParams.CreateMeetingParams => {
  const start = Date.now() - 86_400_000
  return {
    fields: {
      $title: title,
      $startDate: new Date(start).toISOString(),
      $endDate: new Date(start + 1_800_000).toISOString(),
      $description: "x".repeat(descriptionBytes)
    }
  }
}

/** What the file holds that must survive: every meeting row and every outbox row, as text. */
const snapshot = (db: string) =>
  Effect.gen(function*() {
    const rows = yield* Env.storedRows(db)
    const outbox = yield* Env.outboxRows(db)
    return {
      meetings: rows.map((r) => JSON.stringify(r)).sort(),
      outbox: outbox.map((r) => JSON.stringify(r)).sort()
    }
  })

describe("full disk", () => {
  it.scopedLive("[regression] issue 10 #6: writes on a full filesystem end in a typed CacheError; nothing half-written, stored rows intact", () =>
    Effect.gen(function*() {
      const { fail, finish, tally } = yield* Scenario.start("full-disk", "full disk (tmpfs)")
      const rng = Run.prng("full-disk")
      const dir = yield* Env.tempDir("full-disk")
      const mounted = yield* smallFilesystem(dir, "3m")
      const where = Option.getOrElse(mounted, () => dir)
      tally.notes.push(Option.isSome(mounted) ? "a 3 MiB tmpfs" : "mount not allowed: PRAGMA max_page_count instead")
      const db = join(where, "cache.db")
      const sb = yield* Env.sandbox({ meetings: 40, seed: rng.int(1, 1_000_000) })
      const baseUrl = yield* sb.baseUrl
      const apiKey = sb.keys.member
      const ids = (yield* sb.meetings).map((m) => m.id)
      const rounds = Run.scale() === "large" ? 5 : 2

      for (let round = 1; round <= rounds; round++) {
        const label = `round ${round}`
        // Space enough: sync and queue a write.
        const queued = yield* Effect.scoped(Effect.gen(function*() {
          const cache = yield* Env.cache({ baseUrl, apiKey, db })
          yield* cache.sync()
          return yield* cache.create(createParams(`before the disk filled ${round}`, 100), { offline: true })
        }))
        yield* Effect.scoped(Effect.gen(function*() {
          // Without tmpfs the file may not grow by a single page (max_page_count is clamped to its size).
          const cache: MeetingsCache.MeetingsCacheShape = yield* Env.cache({
            baseUrl,
            apiKey,
            db,
            ...(Option.isSome(mounted) ? {} : { maxPageCount: 0 })
          })
          // Full: the filesystem (or, without tmpfs, no page beyond what the file has).
          const free = Option.isSome(mounted) ? fill(where) : () => {}
          const writes: ReadonlyArray<readonly [string, Effect.Effect<unknown, { readonly _tag: string }>]> = [
            ["offline create", cache.create(createParams(`full disk ${Run.seed()} ${round}`, 400_000), { offline: true })],
            ["offline update", cache.update(ids[round]!, { fields: { $privacySetting: rng.pick(["FULL", "METADATA"] as const) } }, { offline: true })],
            ["NetworkFirst read (stores the answer)", cache.retrieve(rng.pick(ids), { policy: "NetworkFirst" })],
            ["update of the queued create", cache.update(queued.value.id, { relationships: { $transcript: { replace: "fil_full" } } }, { offline: true })],
            ["online create", cache.create(createParams(`online on a full disk ${Run.seed()} ${round}`, 200_000))],
            ["sync", cache.sync()],
            ["a second cache file", Effect.scoped(Env.cache({ baseUrl, apiKey, db: join(where, `second-${round}.db`) }))]
          ]
          for (const [name, write] of writes) {
            const before = yield* snapshot(db)
            const end = Scenario.ended(tally, yield* Effect.exit(write))
            tally.trials++
            if (end._tag === "Success") {
              tally.outcome("succeeded (fit in the space left)")
            } else if (end._tag === "Defect") {
              tally.outcome("defect")
              fail(`${label}: ${name}: ${end.label}`)
            } else {
              const e = end.error
              tally.outcome(end.label)
              if (e._tag !== "CacheError" && name !== "online create" && name !== "NetworkFirst read (stores the answer)" && name !== "sync") {
                fail(`${label}: ${name}: ${e._tag}, not a CacheError`)
              }
              const after = yield* snapshot(db)
              const changed = after.meetings.length !== before.meetings.length ||
                after.meetings.some((r, i) => r !== before.meetings[i]) ||
                after.outbox.length !== before.outbox.length ||
                after.outbox.some((r, i) => r !== before.outbox[i])
              // A failed read-through or sync may have stored part of its pages before the disk
              // filled (each batch is its own transaction); a failed write must leave no trace.
              if (changed && (name.includes("create") || name.includes("update"))) {
                tally.lost++
                fail(`${label}: ${name} failed but changed what is stored`)
              }
            }
            const check = yield* Env.integrity(db)
            if (check !== "ok") {
              tally.defects++
              fail(`${label}: ${name}: integrity_check ${check}`)
            }
          }
          free()
          // Space again: the same cache works, and what was queued before is all there.
          const later = Scenario.ended(tally, yield* Effect.exit(cache.create(createParams(`after the disk was freed ${round}`, 100), { offline: true })))
          if (later._tag !== "Success") fail(`${label}: a write after freeing space failed: ${later.label}`)
          const outbox = yield* cache.outbox
          if (!outbox.some((e) => e.localId === queued.value.id || e.targetId === queued.value.id)) {
            tally.lost++
            fail(`${label}: the write queued before the disk filled is gone`)
          }
          yield* cache.replay
        }))
      }

      yield* finish("a full disk turns writes into defects or half-writes (issue 10 #6)")
    }).pipe(Logger.withMinimumLogLevel(LogLevel.Error)), 300_000)
})
