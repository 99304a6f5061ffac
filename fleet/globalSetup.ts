/**
 * The fleet suite needs a real Redis too (the shared rate budget): when it cannot connect, the run
 * FAILS here, before any test, never skips. PostgreSQL is checked by the cache's global setup.
 */
import { Redis } from "ioredis"

export const redisUrl = process.env["LIGHTFIELD_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379"

export default async function setup() {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null })
  redis.on("error", () => {})
  const reached = await redis.connect().then(() => redis.ping()).then((pong: string) => pong === "PONG", () => false)
  redis.disconnect()
  if (!reached) throw new Error(`pnpm test:fleet needs Redis at ${redisUrl} (set LIGHTFIELD_TEST_REDIS_URL); it could not connect`)
}
