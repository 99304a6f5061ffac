/** Small statistics helpers (no dependencies). */

const sorted = (xs: ReadonlyArray<number>): Array<number> => [...xs].sort((a, b) => a - b)

/** Nearest-rank percentile, `p` in [0, 100]. */
export const percentile = (xs: ReadonlyArray<number>, p: number): number => {
  if (xs.length === 0) return Number.NaN
  const s = sorted(xs)
  const rank = Math.ceil((p / 100) * s.length)
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!
}

/** CPU time (user + sys) of this process since `start` (a `process.cpuUsage()`), ms. */
export const cpuSince = (start: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(start)
  return (u.user + u.system) / 1000
}

export const median = (xs: ReadonlyArray<number>): number => {
  if (xs.length === 0) return Number.NaN
  const s = sorted(xs)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** Deterministic PRNG (mulberry32) so both contenders see the same id order. */
export const prng = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `n` draws from `items` (with repetition), in a seeded random order. */
export const sample = <A>(items: ReadonlyArray<A>, n: number, seed: number): Array<A> => {
  const next = prng(seed)
  return Array.from({ length: n }, () => items[Math.floor(next() * items.length)]!)
}

export const round = (x: number, digits = 2): number => {
  const f = 10 ** digits
  return Math.round(x * f) / f
}
