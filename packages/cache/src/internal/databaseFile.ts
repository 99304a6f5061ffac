/**
 * The cache file before SQLite opens it: the options checked, a foreign file refused, and the file
 * (with its folder) private to its owner.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from "node:fs"
import { dirname } from "node:path"
import { Effect, Either } from "effect"
import { CacheError } from "../CacheError.js"
import * as Check from "./options.js"

/** What `Database.layer` needs to know about the file. */
export interface FileOptions {
  readonly filename: string
  readonly busyTimeout?: number | undefined
  readonly prepareCacheSize?: number | undefined
  readonly mmapSize?: number | undefined
}

const sqliteHeader = "SQLite format 3\u0000"

/** An existing non-empty file must start with the SQLite header; otherwise it is not our database. */
export const checkHeader = (filename: string): Effect.Effect<void, CacheError> =>
  filename === ":memory:" || filename === ""
    ? Effect.void
    : Effect.try({
      try: () => {
        let size: number
        try {
          const stat = statSync(filename)
          if (stat.isDirectory()) return "directory" as const
          size = stat.size
        } catch {
          return "absent" as const
        }
        if (size === 0) return "ok" as const
        const buffer = Buffer.alloc(16)
        const fd = openSync(filename, "r")
        try {
          readSync(fd, buffer, 0, 16, 0)
        } finally {
          closeSync(fd)
        }
        return buffer.toString("latin1") === sqliteHeader ? ("ok" as const) : ("foreign" as const)
      },
      catch: (cause) =>
        new CacheError({ reason: "Open", file: filename, message: `Cannot read cache file ${filename}`, cause })
    }).pipe(
      Effect.flatMap((state) =>
        state === "foreign"
          ? Effect.fail(
            new CacheError({
              reason: "Corrupt",
              file: filename,
              message: `Cache file ${filename} is not a SQLite database`
            })
          )
          : state === "directory"
          ? Effect.fail(
            new CacheError({ reason: "Open", file: filename, message: `Cache path ${filename} is a directory` })
          )
          : Effect.void
      )
    )

/** `busyTimeout`, `prepareCacheSize` and `mmapSize`, checked before the file is touched. */
export const checkOptions = (options: FileOptions): Effect.Effect<void, CacheError> => {
  const problem = [
    Check.optional(options.busyTimeout, (n) => Check.integer("busyTimeout", n, { min: 0 })),
    Check.optional(options.prepareCacheSize, (n) => Check.integer("prepareCacheSize", n, { min: 1 })),
    Check.optional(options.mmapSize, (n) => Check.integer("mmapSize", n, { min: 0 }))
  ].find(Either.isLeft)
  // `postgres://…` given as a file name would quietly create a SQLite file named like the URL.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(options.filename)) {
    return Effect.fail(new CacheError({
      reason: "Config",
      file: options.filename.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@"),
      message: "Invalid database option: filename is a URL; a PostgreSQL database is opened with `url` (LIGHTFIELD_CACHE_URL)"
    }))
  }
  return problem === undefined
    ? Effect.void
    : Effect.fail(new CacheError({ reason: "Config", file: options.filename, message: `Invalid database option: ${problem.left}` }))
}

/** Only the owner may read the cache: it holds FULL descriptions. */
const folderMode = 0o700
const fileMode = 0o600

/**
 * Before SQLite opens the file: create a missing folder 0700 and a missing file 0600 (SQLite gives
 * the -wal and -shm files the mode of the database file), and make an existing file private.
 */
export const preparePrivateFile = (filename: string): Effect.Effect<void, CacheError> =>
  filename === ":memory:" || filename === "" || filename.startsWith("file:")
    ? Effect.void
    : Effect.try({
      try: () => {
        // The folders to create, innermost first; each is made 0700 (`mkdir`'s mode is masked by the umask).
        const missing: Array<string> = []
        for (let dir = dirname(filename); !existsSync(dir) && dir !== dirname(dir); dir = dirname(dir)) missing.push(dir)
        if (missing.length > 0) mkdirSync(missing[0]!, { recursive: true, mode: folderMode })
        for (const dir of missing) chmodSync(dir, folderMode)
        if (!existsSync(filename)) {
          closeSync(openSync(filename, "a", fileMode))
        }
        for (const path of [filename, `${filename}-wal`, `${filename}-shm`]) {
          if (existsSync(path) && (statSync(path).mode & 0o077) !== 0) chmodSync(path, fileMode)
        }
      },
      catch: (cause) =>
        new CacheError({ reason: "Open", file: filename, message: `Cannot create the cache file ${filename}`, cause })
    })
