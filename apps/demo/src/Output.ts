/** Tables, JSON and the progress bar. Plain text on stdout; progress and notes on stderr. */
import type { Files, Meeting } from "@lightfield-effect/core"
import type { Sync } from "@lightfield-effect/cache"
import { Console, DateTime, Duration, Effect, Option } from "effect"
import { stringify as yamlStringify } from "yaml"
import type { Format } from "./Input.js"

export const json = (value: unknown): Effect.Effect<void> => Console.log(JSON.stringify(value, null, 2))

/**
 * Print `value` in the chosen format: `json` (indented), `jsonl` (one line per element of an
 * array, else one line), `yaml`, or `table` (the command's own rendering).
 */
export const emit = (format: Format, value: unknown, table: () => string): Effect.Effect<void> => {
  switch (format) {
    case "json":
      return json(value)
    case "jsonl":
      return Console.log((Array.isArray(value) ? value : [value]).map((v) => JSON.stringify(v)).join("\n"))
    case "yaml":
      // The same data as the JSON (`toJSON` applied first). (The yaml package loads anyway: @effect/cli uses it.)
      return Console.log(yamlStringify(JSON.parse(JSON.stringify(value ?? null))).trimEnd())
    case "table":
      return Console.log(table())
  }
}

/** Notes go to stderr so that `--json` output on stdout stays parseable. */
export const note = (text: string): Effect.Effect<void> => Console.error(text)

const cut = (text: string, width: number) => (text.length > width ? `${text.slice(0, width - 1)}…` : text)

export const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>, maxWidth = 40) => {
  const widths = headers.map((h, i) => Math.min(maxWidth, Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length))))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => cut(c, widths[i]!).padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n")
}

const day = (d: Option.Option<DateTime.Utc>) =>
  Option.match(d, { onNone: () => "-", onSome: (t) => DateTime.formatIso(t).slice(0, 16).replace("T", " ") })

/** The columns of a meeting in tables. */
export const meetingRow = (m: Meeting.Meeting, extra: ReadonlyArray<string> = []): ReadonlyArray<string> => [
  m.id,
  Option.getOrElse(m.title, () => "-"),
  day(m.startDate),
  Option.getOrElse(m.organizerEmail, () => "-"),
  m.accessLevel,
  ...extra
]
export const meetingHeaders = ["id", "title", "start (UTC)", "organizer", "access"] as const

/** The wire JSON of a meeting (what the API sent), for `--json`. */
export const meetingJson = (m: Meeting.Meeting): unknown => ({
  id: m.id,
  accessLevel: m.accessLevel,
  createdAt: DateTime.formatIso(m.createdAt),
  fields: m.fields,
  httpLink: m.httpLink,
  objectType: m.objectType,
  relationships: m.relationships,
  updatedAt: m.updatedAt === null ? null : DateTime.formatIso(m.updatedAt),
  ...(m.externalId === undefined ? {} : { externalId: m.externalId })
})

export const millis = (d: Duration.Duration) => `${Duration.toMillis(d).toFixed(1)} ms`

/** A one-line progress bar, redrawn in place on a terminal and printed every few steps otherwise. */
export const progressBar = (isTTY: boolean) => {
  let lastPrinted = -1
  return (p: Sync.SyncProgress): Effect.Effect<void> => {
    const total = Math.max(p.totalCount, p.meetings, 1)
    const ratio = Math.min(1, p.meetings / total)
    const width = 30
    const filled = Math.round(ratio * width)
    const eta = Option.match(p.eta, { onNone: () => "-", onSome: (d) => `${(Duration.toMillis(d) / 1000).toFixed(1)} s` })
    const text = `  [${"#".repeat(filled)}${".".repeat(width - filled)}] ${p.meetings}/${total} meetings, ` +
      `${p.pages} pages, ${p.ratePerSecond.toFixed(0)}/s, ETA ${eta}`
    if (isTTY) return Effect.sync(() => process.stderr.write(`\r${text}${p.phase === "done" ? "\n" : ""}`))
    const step = Math.floor(ratio * 4)
    if (step === lastPrinted && p.phase !== "done") return Effect.void
    lastPrinted = step
    return Console.error(text)
  }
}

/** The upload's progress bar: redrawn in place on a terminal, every quarter otherwise. */
export const uploadBar = (isTTY: boolean) => {
  let lastPrinted = -1
  return (p: Files.UploadProgress): Effect.Effect<void> => {
    const ratio = p.totalBytes === 0 ? 1 : Math.min(1, p.sentBytes / p.totalBytes)
    const width = 30
    const filled = Math.round(ratio * width)
    const done = p.sentBytes >= p.totalBytes
    const text = `  [${"#".repeat(filled)}${".".repeat(width - filled)}] ${(ratio * 100).toFixed(0)}% ` +
      `${p.sentBytes}/${p.totalBytes} bytes${p.attempt > 1 ? ` (attempt ${p.attempt})` : ""}`
    if (isTTY) return Effect.sync(() => process.stderr.write(`\r${text}${done ? "\n" : ""}`))
    const step = Math.floor(ratio * 4)
    if (step === lastPrinted && !done) return Effect.void
    lastPrinted = step
    return Console.error(text)
  }
}
