/**
 * A fast path for decoding the JSON the API sends for meetings and list pages.
 *
 * `Schema.decodeUnknown(MeetingListPage)` interprets the AST generically: every struct, record,
 * `NullOr` and the `Field` union allocate `Either`s and issue arrays. It cost ~25 µs per meeting,
 * about 4× the `JSON.parse` of its page and the largest single cost of a full sync. This module
 * checks the common wire shapes directly and builds exactly what the schema would build (~4 µs).
 *
 * The contract, relied on by the client: when `meeting`/`listPage` return a value, the schema
 * would have decoded the same input to an equal value (same classes, same keys in the same order,
 * fresh arrays and objects, excess keys dropped); whenever they are unsure they return `undefined`
 * and the caller decodes with the schema, which then also produces the error and its path. So the
 * fast path may be stricter than the schema (rare shapes such as an unknown `valueType` carrying an
 * object take the slow path), never looser. `test/WireDecode.test.ts` checks the equivalence.
 *
 * `isCanonicalMeeting` is the same check without building anything (for the cache's sync, which
 * stores the wire JSON and needs no `Meeting`): true only when the schema would accept the object
 * AND encoding what it decodes gives the object back (same keys, same order, timestamps as
 * `toISOString` writes them), so the parsed JSON itself is the validated wire meeting. That is what
 * the API and the sandbox send; anything else (excess keys, another key order, another timestamp
 * form) is false and the caller decodes it as above. Both walks share the rules below: the
 * `valueType` table (`valueKind`), the scalar checks of the header, the timestamp rule.
 *
 * The objects it builds start from an empty literal (`{}`, `Object.create`) and get their keys one
 * by one, never from a literal with keys: V8 tracks an allocation site (and pretenures) only for the
 * latter. A sync keeps the meetings it decodes alive for a while, so V8 learned to allocate them in
 * the old generation directly; every meeting a read by id decoded afterwards then went there too,
 * holding its young strings and dates, which each scavenge had to promote (measured after two
 * simulated syncs: ~870 bytes per decoded meeting into the old space and a decode twice as slow;
 * ~130 bytes even in a fresh process; none without those literals).
 *
 * `owned`: the input is a tree no one else holds (`JSON.parse` output of `MeetingCodec`'s
 * `decode*Json`). Its arrays of strings, and its field and relationship objects that already have
 * exactly the schema's keys in the schema's order, are then taken as they are instead of copied
 * (the schema's copy would be equal), which halves what a decode allocates. Parsed JSON handed in
 * by a caller (`decodeMeeting`) is never owned: its copies stay fresh.
 */
import { DateTime } from "effect"
import type { Field } from "../FieldValue.js"
import type { AccessLevel, MeetingId } from "../Meeting.js"
import { isMeetingId, Meeting, MeetingListPage } from "../Meeting.js"
import type { Relationship } from "../Relationship.js"
import { isCanonicalTimestamp } from "./isoTimestamp.js"

type Json = Readonly<Record<string, unknown>>

const isObject = (u: unknown): u is Json => typeof u === "object" && u !== null && !Array.isArray(u)

const isStrings = (u: unknown): u is Array<string> => {
  if (!Array.isArray(u)) return false
  for (let i = 0; i < u.length; i++) if (typeof u[i] !== "string") return false
  return true
}

/** An array of strings as `Schema.Array(Schema.String)` makes it: a copy, unless `owned`. */
const strings = (u: unknown, owned: boolean): Array<string> | undefined =>
  isStrings(u) ? (owned ? u : u.slice()) : undefined

/** `Schema.DateTimeUtc` from a string: the same constructor, so the same instance shape. */
const timestamp = (u: unknown): DateTime.Utc | undefined => {
  if (typeof u !== "string") return undefined
  try {
    return DateTime.unsafeMake(u)
  } catch {
    return undefined
  }
}

/** The keys of `Address` / `FullName`, in their struct order (the order the schema outputs). */
const addressKeys = ["street", "street2", "city", "state", "postalCode", "country"] as const
const coordinateKeys = ["latitude", "longitude"] as const
const nameKeys = ["firstName", "lastName"] as const

/** A struct of optional (exact) nullable properties: only the present ones, in struct order. */
const optionalNullables = (
  u: unknown,
  stringKeys: ReadonlyArray<string>,
  numberKeys: ReadonlyArray<string>
): Record<string, string | number | null> | undefined => {
  if (!isObject(u)) return undefined
  const out: Record<string, string | number | null> = {}
  for (const key of stringKeys) {
    if (!Object.hasOwn(u, key)) continue
    const v = u[key]
    if (v !== null && typeof v !== "string") return undefined
    out[key] = v
  }
  for (const key of numberKeys) {
    if (!Object.hasOwn(u, key)) continue
    const v = u[key]
    if (v !== null && typeof v !== "number") return undefined
    out[key] = v
  }
  return out
}

/**
 * Whether `u` is what `optionalNullables` would copy unchanged: every key one of the struct's, in
 * struct order (`stringKeys` then `numberKeys`), each value `null` or of its type.
 */
const isCanonicalNullables = (u: unknown, stringKeys: ReadonlyArray<string>, numberKeys: ReadonlyArray<string>): boolean => {
  if (!isObject(u)) return false
  let at = 0
  for (const key in u) {
    while (at < stringKeys.length + numberKeys.length && (stringKeys[at] ?? numberKeys[at - stringKeys.length]) !== key) at++
    if (at === stringKeys.length + numberKeys.length || !Object.hasOwn(u, key)) return false
    const v = u[key]
    if (v !== null && typeof v !== (at < stringKeys.length ? "string" : "number")) return false
    at++
  }
  return true
}

/** Marks a value the fast path does not accept (field values may legitimately be `null`). */
const Invalid: unique symbol = Symbol("wireDecode/Invalid")

/** What a field's `valueType` asks of its value (the `Field` union's members, FieldValue.ts). */
type ValueKind = "text" | "number" | "boolean" | "strings" | "address" | "name" | "other"

const valueKind = (valueType: string): ValueKind => {
  switch (valueType) {
    case "TEXT":
    case "DATETIME":
    case "EMAIL":
    case "URL":
    case "TELEPHONE":
    case "SOCIAL_HANDLE":
    case "MARKDOWN":
    case "SINGLE_SELECT":
      return "text"
    case "NUMBER":
    case "CURRENCY":
      return "number"
    case "CHECKBOX":
      return "boolean"
    case "MULTI_SELECT":
      return "strings"
    case "ADDRESS":
      return "address"
    case "FULL_NAME":
      return "name"
    default:
      // An undocumented type (`OtherField`): scalars are kept as they are; arrays and objects are
      // copied by the schema, so they take the slow path.
      return "other"
  }
}

const isScalar = (v: unknown): boolean => typeof v === "string" || typeof v === "number" || typeof v === "boolean"

/** The value of a field, by its `valueType`. */
const fieldValue = (valueType: string, v: unknown, owned: boolean): unknown => {
  if (v === null) return null
  switch (valueKind(valueType)) {
    case "text":
      return typeof v === "string" ? v : strings(v, owned) ?? Invalid
    case "number":
      return typeof v === "number" ? v : Invalid
    case "boolean":
      return typeof v === "boolean" ? v : Invalid
    case "strings":
      return strings(v, owned) ?? Invalid
    case "address":
      return optionalNullables(v, addressKeys, coordinateKeys) ?? Invalid
    case "name":
      return optionalNullables(v, nameKeys, []) ?? Invalid
    case "other":
      return isScalar(v) ? v : Invalid
  }
}

/** Whether `fieldValue` would return `v` itself (or an equal copy of it, for arrays of strings). */
const isCanonicalValue = (valueType: string, v: unknown): boolean => {
  if (v === null) return true
  switch (valueKind(valueType)) {
    case "text":
      return typeof v === "string" || isStrings(v)
    case "number":
      return typeof v === "number"
    case "boolean":
      return typeof v === "boolean"
    case "strings":
      return isStrings(v)
    case "address":
      return isCanonicalNullables(v, addressKeys, coordinateKeys)
    case "name":
      return isCanonicalNullables(v, nameKeys, [])
    case "other":
      return isScalar(v)
  }
}

/** Whether the own keys of `u` are exactly `keys`, in that order (`optional` more may follow). */
const hasKeys = (u: Json, keys: ReadonlyArray<string>, optional = 0): boolean => {
  let n = 0
  for (const key in u) {
    if (n >= keys.length || key !== keys[n] || !Object.hasOwn(u, key)) return false
    n++
  }
  return n >= keys.length - optional
}

const fieldKeys = ["value", "valueType"] as const
const relationshipKeys = ["cardinality", "objectType", "values"] as const

const field = (u: unknown, owned: boolean): Field | undefined => {
  if (!isObject(u) || !Object.hasOwn(u, "value")) return undefined
  const valueType = u.valueType
  if (typeof valueType !== "string") return undefined
  const value = fieldValue(valueType, u.value, owned)
  if (value === Invalid) return undefined
  if (owned && value === u.value && hasKeys(u, fieldKeys)) return u as Field
  // Keys one by one (no allocation site: see the header). The cast stands for the union member the
  // `valueType` selected (checked by `fieldValue`).
  const out: { value?: unknown; valueType?: string } = {}
  out.value = value
  out.valueType = valueType
  return out as Field
}

const isCanonicalField = (u: unknown): boolean =>
  isObject(u) && hasKeys(u, fieldKeys) && typeof u.valueType === "string" && isCanonicalValue(u.valueType, u.value)

const relationship = (u: unknown, owned: boolean): Relationship | undefined => {
  if (!isObject(u)) return undefined
  const { cardinality, objectType } = u
  if (typeof cardinality !== "string" || typeof objectType !== "string") return undefined
  const values = strings(u.values, owned)
  if (values === undefined) return undefined
  if (owned && hasKeys(u, relationshipKeys)) return u as Relationship
  const out: { cardinality?: string; objectType?: string; values?: Array<string> } = {}
  out.cardinality = cardinality
  out.objectType = objectType
  out.values = values
  return out as Relationship
}

const isCanonicalRelationship = (u: unknown): boolean =>
  isObject(u) && hasKeys(u, relationshipKeys) && typeof u.cardinality === "string" &&
  typeof u.objectType === "string" && isStrings(u.values)

/**
 * `Schema.Record({ key: Schema.String, value })`: a fresh object, keys in input order; when `owned`
 * and every value is taken as it is, the input itself (the copy would be equal).
 */
const record = <A>(
  u: unknown,
  value: (u: unknown, owned: boolean) => A | undefined,
  owned: boolean
): Record<string, A> | undefined => {
  if (!isObject(u)) return undefined
  let out: Record<string, A> | undefined = owned ? undefined : {}
  for (const key in u) {
    // Assigning `__proto__` would set the prototype; leave that oddity to the schema.
    if (!Object.hasOwn(u, key) || key === "__proto__") return undefined
    const decoded = value(u[key], owned)
    if (decoded === undefined) return undefined
    if (out === undefined && decoded !== u[key]) {
      // The first value that is not taken as it is: copy the ones before it.
      out = {}
      for (const before in u) {
        if (before === key) break
        out[before] = u[before] as A
      }
    }
    if (out !== undefined) out[key] = decoded
  }
  return out ?? (u as Record<string, A>)
}

/** Whether `record(u, …)` would copy `u` unchanged, each value passing `canonical`. */
const isCanonicalRecord = (u: unknown, canonical: (u: unknown) => boolean): boolean => {
  if (!isObject(u)) return false
  for (const key in u) {
    if (!Object.hasOwn(u, key) || key === "__proto__" || !canonical(u[key])) return false
  }
  return true
}

/**
 * `new Meeting(props, true)` without the class constructor's generic work: with validation off it
 * copies `props`, merges the defaults of the fields (`Meeting` declares none) and assigns the copy to
 * the instance, which cost ~1.5 µs of the ~4 µs a meeting takes to decode. Here the keys are set on
 * the instance directly, in the schema's order (and no props object is built: see the header). The
 * instance is the same (prototype, own keys in the same order, values); `test/WireDecode.test.ts`
 * holds the two equal.
 */
const instantiate = (
  id: MeetingId,
  accessLevel: AccessLevel,
  createdAt: DateTime.Utc,
  fields: Record<string, Field>,
  httpLink: string | null,
  relationships: Record<string, Relationship>,
  updatedAt: DateTime.Utc | null,
  externalId: string | null | undefined,
  hasExternalId: boolean
): Meeting => {
  const m = Object.create(Meeting.prototype) as Record<string, unknown>
  m.id = id
  m.accessLevel = accessLevel
  m.createdAt = createdAt
  m.fields = fields
  m.httpLink = httpLink
  m.objectType = "meeting"
  m.relationships = relationships
  m.updatedAt = updatedAt
  if (hasExternalId) m.externalId = externalId
  return m as unknown as Meeting
}

/** The header checks both walks make: the id grammar, the two literals, `httpLink`. */
const validHeader = (u: Json): boolean => {
  const { accessLevel, httpLink, id } = u
  return typeof id === "string" && isMeetingId(id) && (accessLevel === "FULL" || accessLevel === "METADATA") &&
    u.objectType === "meeting" && (httpLink === null || typeof httpLink === "string")
}

/** A `Meeting` from parsed JSON (`owned`: see the header), or `undefined` when the schema must decide. */
export const meeting = (u: unknown, owned = false): Meeting | undefined => {
  if (!isObject(u) || !validHeader(u)) return undefined
  const createdAt = timestamp(u.createdAt)
  if (createdAt === undefined) return undefined
  const updatedAt = u.updatedAt === null ? null : timestamp(u.updatedAt)
  if (updatedAt === undefined) return undefined
  const fields = record(u.fields, field, owned)
  if (fields === undefined) return undefined
  const relationships = record(u.relationships, relationship, owned)
  if (relationships === undefined) return undefined
  const hasExternalId = Object.hasOwn(u, "externalId")
  const externalId = hasExternalId ? u.externalId : undefined
  if (hasExternalId && externalId !== null && typeof externalId !== "string") return undefined
  // Checked by `validHeader` (the id grammar is all `MeetingId` asks).
  return instantiate(
    u.id as MeetingId,
    u.accessLevel as AccessLevel,
    createdAt,
    fields,
    u.httpLink as string | null,
    relationships,
    updatedAt,
    externalId as string | null | undefined,
    hasExternalId
  )
}

/** The keys of a meeting in the order `encodeMeeting` writes them (`externalId` only when present). */
const meetingKeys = [
  "id", "accessLevel", "createdAt", "fields", "httpLink", "objectType", "relationships", "updatedAt", "externalId"
] as const

/**
 * True when `u` is a meeting exactly in its encoded form: `meeting(u)` would decode it and
 * `encodeMeeting` of the result equals `u` (same keys in the same order, nothing dropped). Then `u`
 * itself is the validated wire meeting; false means "decode it" (it may still be valid).
 */
export const isCanonicalMeeting = (u: unknown): u is typeof Meeting.Encoded => {
  if (!isObject(u) || !hasKeys(u, meetingKeys, 1) || !validHeader(u)) return false
  if (!isCanonicalTimestamp(u.createdAt) || (u.updatedAt !== null && !isCanonicalTimestamp(u.updatedAt))) return false
  if (!isCanonicalRecord(u.fields, isCanonicalField) || !isCanonicalRecord(u.relationships, isCanonicalRelationship)) {
    return false
  }
  const externalId = u.externalId
  return !Object.hasOwn(u, "externalId") || externalId === null || typeof externalId === "string"
}

/** The envelope of a list page (`object`, `totalCount`, the `data` array), as the schema checks it. */
export const listEnvelope = (u: unknown): { readonly data: ReadonlyArray<unknown>; readonly totalCount: number } | undefined => {
  if (!isObject(u) || u.object !== "list") return undefined
  const { data, totalCount } = u
  if (typeof totalCount !== "number" || !Number.isInteger(totalCount) || totalCount < 0) return undefined
  return Array.isArray(data) ? { data, totalCount } : undefined
}

/** A `MeetingListPage` from parsed JSON, or `undefined` when the schema must decide. */
export const listPage = (u: unknown, owned = false): MeetingListPage | undefined => {
  const envelope = listEnvelope(u)
  if (envelope === undefined) return undefined
  const { data, totalCount } = envelope
  const meetings = new Array<Meeting>(data.length)
  for (let i = 0; i < data.length; i++) {
    const m = meeting(data[i], owned)
    if (m === undefined) return undefined
    meetings[i] = m
  }
  return new MeetingListPage({ data: meetings, object: "list", totalCount }, true)
}
