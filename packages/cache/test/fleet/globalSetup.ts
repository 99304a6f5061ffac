/**
 * The fleet suite needs a real PostgreSQL: when it cannot connect, the run FAILS (here, before any
 * test), never skips, so a CI without the server cannot look green.
 */
import { Effect } from "effect"
import { adminUrl, withAdmin } from "./pgDatabase.js"

export default async function setup() {
  const shown = (() => {
    const url = new URL(adminUrl)
    if (url.password !== "") url.password = "***"
    return url.toString()
  })()
  const reached = await Effect.runPromise(
    withAdmin((admin) => admin`SELECT 1 AS ok`).pipe(
      Effect.timeout("10 seconds"),
      Effect.as(true as const),
      Effect.catchAllCause(() => Effect.succeed(false as const))
    )
  )
  if (!reached) {
    throw new Error(
      `pnpm test:fleet needs PostgreSQL at ${shown} (set LIGHTFIELD_TEST_PG_ADMIN_URL); it could not connect`
    )
  }
}
