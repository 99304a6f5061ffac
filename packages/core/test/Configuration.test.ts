/**
 * Issue 10 against the real sandbox on loopback (its `Respond` fault answers any status, body and headers).
 */
import { assert, describe, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Redacted } from "effect"
import type { MeetingsConfig } from "../src/index.js"
import { MeetingsClient } from "../src/index.js"
import { reset, sandboxLayer } from "./helpers.js"

describe("issue 10 #9: configuration errors", () => {
  layer(sandboxLayer({ rateLimit: false }), { excludeTestServices: true })("against the sandbox", (it) => {
    it.effect("[regression] #9 a bad base URL or API key is a typed configuration error when the layer is built", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const baseUrl = yield* sandbox.baseUrl
        const key = Redacted.make(sandbox.keys.admin)
        const cases: ReadonlyArray<readonly [MeetingsConfig.Options, string]> = [
          [{ apiKey: key, baseUrl: "htp:/typo" }, "baseUrl"],
          [{ apiKey: key, baseUrl: "not a url" }, "baseUrl"],
          [{ apiKey: key, baseUrl: "ftp://127.0.0.1/" }, "baseUrl"],
          [{ apiKey: key, baseUrl: `${baseUrl}?x=1` }, "baseUrl"],
          [{ apiKey: Redacted.make("sk_lf_abc\r\nX-Evil: 1"), baseUrl }, "apiKey"],
          [{ apiKey: Redacted.make("sk_lf_\u0000"), baseUrl }, "apiKey"],
          [{ apiKey: Redacted.make(""), baseUrl }, "apiKey"],
          // From plain JavaScript (or a cast): a bare string where a Redacted belongs.
          [{ apiKey: "sk_lf_abc" as unknown as Redacted.Redacted<string>, baseUrl }, "apiKey"],
          [{ apiKey: key, baseUrl, userAgent: "ua\nx" }, "userAgent"],
          [{ apiKey: key, baseUrl, rate: 0 }, "rate"],
          [{ apiKey: key, baseUrl, timeout: 0 }, "timeout"],
          [{ apiKey: key, baseUrl, maxResponseBytes: -1 }, "maxResponseBytes"]
        ]
        for (const [options, option] of cases) {
          const error = yield* Effect.flip(MeetingsClient.make(options))
          assert.strictEqual(error._tag, "InvalidConfig", option)
          assert.strictEqual(error.option, option)
          assert.notInclude(error.message, "sk_lf_abc")
          // The layer fails to build with the same typed error (not MeetingsUnavailable on the first call).
          const built = yield* Effect.flip(Layer.build(MeetingsClient.layer(options)).pipe(Effect.scoped))
          assert.strictEqual(built._tag, "InvalidConfig")
        }
        assert.deepStrictEqual(yield* sandbox.requests, [])
      }))

    it.effect("[regression] #9 layerConfig with LIGHTFIELD_BASE_URL=htp:/typo fails to build, typed", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const config = ConfigProvider.fromMap(new Map([["LIGHTFIELD_API_KEY", sandbox.keys.admin], ["LIGHTFIELD_BASE_URL", "htp:/typo"]]))
        const built = yield* Effect.flip(
          Layer.build(MeetingsClient.layerConfig().pipe(Layer.provide(Layer.setConfigProvider(config)))).pipe(Effect.scoped)
        )
        assert.strictEqual(built._tag, "InvalidConfig")
      }))

    it.effect("[regression] credentials in the base URL never appear in error messages", () =>
      Effect.gen(function*() {
        const sandbox = yield* reset
        const baseUrl = new URL(yield* sandbox.baseUrl)
        baseUrl.username = "user"
        baseUrl.password = "s3cret-pass"
        const error = yield* Effect.flip(MeetingsClient.make({ apiKey: Redacted.make(sandbox.keys.admin), baseUrl }))
        assert.strictEqual(error._tag, "InvalidConfig")
        assert.notInclude(error.message, "s3cret-pass")
        assert.notInclude(String(error), "s3cret-pass")
        assert.notInclude(JSON.stringify(error), "s3cret-pass")
        assert.deepStrictEqual(yield* sandbox.requests, [])
      }))
  })
})
