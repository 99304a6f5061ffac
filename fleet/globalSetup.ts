/**
 * Global setup of the fleet suite: PostgreSQL and Redis must answer, or the run fails (never skips).
 */
import { connect } from "node:net"

const reachable = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: "127.0.0.1", port, timeout: 3_000 })
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
    socket.once("timeout", () => {
      socket.destroy()
      resolve(false)
    })
  })

export default async function setup() {
  const missing = []
  if (!(await reachable(5432))) missing.push("PostgreSQL on 127.0.0.1:5432")
  if (!(await reachable(6379))) missing.push("Redis on 127.0.0.1:6379")
  if (missing.length > 0) throw new Error(`pnpm test:fleet needs ${missing.join(" and ")} (.ci/run starts them)`)
}
