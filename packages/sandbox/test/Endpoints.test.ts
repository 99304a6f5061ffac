/**
 * The router serves core's endpoint table row by row, delete (spec §3.5) included.
 */
import { assert, layer } from "@effect/vitest"
import { Endpoint } from "@lightfield-effect/core"
import { Effect, Option } from "effect"
import * as Sandbox from "../src/Sandbox.js"
import { createBody, errorOf, meetingOf, pageOf, send, testLayer } from "./utils.js"

const keys = Sandbox.keysFor(12)

const create = (title: string, extra: Record<string, unknown> = {}) =>
  Effect.flatMap(send("POST", "/v1/meetings", { key: keys.member, body: createBody({ $title: title, ...extra }) }), meetingOf)

layer(testLayer({ seed: 12, meetings: 30, rateLimit: false }), { excludeTestServices: true })("Endpoint table", (it) => {
  it.effect("every row of Endpoint.all has a route with its method, path and scope", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.Sandbox
      const id = (yield* sandbox.meetings)[0]!.id
      for (const endpoint of Endpoint.all) {
        const path = Endpoint.pathFor(endpoint, id)
        // The readOnly key lacks every scope but meetings:read: a routed write names its scope.
        const res = yield* send(endpoint.method, path, {
          key: keys.readOnly,
          ...(endpoint.method === "POST" ? { body: {} } : {})
        })
        const error = res.status === 200 ? undefined : yield* errorOf(res)
        assert.notMatch(error?.message ?? "", /^No route/, `${endpoint.method} ${endpoint.path}`)
        if (endpoint.scope !== "meetings:read") {
          assert.deepStrictEqual([res.status, error?.message], [403, `Token does not have the '${endpoint.scope}' scope.`])
        } else {
          assert.strictEqual(res.status, 200, `${endpoint.method} ${endpoint.path}`)
        }
      }
    }))

  it.effect("delete answers the meeting, then it is gone from retrieve and list for every caller; a second delete is 404", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.Sandbox
      const created = yield* create("to be deleted", { $description: "secret notes" })
      const deleted = yield* meetingOf(yield* send("DELETE", `/v1/meetings/${created.id}`, { key: keys.member }))
      assert.deepStrictEqual([deleted.id, Option.getOrNull(deleted.description)], [created.id, "secret notes"])
      for (const key of [keys.admin, keys.member, keys.member2, keys.readOnly]) {
        assert.strictEqual((yield* send("GET", `/v1/meetings/${created.id}`, { key })).status, 404)
        const page = yield* pageOf(yield* send("GET", "/v1/meetings", { key }))
        assert.isFalse(page.data.some((m) => m.id === created.id))
        assert.strictEqual(page.totalCount, 30)
      }
      // A soft delete: in the trash, not among the stored meetings.
      assert.isFalse((yield* sandbox.meetings).some((m) => m.id === created.id))
      assert.deepStrictEqual((yield* sandbox.deletedMeetings).map((d) => d.id).slice(-1), [created.id])
      const trash = JSON.parse((yield* send("GET", "/__sandbox/meetings/deleted")).text) as { deleted: ReadonlyArray<{ id: string }> }
      assert.deepStrictEqual(trash.deleted.map((d) => d.id).slice(-1), [created.id])
      const update = yield* send("POST", `/v1/meetings/${created.id}`, { key: keys.admin, body: {} })
      assert.strictEqual(update.status, 404)
      const again = yield* send("DELETE", `/v1/meetings/${created.id}`, { key: keys.member })
      assert.deepStrictEqual([again.status, (yield* errorOf(again)).type], [404, "not_found"])
    }))

  it.effect("delete is idempotent with a key: the replay answers the original 200, not 404", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.Sandbox
      const created = yield* create("deleted once")
      const headers = { "Idempotency-Key": "delete-once" }
      const first = yield* send("DELETE", `/v1/meetings/${created.id}`, { key: keys.member, headers })
      const replay = yield* send("DELETE", `/v1/meetings/${created.id}`, { key: keys.member, headers })
      assert.deepStrictEqual([first.status, replay.status, replay.text], [200, 200, first.text])
      const logged = (yield* sandbox.requests).filter((r) => r.idempotencyKey === "delete-once")
      assert.deepStrictEqual(logged.map((r) => r.replayed), [false, true])
    }))

  it.effect("only FULL callers may delete: a METADATA view answers 403 and the meeting stays", () =>
    Effect.gen(function*() {
      const sandbox = yield* Sandbox.Sandbox
      const created = yield* create("alice's private meeting", {
        $privacySetting: "METADATA",
        $organizerEmail: "alice@acme.test",
        $attendeeEmails: []
      })
      const seenByBob = yield* meetingOf(yield* send("GET", `/v1/meetings/${created.id}`, { key: keys.member2 }))
      assert.strictEqual(seenByBob.accessLevel, "METADATA")
      const refused = yield* send("DELETE", `/v1/meetings/${created.id}`, { key: keys.member2 })
      assert.strictEqual(refused.status, 403)
      assert.isTrue((yield* sandbox.meetings).some((m) => m.id === created.id))
    }))
})
