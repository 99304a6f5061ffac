import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as Cli from "../src/internal/cli.js"

const serveOptions = (argv: ReadonlyArray<string>) =>
  Effect.map(Cli.parse(argv), (command) => {
    assert.strictEqual(command._tag, "Serve")
    return command._tag === "Serve" ? command : undefined
  })

const refusal = (argv: ReadonlyArray<string>) => Effect.map(Effect.flip(Cli.parse(argv)), (error) => error)

describe("Cli.parse", () => {
  it.effect("defaults: port 4010, nothing else set", () =>
    Effect.gen(function*() {
      const command = yield* serveOptions([])
      assert.deepStrictEqual(command, { _tag: "Serve", options: { port: 4010 }, debug: false })
    }))

  it.effect("every flag, in both spellings", () =>
    Effect.gen(function*() {
      const command = yield* serveOptions([
        "--port=0",
        "--host",
        "0.0.0.0",
        "--seed",
        "42",
        "--meetings=7",
        "--other-org-meetings",
        "3",
        "--rate",
        "12.5",
        "--capacity",
        "4",
        "--index-lag-ms",
        "250",
        "--upload-url-ttl-ms=60000",
        "--legacy-file-ids",
        "--debug"
      ])
      const { indexLag, uploadUrlTtl, ...rest } = command!.options
      assert.deepStrictEqual(rest, {
        port: 0,
        host: "0.0.0.0",
        seed: 42,
        meetings: 7,
        otherOrgMeetings: 3,
        rateLimit: { perSecond: 12.5, capacity: 4 },
        legacyFileIds: true
      })
      assert.strictEqual(Duration.toMillis(Duration.decode(indexLag!)), 250)
      assert.strictEqual(Duration.toMillis(Duration.decode(uploadUrlTtl!)), 60_000)
      assert.isTrue(command!.debug)
    }))

  it.effect("--rate 0 switches rate limiting off; --capacity alone keeps the default rate", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* serveOptions(["--rate", "0"]))!.options.rateLimit, false)
      assert.deepStrictEqual((yield* serveOptions(["--capacity", "3"]))!.options.rateLimit, { perSecond: 25, capacity: 3 })
    }))

  it.effect("--help and -h", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* Cli.parse(["--help"]), { _tag: "Help" })
      assert.deepStrictEqual(yield* Cli.parse(["--port", "nope", "-h"]), { _tag: "Help" })
    }))

  it.effect("bad arguments are typed ArgumentErrors that name the flag", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
        [["--port", "abc"], /^--port: .*abc/],
        [["--port", "70000"], /^--port: must be at most 65535/],
        [["--port", "-1"], /^--port: must be at least 0/],
        [["--port"], /^--port needs a value/],
        [["--port", "--seed", "1"], /^--port needs a value/],
        [["--seed", "1.5"], /^--seed: .*integer/],
        [["--seed", "-3"], /^--seed: must be at least 0/],
        [["--meetings", "2000000"], /^--meetings: must be at most 1000000/],
        [["--rate", "fast"], /^--rate: /],
        [["--capacity", "0"], /^--capacity: must be at least 1/],
        [["--rate", "0", "--capacity", "3"], /^--capacity needs rate limiting on/],
        [["--host", ""], /^--host needs a value/],
        [["--seed="], /^--seed needs a value/],
        [["--nope"], /^Unknown option '--nope'/],
        [["4010"], /^Unexpected argument '4010'/],
        [["--debug=yes"], /^--debug takes no value/]
      ]
      for (const [argv, message] of cases) {
        const error = yield* refusal(argv)
        assert.strictEqual(error._tag, "ArgumentError", argv.join(" "))
        assert.match(error.message, message, argv.join(" "))
      }
    }))

  it("the banner names the base URL, the version header and every key", () => {
    const lines = Cli.banner("http://127.0.0.1:1234", {
      admin: "a",
      member: "m",
      member2: "m2",
      readOnly: "r",
      otherOrg: "o"
    }, { meetings: 5, seed: 9 })
    assert.strictEqual(lines[0], "Lightfield sandbox listening on http://127.0.0.1:1234  (5 meetings, seed 9)")
    assert.include(lines[1]!, "Lightfield-Version: 2026-03-01")
    assert.deepStrictEqual(lines.slice(2, 7).map((l) => l.trim().split(/\s+/)), [
      ["admin", "a"],
      ["member", "m"],
      ["member2", "m2"],
      ["readOnly", "r"],
      ["otherOrg", "o"]
    ])
  })
})
