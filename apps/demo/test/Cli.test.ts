import { afterAll, assert, describe, it } from "@effect/vitest"
import { Sandbox } from "@lightfield-effect/sandbox"
import { DateTime, Effect, Layer, Option } from "effect"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parse as parseYaml } from "yaml"
import { removeBundle, runCli, runSandboxCommand, startCli } from "./cli.js"

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

const packageVersion = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version

// `it.effect` runs on the TestClock (time 0); the CLI subprocess lives in real time.
const wallClock = () => DateTime.unsafeMake(Date.now())

afterAll(removeBundle)

/** A transcript run on the sandbox's meeting at `index`: a file of `lines` lines, and the sandbox's files of that name. */
const transcriptCase = (index: number, filename: string, lines: number) =>
  Effect.gen(function*() {
    const sandbox = yield* Sandbox.Sandbox
    const env = yield* envFor(sandbox)
    const id = (yield* sandbox.meetings)[index]!.id as string
    const path = join(dir, filename)
    writeFileSync(path, `Speaker ${index}: words of the transcript.\n`.repeat(lines))
    const mine = Effect.map(sandbox.files, (files) => files.filter((f) => f.filename === filename))
    return { sandbox, env, id, path, mine }
  })

/** Sleep in real time (the TestClock does not move for a subprocess). */
const realSleep = (millis: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, millis)))

/** Poll `check` in real time until it holds (fails after 15 s). */
const waitUntil = (check: Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    const started = Date.now()
    while (!(yield* check)) {
      if (Date.now() - started > 15_000) return yield* Effect.fail(new Error("condition not met within 15 s"))
      yield* realSleep(25)
    }
  })

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

    it.effect("[regression] a --db whose folder cannot be made is a CachePathError (exit 8), not a stack trace", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const env = yield* envFor(sandbox)
        const aFile = join(dir, "a-file")
        writeFileSync(aFile, "not a folder")
        // The parent is a file (mkdir: EEXIST), or a folder below a file (ENOTDIR).
        for (const [file, folder] of [[join(aFile, "cache.db"), aFile], [join(aFile, "deeper", "cache.db"), join(aFile, "deeper")]]) {
          const ran = yield* runCli(["status", "--db", file!], env)
          assert.strictEqual(ran.code, 8, ran.stderr)
          assert.strictEqual(
            ran.stderr.trim(),
            `CachePathError: Cannot use ${file} as the cache file: ${folder} (or a folder above it) is a file, not a folder`
          )
        }
        // A place nobody may create folders in (sysfs refuses even root).
        const readOnly = yield* runCli(["status", "--db", "/sys/lightfield-demo/cache.db"], env)
        assert.strictEqual(readOnly.code, 8, readOnly.stderr)
        assert.match(
          readOnly.stderr.trim(),
          /^CachePathError: Cannot use \/sys\/lightfield-demo\/cache\.db as the cache file: \/sys\/lightfield-demo cannot be created here \(E[A-Z]+: not writable\)$/
        )
      }))

    it.effect("[regression] --from/--to take ISO 8601 with a zone only: '1' and zoneless dates exit 2", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const env = yield* envFor(sandbox)
        for (const bad of ["1", "2026-03-01", "2026-03-01T09:30", "2026-13-01T00:00:00Z"]) {
          const ran = yield* runCli(["list", "--db", db, "--json", "--from", bad], env)
          assert.strictEqual(ran.code, 2, `--from ${bad}: ${ran.stdout}`)
          assert.match(ran.stderr, /^UsageError: --from must be an ISO 8601 date-time with a zone/m)
        }
        const to = yield* runCli(["list", "--db", db, "--json", "--to", "42"], env)
        assert.strictEqual(to.code, 2)
        assert.match(to.stderr, /^UsageError: --to must be an ISO 8601 date-time with a zone/m)
        for (const good of ["2000-01-01T00:00:00Z", "2000-01-01T01:30:00.000+01:30", "2000-01-01T00:00Z"]) {
          const ran = yield* runCli(["list", "--db", db, "--json", "--limit", "1", "--from", good], env)
          assert.strictEqual(ran.code, 0, `--from ${good}: ${ran.stderr}`)
          assert.strictEqual((JSON.parse(ran.stdout) as ReadonlyArray<unknown>).length, 1)
        }
      }))

    it.effect("--policy takes kebab-case values; the earlier names keep working; others exit 2", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const env = yield* envFor(sandbox)
        const id = (yield* sandbox.meetings)[4]!.id
        for (const [policy, source] of [
          ["cache-only", "cache"], ["CacheOnly", "cache"], ["network-first", "network"], ["NetworkFirst", "network"],
          ["cache-first", "cache"], ["stale-while-revalidate", "cache"], ["StaleWhileRevalidate", "cache"]
        ] as const) {
          const ran = yield* runCli(["get", id, "--db", db, "--json", "--policy", policy], env)
          assert.strictEqual(ran.code, 0, `${policy}: ${ran.stderr}`)
          assert.strictEqual((JSON.parse(ran.stdout) as { source: string }).source, source, policy)
        }
        const bad = yield* runCli(["get", id, "--db", db, "--policy", "cacheonly"], env)
        assert.strictEqual(bad.code, 2)
        assert.include(bad.stdout + bad.stderr, "cache-first, stale-while-revalidate, network-first, cache-only")
      }))

    it.effect("--api-key and --base-url stand in for the environment; --debug logs each exchange with the key redacted", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const baseUrl = yield* sandbox.baseUrl
        const key = sandbox.keys.admin
        const id = (yield* sandbox.meetings)[7]!.id
        const ran = yield* runCli(
          ["get", id, "--db", db, "--json", "--policy", "network-first", "--api-key", key, "--base-url", baseUrl, "--debug"],
          {}
        )
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.strictEqual((JSON.parse(ran.stdout) as { source: string }).source, "network")
        assert.include(ran.stderr, `[debug] --> GET ${baseUrl}/v1/meetings/${id}`)
        assert.include(ran.stderr, "authorization: <redacted>")
        assert.include(ran.stderr, `[debug] <-- 200 GET ${baseUrl}/v1/meetings/${id}`)
        assert.notInclude(ran.stderr + ran.stdout, key)
        assert.notInclude(ran.stderr, "embedded sandbox")

        const quiet = yield* runCli(["get", id, "--db", db, "--json", "--api-key", key, "--base-url", baseUrl], {})
        assert.strictEqual(quiet.code, 0, quiet.stderr)
        assert.notInclude(quiet.stderr, "[debug]")

        // A base URL alone would go unused (no key means the embedded sandbox): refused.
        const alone = yield* runCli(["get", id, "--db", db, "--base-url", baseUrl], {})
        assert.strictEqual(alone.code, 2)
        assert.strictEqual(alone.stderr.trim(), "UsageError: --base-url needs an API key: --api-key or LIGHTFIELD_API_KEY")
        const badUrl = yield* runCli(["get", id, "--db", db, "--api-key", key, "--base-url", "htp:/typo"], {})
        assert.strictEqual(badUrl.code, 2)
        assert.strictEqual(badUrl.stderr.trim(), "UsageError: the base URL must be an http(s) URL, got 'htp:/typo'")
      }))

    it.effect("--format jsonl, yaml and table; --json is --format json; two different formats exit 2", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const env = yield* envFor(sandbox)
        const id = (yield* sandbox.meetings)[2]!.id
        const jsonl = yield* runCli(["list", "--db", db, "--format", "jsonl", "--limit", "4"], env)
        assert.strictEqual(jsonl.code, 0, jsonl.stderr)
        const lines = jsonl.stdout.trim().split("\n")
        assert.strictEqual(lines.length, 4)
        for (const line of lines) assert.match((JSON.parse(line) as { id: string }).id, /^mtg_/)

        const args = ["get", id, "--db", db, "--policy", "cache-only"]
        const asYaml = yield* runCli([...args, "--format", "yaml"], env)
        assert.strictEqual(asYaml.code, 0, asYaml.stderr)
        const fromYaml = parseYaml(asYaml.stdout) as { meeting: unknown; source: string }
        const asJson = yield* runCli([...args, "--json"], env)
        const formatJson = yield* runCli([...args, "--format", "json"], env)
        assert.deepStrictEqual(fromYaml.meeting, (JSON.parse(asJson.stdout) as { meeting: unknown }).meeting)
        assert.deepStrictEqual(JSON.parse(formatJson.stdout).meeting, JSON.parse(asJson.stdout).meeting)
        assert.strictEqual(fromYaml.source, "cache")
        const table = yield* runCli([...args, "--format", "table"], env)
        assert.match(table.stdout, new RegExp(`^id\\s+${id}$`, "m"))

        const both = yield* runCli(["list", "--db", db, "--json", "--format", "yaml"], env)
        assert.strictEqual(both.code, 2)
        assert.strictEqual(both.stderr.trim(), "UsageError: --json and --format yaml ask for different formats")
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

    it.effect("watch prints a JSON line now and another when a second process deletes a meeting; delete twice exits 4", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const env = yield* envFor(sandbox)
        const watcher = yield* startCli(["watch", "--db", db, "--json", "--limit", "1000"], env)
        const first = JSON.parse(yield* watcher.line(0)) as ReadonlyArray<{ id: string }>
        assert.isAbove(first.length, 10)
        const id = first[0]!.id
        const deleted = yield* runCli(["delete", id, "--db", db, "--json"], env)
        assert.strictEqual(deleted.code, 0, deleted.stderr)
        assert.deepStrictEqual(JSON.parse(deleted.stdout), { id, outcome: "deleted" })
        const second = JSON.parse(yield* watcher.line(1)) as ReadonlyArray<{ id: string }>
        assert.strictEqual(second.length, first.length - 1)
        assert.notInclude(second.map((m) => m.id), id)
        assert.deepStrictEqual((yield* sandbox.deletedMeetings).map((d) => d.id), [id])
        yield* watcher.stop
        const again = yield* runCli(["delete", id, "--db", db], env)
        assert.strictEqual(again.code, 4, again.stderr)
        const gone = yield* runCli(["get", id, "--db", db, "--policy", "CacheOnly"], env)
        assert.strictEqual(gone.code, 4, gone.stderr)
      }).pipe(Effect.scoped))

    it.effect("delete --offline queues; outbox replay sends it once", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const env = yield* envFor(sandbox)
        const id = (yield* sandbox.meetings)[5]!.id as string
        const queued = yield* runCli(["delete", id, "--db", db, "--offline"], env)
        assert.strictEqual(queued.code, 0, queued.stderr)
        assert.strictEqual(queued.stdout.trim(), `queued (offline) ${id}`)
        const replayed = yield* runCli(["outbox", "replay", "--db", db, "--json"], env)
        assert.strictEqual((JSON.parse(replayed.stdout) as { replayed: number }).replayed, 1)
        assert.include((yield* sandbox.deletedMeetings).map((d) => d.id), id)
      }))

    it.effect("transcript upload attaches a COMPLETED file to the meeting, with a progress bar on stderr", () =>
      Effect.gen(function*() {
        const sandbox = yield* Sandbox.Sandbox
        const env = yield* envFor(sandbox)
        const id = (yield* sandbox.meetings)[7]!.id as string
        const path = join(dir, "transcript.txt")
        writeFileSync(path, "Speaker 1: hello.\n".repeat(20_000))
        const ran = yield* runCli(["transcript", "upload", id, path, "--db", db], env)
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.match(ran.stderr, /\[#{30}\] 100% 360000\/360000 bytes/)
        const fileId = /attached (fil_\S+) \(360000 bytes\)/.exec(ran.stdout)?.[1]
        assert.isDefined(fileId, ran.stdout)
        const files = (yield* sandbox.files).filter((f) => f.filename === "transcript.txt")
        assert.deepStrictEqual(files.map((f) => [f.id, f.status, f.storedBytes]), [[fileId, "COMPLETED", 360000]])
        const onServer = (yield* sandbox.meetings).find((m) => m.id === id)!
        assert.deepStrictEqual(onServer.transcriptFileId, Option.some(fileId!))
        const missing = yield* runCli(["transcript", "upload", id, join(dir, "nope.txt"), "--db", db], env)
        assert.strictEqual(missing.code, 2, missing.stderr)
      }))

    it.effect("transcript upload resumes an interrupted run: killed mid-upload, then storage 5xx, then done with the same file", () =>
      Effect.gen(function*() {
        const { env, id, mine, path, sandbox } = yield* transcriptCase(8, "resumed.txt", 10_000)
        const creates = Effect.map(sandbox.requests, (log) => log.filter((r) => r.method === "POST" && r.path === "/v1/files").length)
        yield* sandbox.clearRequests
        // 1. Slow storage: the child is SIGKILLed while its PUT hangs.
        yield* sandbox.inject({ fault: { _tag: "Latency", millis: 30_000 }, match: "PUT /__storage/*" })
        const first = yield* startCli(["transcript", "upload", id, path, "--db", db], env)
        // The file exists once its create answered; the PUT starts right after it and hangs.
        yield* waitUntil(Effect.map(mine, (files) => files.length > 0))
        yield* realSleep(500)
        first.child.kill("SIGKILL")
        yield* Effect.promise(() => new Promise((resolve) => first.child.once("exit", resolve)))
        const pending = yield* mine
        assert.deepStrictEqual(pending.map((f) => f.status), ["PENDING"])
        // 2. Storage answers 503 every time: the run fails (exit 6) and stays resumable.
        yield* sandbox.clearFaults
        yield* sandbox.inject({ fault: { _tag: "Status", status: 503 }, match: "PUT /__storage/*" })
        const failed = yield* runCli(["transcript", "upload", id, path, "--db", db], env)
        assert.strictEqual(failed.code, 6, failed.stderr)
        assert.match(failed.stderr, /UploadFailed/)
        // 3. Storage is back: the third run continues with the same file, nothing created again.
        yield* sandbox.clearFaults
        const done = yield* runCli(["transcript", "upload", id, path, "--db", db, "--json"], env)
        assert.strictEqual(done.code, 0, done.stderr)
        const answer = JSON.parse(done.stdout) as { fileId: string; sizeBytes: number }
        assert.strictEqual(answer.fileId, pending[0]!.id)
        assert.deepStrictEqual((yield* mine).map((f) => [f.id, f.status]), [[pending[0]!.id, "COMPLETED"]])
        assert.strictEqual(yield* creates, 1)
        const onServer = (yield* sandbox.meetings).find((m) => m.id === id)!
        assert.deepStrictEqual(onServer.transcriptFileId, Option.some(pending[0]!.id))
        // Run again: the journal says done; nothing is uploaded or attached a second time.
        const again = yield* runCli(["transcript", "upload", id, path, "--db", db, "--json"], env)
        assert.strictEqual(again.code, 0, again.stderr)
        assert.strictEqual((JSON.parse(again.stdout) as { fileId: string }).fileId, pending[0]!.id)
        assert.strictEqual((yield* mine).length, 1)
      }).pipe(Effect.scoped))

    it.effect("transcript upload after a failed run whose URL then expired: a fresh file is attached, the abandoned one cancelled", () =>
      Effect.gen(function*() {
        const { env, id, mine, path, sandbox } = yield* transcriptCase(9, "expired.txt", 5_000)
        yield* sandbox.inject({ fault: { _tag: "Status", status: 503 }, match: "PUT /__storage/*" })
        const failed = yield* runCli(["transcript", "upload", id, path, "--db", db], env)
        assert.strictEqual(failed.code, 6, failed.stderr)
        const [abandoned] = yield* mine
        yield* sandbox.clearFaults
        yield* sandbox.inject({ fault: { _tag: "UrlExpired" }, match: "PUT /__storage/*", times: 1 })
        const done = yield* runCli(["transcript", "upload", id, path, "--db", db, "--json"], env)
        assert.strictEqual(done.code, 0, done.stderr)
        const fileId = (JSON.parse(done.stdout) as { fileId: string }).fileId
        assert.notStrictEqual(fileId, abandoned!.id)
        assert.deepStrictEqual((yield* mine).map((f) => [f.id, f.status]), [[abandoned!.id, "CANCELLED"], [fileId, "COMPLETED"]])
        assert.deepStrictEqual((yield* sandbox.meetings).find((m) => m.id === id)!.transcriptFileId, Option.some(fileId))
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

  it.effect("--help lists the commands and built-ins; --version prints the version; --completions a script", () =>
    Effect.gen(function*() {
      const help = yield* runCli(["--help"])
      assert.strictEqual(help.code, 0, help.stderr)
      for (const word of ["sync", "list", "get", "outbox replay", "--completions", "--version"]) assert.include(help.stdout, word)
      const version = yield* runCli(["--version"])
      assert.strictEqual(version.code, 0, version.stderr)
      assert.strictEqual(version.stdout.trim(), packageVersion)
      for (const shell of ["bash", "zsh", "fish"]) {
        const completions = yield* runCli(["--completions", shell])
        assert.strictEqual(completions.code, 0, completions.stderr)
        assert.include(completions.stdout, "lightfield-demo")
        assert.include(completions.stdout, "policy")
      }
    }), { timeout: 60_000 })

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

  it.effect("[issue 13] fleet without a reachable PostgreSQL says what it needs (exit 6, one line); a bad --redis exits 2", () =>
    Effect.gen(function*() {
      const ran = yield* runCli(["fleet", "--db", "postgres://postgres:secret@127.0.0.1:1/postgres"], {})
      assert.strictEqual(ran.code, 6, ran.stderr)
      assert.match(ran.stderr.trim(), /^FleetNeedsPostgres: pnpm demo fleet needs PostgreSQL: postgres:\/\/\*\*\*@127\.0\.0\.1:1\/postgres could not be reached/)
      assert.strictEqual(ran.stderr.trim().split("\n").length, 1)
      assert.notInclude(ran.stderr, "secret")
      const badRedis = yield* runCli(["status", "--db", join(dir, "redis.db"), "--redis", "http://127.0.0.1:6379"], {})
      assert.strictEqual(badRedis.code, 2, badRedis.stderr)
      assert.match(badRedis.stderr, /InvalidConfig: Redis URL "http:\/\/127\.0\.0\.1:6379" must be a redis: or rediss: URL/)
    }), { timeout: 60_000 })
})
