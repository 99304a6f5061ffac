import { describe, expect, it } from "@effect/vitest"
import { isCanonicalTimestamp } from "../src/internal/isoTimestamp.js"

/** The definition the fast check must equal. */
const byDate = (u: unknown): boolean => {
  if (typeof u !== "string") return false
  const date = new Date(u)
  return !Number.isNaN(date.getTime()) && date.toISOString() === u
}

/** A small deterministic generator (the test must fail the same way every time). */
const prng = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
}

describe("isCanonicalTimestamp", () => {
  it("equals new Date(u).toISOString() === u on canonical strings, their mutations and edge cases", () => {
    const random = prng(7)
    const samples: Array<unknown> = [
      "2026-03-14T09:26:53.589Z", "2024-02-29T00:00:00.000Z", "2023-02-29T00:00:00.000Z", "2000-02-29T12:00:00.000Z",
      "1900-02-29T12:00:00.000Z", "2026-04-31T00:00:00.000Z", "2026-12-31T23:59:59.999Z", "2026-13-01T00:00:00.000Z",
      "2026-00-10T00:00:00.000Z", "2026-01-00T00:00:00.000Z", "2026-01-01T24:00:00.000Z", "2026-01-01T23:60:00.000Z",
      "2026-01-01T23:59:60.000Z", "0000-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z", "+010000-01-01T00:00:00.000Z",
      "-000001-01-01T00:00:00.000Z", "2026-03-14T09:26:53.589+00:00", "2026-03-14T09:26:53Z", "2026-03-14T09:26:53.5890Z",
      "2026-03-14 09:26:53.589Z", "2026-03-14T09:26:53.589z", "２026-03-14T09:26:53.589Z", "2026-03-14T09:26:53.-89Z",
      "", "Z", 1710408413589, null, undefined, {}
    ]
    for (let i = 0; i < 3000; i++) {
      // Any instant from year 0 to 9999, and mutations of its ISO string.
      const iso = new Date(-62167219200000 + Math.floor(random() * 315537897600000)).toISOString()
      samples.push(iso)
      const at = Math.floor(random() * iso.length)
      const replacement = "0123456789-:.TZ+ x"[Math.floor(random() * 18)]!
      samples.push(iso.slice(0, at) + replacement + iso.slice(at + 1))
      samples.push(iso.slice(0, at) + iso.slice(at + 1))
    }
    const disagreements = samples.filter((u) => isCanonicalTimestamp(u) !== byDate(u))
    expect(disagreements).toEqual([])
    // Both answers occur: the samples test something.
    expect(samples.filter(byDate).length).toBeGreaterThan(3000)
    expect(samples.filter((u) => !byDate(u)).length).toBeGreaterThan(1000)
  })
})
