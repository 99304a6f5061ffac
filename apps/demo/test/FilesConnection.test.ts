import { assert, describe, it } from "@effect/vitest"
import { HttpClient } from "@effect/platform"
import { Effect } from "effect"
import type { Server } from "node:http"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { filesHttpClient } from "../src/Target.js"

// A real HTTP server on loopback that counts the TCP connections it accepts.
const countingServer = Effect.acquireRelease(
  Effect.async<{ readonly server: Server; readonly url: string; readonly connections: () => number }>((resume) => {
    let connections = 0
    const server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
    server.on("connection", () => connections++)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resume(Effect.succeed({ server, url: `http://127.0.0.1:${port}`, connections: () => connections }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

describe("the files API's platform client", () => {
  it.scoped("reuses one connection for sequential requests (keep-alive)", () =>
    Effect.gen(function*() {
      const server = yield* countingServer
      const client = yield* HttpClient.HttpClient
      for (let i = 0; i < 5; i++) {
        const response = yield* client.get(`${server.url}/v1/files/${i}`)
        assert.strictEqual(yield* response.text, "{}")
      }
      assert.strictEqual(server.connections(), 1)
    }).pipe(Effect.provide(filesHttpClient)))
})
