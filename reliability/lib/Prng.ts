/**
 * A seeded PRNG (mulberry32) for everything random in the suite (kill delays, interleavings, fault
 * choices), so a failing run is reproduced by `RELIABILITY_SEED=<seed> pnpm test:reliability`.
 * Nothing in the suite draws from `Math.random`.
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
  const pick = <A>(items: ReadonlyArray<A>): A => {
    if (items.length === 0) throw new Error("Prng.pick on an empty array")
    return items[int(0, items.length - 1)]!
  }
  const sample = <A>(items: ReadonlyArray<A>, count: number): Array<A> => {
    const pool = [...items]
    const out: Array<A> = []
    while (out.length < count && pool.length > 0) out.push(pool.splice(int(0, pool.length - 1), 1)[0]!)
    return out
  }
  return { next, int, chance: (p) => next() < p, pick, sample, seed: () => int(1, 0x7fffffff) }
}

/** FNV-1a over a label: derive independent, stable streams from one run seed. */
export const derive = (seed: number, label: string): Prng => {
  let h = 0x811c9dc5 ^ (seed >>> 0)
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return make(h)
}
