/**
 * Child for the upload RSS figure (run by `src/UploadRss.ts` in a fresh process): writes a file of
 * argv[4] bytes, warms up with a small attach, then attaches the big one to a meeting through
 * core's `Transcripts` (files API, streamed upload, complete, update) against the sandbox at
 * argv[2] (admin key argv[3]), sampling RSS every 5 ms. Prints one JSON line.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { FilesClient, Meetings, MeetingsClient, Transcripts } from "@lightfield-effect/core"
import { Effect, Layer } from "effect"
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const [baseUrl, apiKey, sizeText] = process.argv.slice(2) as [string, string, string]
const size = Number(sizeText)

const writeFile = (path: string, bytes: number) => {
  const fd = openSync(path, "w")
  const chunk = Buffer.alloc(1 << 20, "Speaker 1: a line of the transcript.\n")
  for (let left = bytes; left > 0; left -= chunk.length) writeSync(fd, chunk, 0, Math.min(left, chunk.length))
  closeSync(fd)
}

const http = Layer.merge(NodeHttpClient.layerUndici, NodeFileSystem.layer)
const services = Layer.merge(
  FilesClient.layerWithApiKey(apiKey, { baseUrl, rate: false }),
  MeetingsClient.layerWithApiKey(apiKey, { baseUrl, rate: false })
).pipe(Layer.provide(http))
const layer = Transcripts.layerMemory.pipe(Layer.provideMerge(services))

const program = Effect.gen(function*() {
  const dir = mkdtempSync(join(tmpdir(), "lf-upload-bench-"))
  try {
    const small = join(dir, "warmup.txt")
    const big = join(dir, "transcript.txt")
    writeFile(small, 256 * 1024)
    writeFile(big, size)
    const meetings = yield* Meetings.Meetings
    const page = yield* meetings.list({ limit: 2 })
    const [warm, target] = page.data
    yield* Transcripts.attachTranscript(warm!.id, Transcripts.fromPath(small))
    global.gc?.()
    // V8 hands the collected pages back to the OS a little later: measured at once, the RSS to grow
    // from could still hold them (the upload then seemed to grow by 0 MB). Let it settle; the
    // growth is the largest rise of the samples over the lowest one before them.
    yield* Effect.sleep("250 millis")
    const before = process.memoryUsage().rss
    let peak = before
    let low = before
    let growth = 0
    // Heap and buffers (ArrayBuffers outside the heap) too: they tell buffering from GC slack.
    let peakHeap = 0
    let peakBuffers = 0
    const timer = setInterval(() => {
      const m = process.memoryUsage()
      peak = Math.max(peak, m.rss)
      low = Math.min(low, m.rss)
      growth = Math.max(growth, m.rss - low)
      peakHeap = Math.max(peakHeap, m.heapUsed)
      peakBuffers = Math.max(peakBuffers, m.arrayBuffers)
    }, 5)
    const started = performance.now()
    yield* Transcripts.attachTranscript(target!.id, Transcripts.fromPath(big))
    clearInterval(timer)
    const after = process.memoryUsage().rss
    peak = Math.max(peak, after)
    growth = Math.max(growth, after - low)
    process.stdout.write(`${JSON.stringify({ sizeBytes: size, rssBeforeBytes: before, peakRssBytes: peak, growthBytes: growth, peakHeapUsedBytes: peakHeap, peakArrayBuffersBytes: peakBuffers, ms: performance.now() - started })}\n`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}).pipe(Effect.provide(layer))

Effect.runPromise(program).catch((e) => {
  process.stderr.write(`${String(e)}\n`)
  process.exit(1)
})
