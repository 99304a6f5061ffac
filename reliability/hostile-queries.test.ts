/**
 * Hostile local queries (issue 10 #7): full-text searches of tens of thousands of words, one
 * 500 KB token, thousands of FTS operators, quotes and stars, control and combining characters.
 * Full-text search runs synchronously inside SQLite, so an uncapped query blocks the whole process.
 *
 * Each oversized query ends in a typed `CacheError{reason: "InvalidQuery"}` at once (well under a
 * second) and the event loop keeps turning meanwhile (a 10 ms ticker never stalls for long); odd but
 * small queries answer (results or the same typed error), never a defect; an ordinary search still
 * finds its meeting.
 */
import { describe, it } from "@effect/vitest"
import type { MeetingsCache } from "@lightfield-effect/cache"
import { Effect, Logger, LogLevel } from "effect"
import { join } from "node:path"
import * as Env from "./lib/Env.js"
import type { Prng } from "./lib/Prng.js"
import * as Run from "./lib/Run.js"
import * as Scenario from "./lib/Scenario.js"

/** An oversized query must be refused within this, and never hold the event loop longer than `maxStall`. */
const maxMillis = 500
const maxStall = 250

const words = (rng: Prng, n: number) => {
  const out: Array<string> = []
  for (let i = 0; i < n; i++) out.push(rng.pick(["alpha", "notes", "call", "review", "q3", "acme", "sync", "plan"]) + rng.int(0, 99))
  return out.join(" ")
}

interface Case {
  readonly name: string
  readonly text: string
  /** Must be refused (too big); otherwise results or the typed refusal are both fine. */
  readonly oversized: boolean
}

describe("hostile queries", () => {
  it.scopedLive("[regression] issue 10 #7: oversized full-text queries: a typed InvalidQuery at once, the event loop never blocked", () =>
    Effect.gen(function*() {
      const { fail, finish, tally } = yield* Scenario.start("hostile-queries", "hostile full-text queries")
      const rng = Run.prng("hostile-queries")
      const large = Run.scale() === "large"
      const dir = yield* Env.tempDir("hostile-queries")
      const sb = yield* Env.sandbox({ meetings: 60, seed: rng.int(1, 1_000_000) })
      const baseUrl = yield* sb.baseUrl
      const cache: MeetingsCache.MeetingsCacheShape = yield* Env.cache({ baseUrl, apiKey: sb.keys.admin, db: join(dir, "cache.db") })
      yield* cache.sync()

      const cases: ReadonlyArray<Case> = [
        ...(large ? [5_000, 20_000, 50_000, 100_000] : [5_000, 20_000, 50_000]).map((n) => ({
          name: `${n} words`,
          text: words(rng, n),
          oversized: true
        })),
        { name: "one 500 KB token", text: "a".repeat(500_000), oversized: true },
        { name: "10,000 quoted phrases", text: Array.from({ length: 10_000 }, (_, i) => `"p${i} q${i}"`).join(" "), oversized: true },
        { name: "20,000 stars", text: "a* ".repeat(20_000), oversized: true },
        { name: "10,000 FTS operators", text: "a AND b OR NOT c NEAR(d e) ".repeat(2_500), oversized: true },
        { name: "100,000 combining marks", text: "e" + "\u0301".repeat(100_000), oversized: true },
        { name: "an unbalanced quote", text: "\"review", oversized: false },
        { name: "FTS syntax", text: "NEAR(a b) AND -c OR \"d\"* ^e col:f", oversized: false },
        { name: "control characters", text: "a\u0000b\u0007c\r\nd", oversized: false },
        { name: "only punctuation", text: "!!! ??? ***", oversized: false },
        { name: "200 words", text: words(rng, 200), oversized: false }
      ]

      for (const c of cases) {
        // A ticker measures how long the event loop is held.
        let last = performance.now()
        let stall = 0
        const ticker = setInterval(() => {
          const now = performance.now()
          stall = Math.max(stall, now - last)
          last = now
        }, 10)
        const started = performance.now()
        const exit = yield* Effect.exit(cache.query({ text: c.text, limit: 10 })).pipe(
          Effect.ensuring(Effect.sync(() => clearInterval(ticker)))
        )
        const millis = performance.now() - started
        stall = Math.max(stall, performance.now() - last)
        tally.trials++
        const label = `${c.name} (${c.text.length} chars)`
        const end = Scenario.ended(tally, exit)
        let outcome: string
        if (end._tag === "Success") outcome = "answered"
        else if (end._tag === "Defect") {
          outcome = "defect"
          fail(`${label}: ${end.label}`)
        } else {
          outcome = end.label === "CacheError/InvalidQuery" ? "InvalidQuery" : end.label
          const message = end.error.message ?? ""
          if (outcome !== "InvalidQuery") fail(`${label}: ${outcome}: ${message.slice(0, 200)}`)
          if (message.length > 2_000) fail(`${label}: a ${message.length}-character error message`)
        }
        tally.outcome(c.oversized ? `oversized: ${outcome}` : `odd: ${outcome}`)
        if (c.oversized && outcome !== "InvalidQuery") fail(`${label}: ${outcome} after ${Math.round(millis)} ms, not refused`)
        if (millis > maxMillis) fail(`${label}: took ${Math.round(millis)} ms`)
        if (stall > maxStall) fail(`${label}: the event loop stalled ${Math.round(stall)} ms`)
      }

      // An ordinary search still finds its meeting.
      const target = (yield* sb.meetings)[5]!
      const titleWord = String(target.fields["$title"]?.value ?? "").split(/\s+/).find((w) => /^\p{L}{3,}$/u.test(w))
      if (titleWord !== undefined) {
        const found = yield* cache.query({ text: titleWord, limit: 100 })
        tally.trials++
        tally.outcome("ordinary search answered")
        if (!found.some((m) => m.value.id === target.id)) fail(`searching "${titleWord}" no longer finds ${target.id}`)
      }

      yield* finish("an oversized full-text query is not refused at once or blocks the process (issue 10 #7)")
    }).pipe(Logger.withMinimumLogLevel(LogLevel.Error)), 300_000)
})
