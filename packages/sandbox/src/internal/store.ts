/**
 * Meeting storage and its "search index". Retrieve reads the record map directly; list reads a
 * per-organisation array kept sorted (createdAt desc, then id) by binary insertion, so a page is
 * an O(limit) slice even with 100k meetings. Meetings created through the API wait in `pending`
 * until the index lag has passed. The wire form is derived from core's `Meeting` schema and cached
 * per record version and access level.
 */
import { Meeting, Redaction } from "@lightfield-effect/core"
import { DateTime, Effect, Schema } from "effect"
import type { Organization, Principal } from "./auth.js"
import * as Prng from "../Prng.js"
import type { MeetingRecord } from "./seed.js"
import * as Seed from "./seed.js"

export type WireMeeting = typeof Meeting.Meeting.Encoded

interface Rendered {
  version: number
  full?: WireMeeting
  metadata?: WireMeeting
}

interface OrgIndex {
  /** Visible to list, newest first. */
  readonly sorted: Array<MeetingRecord>
  /** Created through the API, not indexed yet. */
  readonly pending: Array<{ readonly record: MeetingRecord; readonly visibleAt: number }>
  lastCreatedAt: number
}

/** createdAt desc, then id asc. */
const compare = (a: MeetingRecord, b: MeetingRecord): number =>
  b.createdAt - a.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** First position whose element sorts after `record`. */
const insertionPoint = (sorted: ReadonlyArray<MeetingRecord>, record: MeetingRecord): number => {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compare(sorted[mid]!, record) < 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

const effectivePrivacy = (record: MeetingRecord): "FULL" | "METADATA" => record.privacy ?? "FULL"

/** Spec §7 resolution rule, plus: the member who created a meeting through the API keeps FULL. */
export const accessFor = (record: MeetingRecord, principal: Principal): Meeting.AccessLevel => {
  if (principal.member.admin || effectivePrivacy(record) === "FULL" || record.creatorId === principal.member.id) {
    return "FULL"
  }
  const email = principal.member.email.toLowerCase()
  if (record.organizerEmail?.toLowerCase() === email) return "FULL"
  if (record.attendeeEmails?.some((e) => e.toLowerCase() === email)) return "FULL"
  return "METADATA"
}

const utc = (millis: number): DateTime.Utc => DateTime.unsafeMake(millis)

/** The record as core's `Meeting` (type side), FULL; a METADATA view is core's `Redaction.redact` of it. */
export const toMeeting = (record: MeetingRecord, access: Meeting.AccessLevel): Meeting.Meeting =>
  Redaction.redact(fullMeeting(record), access)

const fullMeeting = (record: MeetingRecord): Meeting.Meeting => {
  const fields: Record<string, Meeting.Meeting["fields"][string]> = {
    $title: { value: record.title, valueType: "TEXT" },
    $startDate: { value: record.startDate, valueType: "DATETIME" },
    $endDate: { value: record.endDate, valueType: "DATETIME" },
    $description: { value: record.description, valueType: "TEXT" },
    $meetingUrl: { value: record.meetingUrl, valueType: "URL" },
    $organizerEmail: { value: record.organizerEmail, valueType: "EMAIL" },
    $attendeeEmails: { value: record.attendeeEmails, valueType: "EMAIL" },
    $privacySetting: { value: effectivePrivacy(record), valueType: "SINGLE_SELECT" }
  }
  const relationships: Record<string, Meeting.Meeting["relationships"][string]> = {
    $transcript: { cardinality: "has_one", objectType: "file", values: record.transcript === null ? [] : [record.transcript] }
  }
  relationships.$contact = { cardinality: "has_many", objectType: "contact", values: record.contacts }
  relationships.$account = { cardinality: "has_many", objectType: "account", values: record.accounts }
  relationships.$opportunity = { cardinality: "has_many", objectType: "opportunity", values: record.opportunities }
  return new Meeting.Meeting(
    {
      id: Meeting.MeetingId.make(record.id),
      accessLevel: "FULL",
      createdAt: utc(record.createdAt),
      fields,
      httpLink: `https://app.lightfield.app/meetings/${record.id}`,
      objectType: "meeting",
      relationships,
      updatedAt: record.updatedAt === null ? null : utc(record.updatedAt),
      ...(record.externalId === undefined ? {} : { externalId: record.externalId })
    },
    // The record is ours and well-formed; encoding below still checks it against the schema.
    true
  )
}

const encodeMeeting = Schema.encode(Meeting.Meeting)

/** Records whose wire form is kept (each holds up to a FULL and a METADATA rendering). */
const renderCacheLimit = 25_000

/** What a create through the API decides about a meeting: the record's content fields. */
export type CreateInput = Pick<
  MeetingRecord,
  | "title"
  | "startDate"
  | "endDate"
  | "description"
  | "meetingUrl"
  | "organizerEmail"
  | "attendeeEmails"
  | "privacy"
  | "transcript"
>

export interface Page {
  readonly items: ReadonlyArray<MeetingRecord>
  readonly totalCount: number
}

export interface Store {
  readonly seed: (org: Organization, count: number) => void
  /** Add generated meetings created "now" (they appear at the top of list at once). */
  readonly seedMore: (org: Organization, count: number, now: number) => void
  readonly create: (principal: Principal, input: CreateInput, now: number, indexLagMillis: number) => MeetingRecord
  readonly get: (orgId: string, id: string) => MeetingRecord | undefined
  /** Any organisation's meeting (for the sandbox's own controls). */
  readonly find: (id: string) => MeetingRecord | undefined
  readonly touch: (record: MeetingRecord, now: number) => void
  /** Gone for good (the sandbox's own control). */
  readonly remove: (id: string) => boolean
  /** Soft delete (spec §3.5): gone from every view like `remove`, but kept in the trash. */
  readonly trash: (id: string, now: number) => boolean
  /** The trashed meetings (any organisation), in the order they were deleted. */
  readonly trashed: () => ReadonlyArray<{ readonly record: MeetingRecord; readonly deletedAt: number }>
  readonly page: (orgId: string, offset: number, limit: number, now: number) => Page
  /** Every stored meeting of the org (indexed or not), newest first. */
  readonly all: (orgId: string) => ReadonlyArray<MeetingRecord>
  readonly render: (record: MeetingRecord, access: Meeting.AccessLevel) => Effect.Effect<WireMeeting>
}

export const make = (seedValue: number): Store => {
  const records = new Map<string, MeetingRecord>()
  const trashBin = new Map<string, { readonly record: MeetingRecord; readonly deletedAt: number }>()
  const indexes = new Map<string, OrgIndex>()
  const rendered = new Map<string, Rendered>()
  const ids = Seed.makeIdGenerator(seedValue)

  const indexOf = (orgId: string): OrgIndex => {
    let index = indexes.get(orgId)
    if (index === undefined) {
      index = { sorted: [], pending: [], lastCreatedAt: 0 }
      indexes.set(orgId, index)
    }
    return index
  }

  const insert = (index: OrgIndex, record: MeetingRecord) => {
    index.sorted.splice(insertionPoint(index.sorted, record), 0, record)
  }

  /** Strictly increasing per org, so createdAt values stay distinct. */
  const nextCreatedAt = (index: OrgIndex, now: number): number => {
    index.lastCreatedAt = Math.max(now, index.lastCreatedAt + 1)
    return index.lastCreatedAt
  }

  const flushPending = (index: OrgIndex, now: number) => {
    if (index.pending.length === 0) return
    for (let i = index.pending.length - 1; i >= 0; i--) {
      const entry = index.pending[i]!
      if (entry.visibleAt <= now) {
        index.pending.splice(i, 1)
        if (records.has(entry.record.id)) insert(index, entry.record)
      }
    }
  }

  const prngFor = (org: Organization, from: number) => Prng.make(Prng.hash32(`${seedValue}:${org.id}:${from}`))

  const seed: Store["seed"] = (org, count) => {
    const index = indexOf(org.id)
    const prng = prngFor(org, index.sorted.length)
    const start = index.sorted.length
    for (let i = start; i < start + count; i++) {
      // Slot i lies i half-hours before the anchor; the jitter stays inside the slot.
      const createdAt = Seed.anchor - (i + 1) * Seed.slotMillis + prng.int(0, Seed.slotMillis - 1)
      const record = Seed.generate(prng, ids, org, createdAt)
      records.set(record.id, record)
      index.sorted.push(record)
      index.lastCreatedAt = Math.max(index.lastCreatedAt, createdAt)
    }
    index.sorted.sort(compare)
  }

  const seedMore: Store["seedMore"] = (org, count, now) => {
    const index = indexOf(org.id)
    const prng = prngFor(org, records.size + now)
    const fresh: Array<MeetingRecord> = []
    for (let i = 0; i < count; i++) {
      const record = Seed.generate(prng, ids, org, nextCreatedAt(index, now))
      records.set(record.id, record)
      fresh.push(record)
    }
    if (fresh.length > 64) {
      index.sorted.push(...fresh)
      index.sorted.sort(compare)
    } else {
      for (const record of fresh) insert(index, record)
    }
  }

  const create: Store["create"] = (principal, input, now, indexLagMillis) => {
    const index = indexOf(principal.org.id)
    const emails = [...(input.organizerEmail === null ? [] : [input.organizerEmail]), ...(input.attendeeEmails ?? [])]
    const { accounts, contacts } = Seed.derivedRelationships(principal.org, emails)
    const record: MeetingRecord = {
      id: ids.next("mtg"),
      orgId: principal.org.id,
      createdAt: nextCreatedAt(index, now),
      updatedAt: null,
      title: input.title,
      startDate: input.startDate,
      endDate: input.endDate,
      description: input.description,
      meetingUrl: input.meetingUrl,
      organizerEmail: input.organizerEmail,
      attendeeEmails: input.attendeeEmails,
      privacy: input.privacy,
      transcript: input.transcript,
      contacts,
      accounts,
      opportunities: [],
      creatorId: principal.member.id,
      externalId: null,
      version: 0
    }
    records.set(record.id, record)
    if (indexLagMillis <= 0) insert(index, record)
    else index.pending.push({ record, visibleAt: now + indexLagMillis })
    return record
  }

  const get: Store["get"] = (orgId, id) => {
    const record = records.get(id)
    return record !== undefined && record.orgId === orgId ? record : undefined
  }

  const touch: Store["touch"] = (record, now) => {
    record.updatedAt = Math.max(now, record.createdAt)
    record.version++
  }

  const remove: Store["remove"] = (id) => {
    const record = records.get(id)
    if (record === undefined) return false
    records.delete(id)
    rendered.delete(id)
    const index = indexOf(record.orgId)
    const at = insertionPoint(index.sorted, record)
    if (index.sorted[at] === record) index.sorted.splice(at, 1)
    const pendingAt = index.pending.findIndex((p) => p.record === record)
    if (pendingAt >= 0) index.pending.splice(pendingAt, 1)
    return true
  }

  const trash: Store["trash"] = (id, now) => {
    const record = records.get(id)
    if (record === undefined || !remove(id)) return false
    trashBin.set(id, { record, deletedAt: now })
    return true
  }

  const page: Store["page"] = (orgId, offset, limit, now) => {
    const index = indexOf(orgId)
    flushPending(index, now)
    return { items: index.sorted.slice(offset, offset + limit), totalCount: index.sorted.length }
  }

  const all: Store["all"] = (orgId) => {
    const index = indexOf(orgId)
    return [...index.sorted, ...index.pending.map((p) => p.record)].sort(compare)
  }

  const render: Store["render"] = (record, access) =>
    Effect.suspend(() => {
      let entry = rendered.get(record.id)
      if (entry === undefined || entry.version !== record.version) {
        entry = { version: record.version }
        rendered.delete(record.id)
        rendered.set(record.id, entry)
        // Bounded (oldest first, Map order): repeated scans of a normal store are served from the
        // cache, a 100k benchmark store does not keep 100k wire objects alive.
        if (rendered.size > renderCacheLimit) {
          let drop = Math.ceil(renderCacheLimit / 10)
          for (const key of rendered.keys()) {
            if (drop-- <= 0) break
            rendered.delete(key)
          }
        }
      }
      const slot = access === "FULL" ? "full" : "metadata"
      const cached = entry[slot]
      if (cached !== undefined) return Effect.succeed(cached)
      const target = entry
      return encodeMeeting(toMeeting(record, access)).pipe(
        Effect.tap((wire) => {
          target[slot] = wire
        }),
        // A record the schema refuses is a sandbox bug, not a request error.
        Effect.orDie
      )
    })

  return {
    seed,
    seedMore,
    create,
    get,
    find: (id) => records.get(id),
    touch,
    remove,
    trash,
    trashed: () => [...trashBin.values()],
    page,
    all,
    render
  }
}
