/**
 * A seeded PRNG (mulberry32) for everything random in the suite (kill delays, interleavings, fault
 * choices), so a failing run is reproduced by `RELIABILITY_SEED=<seed> pnpm test:reliability`.
 * Nothing in the suite draws from `Math.random`.
 */

import { make, type Prng } from "@lightfield-effect/sandbox/Prng"

export { make, type Prng }

/** FNV-1a over a label: derive independent, stable streams from one run seed. */
export const derive = (seed: number, label: string): Prng => {
  let h = 0x811c9dc5 ^ (seed >>> 0)
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return make(h)
}
