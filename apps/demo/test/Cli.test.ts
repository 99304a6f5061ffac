import { assert, describe, it } from "@effect/vitest"
import { Sandbox } from "@lightfield-effect/sandbox"
import { DateTime, Effect, Layer, Option } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { runCli, runSandboxCommand } from "./cli.js"

// One sandbox (no rate limit, so the suite is quick) and one cache file shared by the suite; tests
// run in order and build on each other like a user's session would.
const dir = mkdtempSync(join(tmpdir(), "lightfield-demo-test-"))
const db = join(dir, "cache.db")
const SandboxLive = Layer.scoped(
  Sandbox.Sandbox,
  Effect.acquireRelease(Sandbox.make({ meetings: 120, rateLimit: false }), () =>
    Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
)

const envFor = (sandbox: Sandbox.SandboxShape, key: string = sandbox.keys.admin) =>
  Effect.map(sandbox.baseUrl, (baseUrl) => ({ LIGHTFIELD_API_KEY: key, LIGHTFIELD_BASE_URL: baseUrl }))

const iso = (d: DateTime.Utc) => DateTime.formatIso(d)

// `it.effect` runs on the TestClock (time 0); the CLI subprocess lives in real time.
const wallClock = () => DateTime.unsafeMake(Date.now())

describe("demo CLI", { timeout: 120_000 }, () => {
  it.layer(SandboxLive, { timeout: 120_000 })((it) => {
    it.effect("sync mirrors every meeting the key sees (--json parses)", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const ran = yield* runCli(["sync", "--db", db, "--json"], yield* envFor(sandbox))
        assert.strictEqual(ran.code, 0, ran.stderr)
        const summary = JSON.parse(ran.stdout) as { meetings: number; pages: number }
        assert.strictEqual(summary.meetings, (yield* sandbox.meetings).length)
        assert.strictEqual(summary.pages, Math.ceil(summary.meetings / 25))
      }))

    it.effect("list filters by organizer and limit, as JSON and as a table", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const env = yield* envFor(sandbox)
        const organizer = Option.getOrThrow((yield* sandbox.meetings)[0]!.organizerEmail)
        const ran = yield* runCli(["list", "--db", db, "--json", "--organizer", organizer, "--limit", "5"], env)
        assert.strictEqual(ran.code, 0, ran.stderr)
        const rows = JSON.parse(ran.stdout) as ReadonlyArray<{ fields: Record<string, { value: unknown }> }>
        assert.isAbove(rows.length, 0)
        assert.isAtMost(rows.length, 5)
        for (const row of rows) assert.strictEqual(row.fields["$organizerEmail"]?.value, organizer)

        const table = yield* runCli(["list", "--db", db, "--limit", "3"], env)
        assert.strictEqual(table.code, 0, table.stderr)
        const lines = table.stdout.trim().split("\n")
        assert.match(lines[0]!, /^id\s+title\s+start \(UTC\)\s+organizer\s+access/)
        assert.strictEqual(lines.length, 2 + 3)
      }))

    it.effect("list --search and --from/--to answer from the cache; a bad date is a usage error (exit 2)", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const env = yield* envFor(sandbox)
        const all = yield* sandbox.meetings
        const word = Option.getOrThrow(all[0]!.title).split(" ")[0]!
        const search = yield* runCli(["list", "--db", db, "--json", "--search", word, "--limit", "100"], env)
        assert.strictEqual(search.code, 0, search.stderr)
        const found = JSON.parse(search.stdout) as ReadonlyArray<{ id: string }>
        assert.include(found.map((m) => m.id), all[0]!.id)

        const start = Option.getOrThrow(all[0]!.startDate)
        const window = yield* runCli([
          "list", "--db", db, "--json", "--limit", "100",
          "--from", iso(DateTime.subtract(start, { minutes: 1 })),
          "--to", iso(DateTime.add(start, { minutes: 1 }))
        ], env)
        assert.strictEqual(window.code, 0, window.stderr)
        assert.include((JSON.parse(window.stdout) as ReadonlyArray<{ id: string }>).map((m) => m.id), all[0]!.id)

        const bad = yield* runCli(["list", "--db", db, "--from", "yesterday"], env)
        assert.strictEqual(bad.code, 2)
        assert.match(bad.stderr, /^UsageError: --from must be an ISO 8601 date-time/m)
      }))

    it.effect("get answers from the cache with its provenance; an unknown id exits 4 with the server's message", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const env = yield* envFor(sandbox)
        const id = (yield* sandbox.meetings)[3]!.id
        const ran = yield* runCli(["get", id, "--db", db, "--json", "--policy", "CacheOnly"], env)
        assert.strictEqual(ran.code, 0, ran.stderr)
        const answer = JSON.parse(ran.stdout) as { meeting: { id: string }; source: string; pending: boolean }
        assert.strictEqual(answer.meeting.id, id)
        assert.strictEqual(answer.source, "cache")

        const missing = yield* runCli(["get", "mtg_nope", "--db", db, "--policy", "NetworkFirst"], env)
        assert.strictEqual(missing.code, 4)
        assert.strictEqual(missing.stderr.trim(), "MeetingNotFound: No resource found in 'meetings' with the given ID.")
      }))

    it.effect("create writes through; invalid input exits 2 naming the field and sends nothing", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const env = yield* envFor(sandbox)
        const now = wallClock()
        const ran = yield* runCli([
          "create", "--db", db, "--json", "--title", "CLI created",
          "--start", iso(DateTime.subtract(now, { hours: 3 })), "--end", iso(DateTime.subtract(now, { hours: 2 })),
          "--attendee", "a@example.com", "--attendee", "b@example.com"
        ], env)
        assert.strictEqual(ran.code, 0, ran.stderr)
        const created = JSON.parse(ran.stdout) as { meeting: { id: string }; pending: boolean }
        assert.match(created.meeting.id, /^mtg_/)
        assert.isFalse(created.pending)
        assert.isTrue((yield* sandbox.meetings).some((m) => m.id === created.meeting.id))

        yield* sandbox.clearRequests
        const future = yield* runCli([
          "create", "--db", db, "--title", "Too early",
          "--start", iso(DateTime.add(now, { days: 1 })), "--end", iso(DateTime.add(now, { days: 2 }))
        ], env)
        assert.strictEqual(future.code, 2)
        assert.match(future.stderr, /^InvalidParams: fields\.\$startDate must be in the past \(param: fields\.\$startDate\)/m)
        const posts = (yield* sandbox.requests).filter((r) => r.method === "POST")
        assert.strictEqual(posts.length, 0)
      }))

    it.effect("update changes the privacy setting on the server", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const env = yield* envFor(sandbox)
        const target = (yield* sandbox.meetings).find((m) => Option.getOrNull(m.privacySetting) === "FULL")!
        const ran = yield* runCli(["update", target.id, "--db", db, "--json", "--privacy", "METADATA"], env)
        assert.strictEqual(ran.code, 0, ran.stderr)
        const after = (yield* sandbox.meetings).find((m) => m.id === target.id)!
        assert.strictEqual(Option.getOrNull(after.privacySetting), "METADATA")
      }))

    it.effect("outbox: an offline create is listed, then replayed exactly once", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const env = yield* envFor(sandbox)
        const now = wallClock()
        const queued = yield* runCli([
          "create", "--db", db, "--json", "--offline", "--title", "Queued from the CLI",
          "--start", iso(DateTime.subtract(now, { hours: 5 })), "--end", iso(DateTime.subtract(now, { hours: 4 }))
        ], env)
        assert.strictEqual(queued.code, 0, queued.stderr)
        const pending = JSON.parse(queued.stdout) as { meeting: { id: string }; pending: boolean }
        assert.isTrue(pending.pending)
        assert.match(pending.meeting.id, /^local_/)

        const listed = yield* runCli(["outbox", "list", "--db", db, "--json"], env)
        assert.strictEqual(listed.code, 0, listed.stderr)
        assert.strictEqual((JSON.parse(listed.stdout) as ReadonlyArray<unknown>).length, 1)

        const replayed = yield* runCli(["outbox", "replay", "--db", db, "--json"], env)
        assert.strictEqual(replayed.code, 0, replayed.stderr)
        const result = JSON.parse(replayed.stdout) as { replayed: number; resolved: ReadonlyArray<{ localId: string; id: string }> }
        assert.strictEqual(result.replayed, 1)
        assert.strictEqual(result.resolved[0]?.localId, pending.meeting.id)
        const copies = (yield* sandbox.meetings).filter((m) => Option.getOrNull(m.title) === "Queued from the CLI")
        assert.strictEqual(copies.length, 1)
        assert.strictEqual(copies[0]!.id, result.resolved[0]!.id)
      }))

    it.effect("status reports the mirror, the outbox and the last sync", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const env = yield* envFor(sandbox)
        // One read answered from the cache, counted by that process and kept in the file.
        const id = (yield* sandbox.meetings)[5]!.id
        const hit = yield* runCli(["get", id, "--db", db, "--json", "--policy", "CacheOnly"], env)
        assert.strictEqual(hit.code, 0, hit.stderr)
        const ran = yield* runCli(["status", "--db", db, "--json"], env)
        assert.strictEqual(ran.code, 0, ran.stderr)
        const status = JSON.parse(ran.stdout) as {
          meetings: number
          outbox: number
          lastSync: string | null
          sizeBytes: number
          reads: number
          hitRatio: number | null
        }
        assert.isAtLeast(status.reads, 1)
        assert.isNotNull(status.hitRatio)
        assert.isAbove(status.hitRatio!, 0)
        assert.isAtLeast(status.meetings, 120)
        assert.strictEqual(status.outbox, 0)
        assert.isNotNull(status.lastSync)
        assert.isAbove(status.sizeBytes, 0)
      }))

    it.effect("a bad key exits 3 with the server's message", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const ran = yield* runCli(
          ["get", "mtg_x", "--db", join(dir, "other.db"), "--policy", "NetworkFirst"],
          yield* envFor(sandbox, "sk_lf_0_not_a_key")
        )
        assert.strictEqual(ran.code, 3)
        assert.strictEqual(ran.stderr.trim(), "Unauthorized: Invalid API key.")
      }))
  })

  it.effect("sandbox serves standalone and prints its keys (as text and as JSON)", () =>
    Effect.gen(function*() {
      const out = yield* runSandboxCommand(["--port", "0", "--meetings", "10"])
      assert.match(out, /listening on http:\/\/127\.0\.0\.1:\d+/)
      assert.match(out, /admin\s+sk_lf_/)
      assert.match(out, /readOnly\s+sk_lf_/)

      const asJson = yield* runSandboxCommand(["--port", "0", "--meetings", "10", "--json"])
      const started = JSON.parse(asJson.trim().split("\n")[0]!) as { baseUrl: string; keys: Record<string, string> }
      assert.match(started.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
      assert.deepStrictEqual(Object.keys(started.keys).sort(), ["admin", "member", "member2", "otherOrg", "readOnly"])
      for (const key of Object.values(started.keys)) assert.match(key, /^sk_lf_/)
    }), { timeout: 60_000 })

  it.effect("with no configuration, the story runs end to end and exits 0", () =>
    Effect.gen(function*() {
      const storyDir = mkdtempSync(join(tmpdir(), "lightfield-demo-story-"))
      const ran = yield* runCli(["--db", join(storyDir, "story.db")], {})
      rmSync(storyDir, { recursive: true, force: true })
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.match(ran.stdout, /FULL\s+METADATA/)
      assert.match(ran.stdout, /Stopped the sandbox: reads are still served, from the cache/)
      assert.match(ran.stdout, /answered from the cache/)
      assert.match(ran.stdout, /replayed 1, dead letters 0, outbox depth now 0; local_\S+ -> mtg_\S+; the server holds 1 copy/)
      assert.match(ran.stdout, /MeetingNotFound handled/)
      assert.match(ran.stdout, /429 then 200/)
    }), { timeout: 90_000 })
})
