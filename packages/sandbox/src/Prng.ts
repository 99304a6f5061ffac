/**
 * A tiny seeded PRNG (mulberry32). The sandbox must be reproducible run to run, so nothing in it
 * draws from `Math.random`. Public so a test suite can draw from the same generator.
 *
 * @since 0.1.0
 */

/**
 * A seeded generator.
 *
 * @since 0.1.0
 */
export interface Prng {
  /** Uniform in [0, 1). */
  readonly next: () => number
  /** Uniform integer in [min, max] (inclusive). */
  readonly int: (min: number, max: number) => number
  /** True with probability `p`. */
  readonly chance: (p: number) => boolean
  readonly pick: <A>(items: ReadonlyArray<A>) => A
  /** `count` distinct items (fewer if `items` is shorter), in draw order. */
  readonly sample: <A>(items: ReadonlyArray<A>, count: number) => Array<A>
  /** A 32-bit seed for a nested generator (fast-check, a child process). */
  readonly seed: () => number
}

/**
 * A generator seeded with `seed` (the same seed gives the same sequence).
 *
 * @since 0.1.0
 */
export const make = (seed: number): Prng => {
  let state = (seed >>> 0) ^ 0x9e3779b9
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1))
  const pick = <A>(items: ReadonlyArray<A>): A => items[int(0, items.length - 1)]!
  const sample = <A>(items: ReadonlyArray<A>, count: number): Array<A> => {
    const pool = [...items]
    const out: Array<A> = []
    while (out.length < count && pool.length > 0) {
      out.push(pool.splice(int(0, pool.length - 1), 1)[0]!)
    }
    return out
  }
  return { next, int, chance: (p) => next() < p, pick, sample, seed: () => int(1, 0x7fffffff) }
}

/**
 * FNV-1a: a stable 32-bit hash for deriving ids and keys from strings.
 *
 * @since 0.1.0
 */
export const hash32 = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

const base32Alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

/**
 * Crockford-style lower-case base32 of a non-negative integer, left-padded to `width`.
 *
 * @since 0.1.0
 */
export const base32 = (value: number, width: number): string => {
  let n = Math.floor(Math.abs(value))
  let out = ""
  do {
    out = base32Alphabet[n % 32]! + out
    n = Math.floor(n / 32)
  } while (n > 0)
  return out.padStart(width, "0")
}

/**
 * `bytes` random bytes from the generator, as lower-case hex.
 *
 * @since 0.1.0
 */
export const hex = (prng: Prng, bytes: number): string => {
  let out = ""
  for (let i = 0; i < bytes; i++) out += prng.int(0, 255).toString(16).padStart(2, "0")
  return out
}
