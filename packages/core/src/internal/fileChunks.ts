/**
 * A file's bytes for an upload body, read on demand into a small ring of reused buffers.
 *
 * Why not `FileSystem.stream`: it allocates a fresh buffer for every chunk, and V8 frees those
 * (memory outside the JS heap) only when a garbage collection happens to run, which for a body
 * streamed to a socket can be after tens of megabytes: a 50 MB upload measured 25–50 MB of RSS
 * growth, nearly all of it dead chunks. A ring holds the memory of an upload at `ringBytes`.
 *
 * The contract this relies on: the view handed out for read `n` is overwritten by read
 * `n + slots`, so the consumer must be done with a chunk before it pulls `slots - 1` more (less
 * the quarter of the ring read ahead). Every
 * streaming HTTP client is (Node's `http`, undici and `fetch` write a chunk to the socket, and wait
 * for it to drain, before pulling far past it); one that kept the whole body would send a corrupt
 * file, which `complete` refuses (storage's MD5 differs from the one computed here).
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as PlatformError from "@effect/platform/Error"
import { Effect, Option, Stream } from "effect"

/** Memory of one upload's ring (the slots are allocated as the reads need them). */
export const ringBytes = 2 * 1024 * 1024

/** Fewest slots of a ring, whatever the chunk size: the margin the contract above needs. */
export const minSlots = 8

/** How many buffers of `chunkSize` bytes one ring holds. */
export const slotsFor = (chunkSize: number): number => Math.max(minSlots, Math.ceil(ringBytes / chunkSize))

/** Reads done ahead of the consumer (a quarter of the ring), so the disk and the socket overlap. */
const readAheadOf = (slots: number) => Math.floor(slots / 4)

/** The bytes of the file at `path`, in chunks of at most `chunkSize` bytes (views into the ring). */
export const read = (
  fs: FileSystem.FileSystem,
  path: string,
  chunkSize: number
): Stream.Stream<Uint8Array, PlatformError.PlatformError> =>
  Stream.unwrapScoped(Effect.map(fs.open(path, { flag: "r" }), (file) => {
    const slots = slotsFor(chunkSize)
    const buffers: Array<Uint8Array> = []
    let reads = 0
    return Stream.repeatEffectOption(Effect.suspend(() => {
      const slot = reads % slots
      const buffer = buffers[slot] ?? (buffers[slot] = new Uint8Array(chunkSize))
      return file.read(buffer).pipe(
        Effect.mapError(Option.some),
        Effect.flatMap((size) => {
          const bytes = Number(size)
          if (bytes === 0) return Effect.fail(Option.none())
          reads++
          return Effect.succeed(buffer.subarray(0, bytes))
        })
      )
    })).pipe(Stream.buffer({ capacity: readAheadOf(slots) }))
  }))
