/**
 * Files (spec §11): upload sessions with their status, the signed storage URLs that serve them,
 * and the stored bytes (a temporary directory, so a 50 MB upload is never held in memory). A
 * `PENDING` file whose session passed `expiresAt` (on the sandbox clock) reads as `EXPIRED`.
 */
import { FileObject } from "@lightfield-effect/core"
import { DateTime, Schema } from "effect"
import { createHmac, timingSafeEqual } from "node:crypto"
import { mkdtempSync, rmSync, unlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Principal } from "./auth.js"
import * as Seed from "./seed.js"

/** The stored bytes of a file: where, how many, their MD5. */
export interface StoredObject {
  readonly path: string
  readonly bytes: number
  readonly md5: string
}

export interface FileRecord {
  readonly id: string
  readonly orgId: string
  readonly filename: string
  readonly mimeType: string
  readonly sizeBytes: number
  readonly createdAt: number
  /** End of the upload session (and of its URL). */
  readonly expiresAt: number
  status: FileObject.FileStatus
  completedAt: number | null
  object: StoredObject | undefined
}

/** What a signed storage URL is for. */
export type StorageOp = "upload" | "download"

/** Download URLs live this long. */
export const downloadTtlMillis = 15 * 60 * 1000

export interface FileStore {
  readonly create: (principal: Principal, params: FileObject.CreateFileParams, now: number) => FileRecord
  /** A file of the organisation, its status brought up to date (`EXPIRED`). */
  readonly get: (orgId: string, id: string, now: number) => FileRecord | undefined
  /** Any organisation's file (storage URLs carry no organisation). */
  readonly find: (id: string, now: number) => FileRecord | undefined
  readonly all: (now: number) => ReadonlyArray<FileRecord>
  /** The URL to `op` on `record` until `expires` (epoch millis). */
  readonly signedUrl: (record: FileRecord, op: StorageOp, expires: number) => string
  /** Whether the query of a storage request is a valid signature of `op` on `id` (expiry not checked). */
  readonly verify: (id: string, op: StorageOp, expires: string | null, signature: string | null) => boolean
  /** The upload headers of a file, exactly as storage checks them. */
  readonly uploadHeaders: (record: FileRecord) => Readonly<Record<string, string>>
  /** A fresh path for a file's bytes in the store's directory (created on first use). */
  readonly objectPath: (record: FileRecord) => string
  /** Keep `object` as the file's bytes, dropping what it held before. */
  readonly store: (record: FileRecord, object: StoredObject) => void
  /** Drop a file's bytes. */
  readonly discard: (record: FileRecord) => void
  /** The wire form: the upload session (create) or the file object. */
  readonly render: (record: FileRecord, session: boolean) => unknown
  /** Remove the directory of stored bytes. */
  readonly close: () => void
}

const iso = (millis: number) => DateTime.unsafeMake(millis)
const encodeSession = Schema.encodeSync(FileObject.UploadSession)
const encodeFile = Schema.encodeSync(FileObject.FileObject)

const removeQuietly = (path: string) => {
  try {
    unlinkSync(path)
  } catch {
    // Already gone: nothing to do.
  }
}

export const make = (options: {
  readonly seed: number
  readonly baseUrl: string
  readonly uploadTtlMillis: number
}): FileStore => {
  const records = new Map<string, FileRecord>()
  const ids = Seed.makeIdGenerator(options.seed * 31 + 7)
  const secret = `sandbox-storage:${options.seed}`
  let directory: string | undefined
  let objects = 0

  const hmac = (text: string) => createHmac("sha256", secret).update(text).digest("hex")
  const signature = (id: string, op: StorageOp, expires: number) => hmac(`${op}\n${id}\n${expires}`)

  const refresh = (record: FileRecord, now: number): FileRecord => {
    if (record.status === "PENDING" && now >= record.expiresAt) {
      record.status = "EXPIRED"
      discard(record)
    }
    return record
  }

  const discard = (record: FileRecord) => {
    if (record.object !== undefined) removeQuietly(record.object.path)
    record.object = undefined
  }

  const uploadHeaders = (record: FileRecord) => ({
    "Content-Type": record.mimeType,
    "X-Sandbox-Upload-Token": hmac(`token\n${record.id}`)
  })

  const signedUrl = (record: FileRecord, op: StorageOp, expires: number) =>
    `${options.baseUrl}/__storage/${record.id}?op=${op}&expires=${expires}&signature=${signature(record.id, op, expires)}`

  const render = (record: FileRecord, session: boolean): unknown => {
    const common = {
      id: record.id as FileObject.FileId,
      status: record.status,
      filename: record.filename,
      mimeType: record.mimeType,
      sizeBytes: record.sizeBytes,
      createdAt: iso(record.createdAt),
      completedAt: record.completedAt === null ? null : iso(record.completedAt)
    }
    return session
      ? encodeSession(
        new FileObject.UploadSession({
          ...common,
          expiresAt: iso(record.expiresAt),
          uploadUrl: signedUrl(record, "upload", record.expiresAt),
          uploadHeaders: uploadHeaders(record)
        })
      )
      : encodeFile(new FileObject.FileObject({ ...common, expiresAt: iso(record.expiresAt) }))
  }

  return {
    create: (principal, params, now) => {
      const record: FileRecord = {
        id: ids.next("fil"),
        orgId: principal.org.id,
        filename: params.filename,
        mimeType: params.mimeType,
        sizeBytes: params.sizeBytes,
        createdAt: now,
        expiresAt: now + options.uploadTtlMillis,
        status: "PENDING",
        completedAt: null,
        object: undefined
      }
      records.set(record.id, record)
      return record
    },
    get: (orgId, id, now) => {
      const record = records.get(id)
      return record !== undefined && record.orgId === orgId ? refresh(record, now) : undefined
    },
    find: (id, now) => {
      const record = records.get(id)
      return record === undefined ? undefined : refresh(record, now)
    },
    all: (now) => [...records.values()].map((record) => refresh(record, now)),
    signedUrl,
    verify: (id, op, expires, given) => {
      if (expires === null || given === null || !/^\d+$/.test(expires)) return false
      const expected = Buffer.from(signature(id, op, Number(expires)))
      const actual = Buffer.from(given)
      return expected.length === actual.length && timingSafeEqual(expected, actual)
    },
    uploadHeaders,
    objectPath: (record) => {
      directory ??= mkdtempSync(join(tmpdir(), "lightfield-sandbox-"))
      return join(directory, `${record.id}.${objects++}`)
    },
    store: (record, object) => {
      discard(record)
      record.object = object
    },
    discard,
    render,
    close: () => {
      if (directory !== undefined) rmSync(directory, { recursive: true, force: true })
      directory = undefined
    }
  }
}
