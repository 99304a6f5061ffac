/**
 * Incremental MD5 (RFC 1321), fed chunk by chunk while an upload streams, so the digest sent on
 * complete never needs the whole file. Written here because Web Crypto has no MD5 and no
 * incremental digests, and core may not depend on `node:crypto` (the platform is the app's choice).
 */

/** Per-step left rotations. */
const S = new Uint8Array([
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
  5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
  4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
  6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21
])

/** floor(abs(sin(i + 1)) * 2^32). */
const K = Int32Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0)

/** The message word each step reads. */
const G = Uint8Array.from({ length: 64 }, (_, i) =>
  i < 16 ? i : i < 32 ? (5 * i + 1) & 15 : i < 48 ? (3 * i + 5) & 15 : (7 * i) & 15)

export interface Md5 {
  /** Feed more bytes (any chunking gives the same digest). */
  readonly update: (bytes: Uint8Array) => void
  /** The digest of everything fed so far, as 32 lowercase hex characters. Ends the hash. */
  readonly digestHex: () => string
}

export const make = (): Md5 => {
  const state = new Int32Array([0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476])
  const words = new Int32Array(16)
  const buffer = new Uint8Array(64)
  let buffered = 0
  let length = 0

  const block = (bytes: Uint8Array, at: number) => {
    for (let i = 0; i < 16; i++) {
      const o = at + i * 4
      words[i] = bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)
    }
    let a = state[0]!
    let b = state[1]!
    let c = state[2]!
    let d = state[3]!
    for (let i = 0; i < 64; i++) {
      const f = i < 16 ? (b & c) | (~b & d) : i < 32 ? (d & b) | (~d & c) : i < 48 ? b ^ c ^ d : c ^ (b | ~d)
      const sum = (a + f + K[i]! + words[G[i]!]!) | 0
      const s = S[i]!
      a = d
      d = c
      c = b
      b = (b + ((sum << s) | (sum >>> (32 - s)))) | 0
    }
    state[0] = (state[0]! + a) | 0
    state[1] = (state[1]! + b) | 0
    state[2] = (state[2]! + c) | 0
    state[3] = (state[3]! + d) | 0
  }

  const update = (bytes: Uint8Array) => {
    length += bytes.length
    let at = 0
    if (buffered > 0) {
      const take = Math.min(64 - buffered, bytes.length)
      buffer.set(bytes.subarray(0, take), buffered)
      buffered += take
      at = take
      if (buffered < 64) return
      block(buffer, 0)
      buffered = 0
    }
    for (; at + 64 <= bytes.length; at += 64) block(bytes, at)
    if (at < bytes.length) {
      buffer.set(bytes.subarray(at), 0)
      buffered = bytes.length - at
    }
  }

  const digestHex = () => {
    const bits = length * 8
    const padding = new Uint8Array((buffered < 56 ? 56 : 120) - buffered + 8)
    padding[0] = 0x80
    const tail = padding.length - 8
    // The length in bits, little-endian, 64 bits (lengths stay below 2^53 bytes).
    for (let i = 0; i < 8; i++) padding[tail + i] = Math.floor(bits / 2 ** (8 * i)) & 0xff
    update(padding)
    let hex = ""
    for (let i = 0; i < 4; i++) {
      const word = state[i]!
      for (let j = 0; j < 4; j++) hex += ((word >>> (8 * j)) & 0xff).toString(16).padStart(2, "0")
    }
    return hex
  }

  return { update, digestHex }
}

/** The MD5 of one byte array. */
export const of = (bytes: Uint8Array): string => {
  const md5 = make()
  md5.update(bytes)
  return md5.digestHex()
}
