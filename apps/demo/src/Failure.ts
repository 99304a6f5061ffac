/**
 * How the CLI reports a failure: one line with the error's tag and the server's message, and an
 * exit code per kind of failure (documented in the README).
 */
import type { FilesError, MeetingsError, TranscriptJournal } from "@lightfield-effect/core"
import type { CacheError } from "@lightfield-effect/cache"
import type { Sandbox } from "@lightfield-effect/sandbox"
import { Schema } from "effect"

export type DemoFailure =
  | MeetingsError.MeetingsError
  | CacheError.CacheError
  | CacheError.CacheMiss
  | Sandbox.SandboxError
  | UsageError
  | CachePathError
  | FleetNeedsPostgres
  | MeetingsError.InvalidConfig
  | FilesError.FilesError
  | TranscriptJournal.TranscriptJournalError

/** Bad command-line input that the schemas cannot see (an unparsable date, a negative limit). */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", { message: Schema.String }) {}

/** The cache file's folder cannot be created: a file is in the way, or the place is not writable. */
export class CachePathError extends Schema.TaggedError<CachePathError>()("CachePathError", {
  path: Schema.String,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/** `pnpm demo fleet` without a PostgreSQL it can reach and create a scratch database on. */
export class FleetNeedsPostgres extends Schema.TaggedError<FleetNeedsPostgres>()("FleetNeedsPostgres", {
  message: Schema.String
}) {}

export const ExitCode = {
  Ok: 0,
  Unexpected: 1,
  InvalidInput: 2,
  Auth: 3,
  NotFound: 4,
  Conflict: 5,
  Unavailable: 6,
  BadResponse: 7,
  Cache: 8,
  Sandbox: 9
} as const

export const exitCodeOf = (e: DemoFailure): number => {
  switch (e._tag) {
    case "UsageError":
    case "InvalidConfig":
    case "InvalidParams":
    case "BadRequest":
    case "Unprocessable":
    case "FileNotUsable":
      return ExitCode.InvalidInput
    case "Unauthorized":
    case "Forbidden":
      return ExitCode.Auth
    case "MeetingNotFound":
    case "CacheMiss":
    case "FileNotFound":
      return ExitCode.NotFound
    case "Conflict":
    case "IdempotencyConflict":
      return ExitCode.Conflict
    case "RateLimited":
    case "MeetingsUnavailable":
    case "UploadFailed":
    case "FleetNeedsPostgres":
      return ExitCode.Unavailable
    case "UndecodableResponse":
      return ExitCode.BadResponse
    case "CacheError":
    case "CachePathError":
    case "TranscriptJournalError":
      return ExitCode.Cache
    case "SandboxError":
      return ExitCode.Sandbox
  }
}

/** `MeetingNotFound: No resource found in 'meetings' with the given ID.` plus the param when there is one. */
export const describe = (e: DemoFailure): string => {
  const param = "param" in e && typeof e.param === "string" && e.param !== "" ? ` (param: ${e.param})` : ""
  return `${e._tag}: ${e.message}${param}`
}

const demoTags: ReadonlySet<string> = new Set([
  "InvalidParams", "BadRequest", "Unauthorized", "Forbidden", "MeetingNotFound", "Conflict", "IdempotencyConflict",
  "Unprocessable", "RateLimited", "MeetingsUnavailable", "UndecodableResponse", "CacheError", "CacheMiss", "SandboxError",
  "UsageError", "CachePathError", "FileNotFound", "FileNotUsable", "UploadFailed", "TranscriptJournalError",
  "FleetNeedsPostgres", "InvalidConfig"
])

export const isDemoFailure = (u: unknown): u is DemoFailure =>
  typeof u === "object" && u !== null && "_tag" in u && typeof u._tag === "string" && demoTags.has(u._tag)
