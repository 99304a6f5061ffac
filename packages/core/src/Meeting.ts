/**
 * The meeting object (spec §4): nine wire properties, camelCase, with typed accessors for the
 * system fields. Every accessor is an Option because redaction and absence are normal.
 */
import { Array as Arr, DateTime, Either, Option, Schema } from "effect"
import { Field } from "./FieldValue.js"
import { InvalidParams } from "./MeetingsError.js"
import { Relationship } from "./Relationship.js"

/**
 * The meeting id grammar. Ids are opaque (spec §1: `mtg_…` in the examples), so the grammar is the
 * widest that is still one literal path segment: 1–255 of the RFC 3986 `pchar`s without `%`, and
 * not `.` or `..` (which URL resolution would turn into another endpoint: `/v1/meetings/.` is the
 * list, `/v1/meetings/..` is `/v1/`). `/`, `?`, `#`, whitespace and control characters are refused.
 *
 * @since 0.1.0
 */
export const MeetingIdPattern: RegExp = /^[A-Za-z0-9._~!$&'()*+,;=:@-]{1,255}$/

/**
 * Whether a string is a meeting id by `MeetingIdPattern` (and not a dot segment).
 *
 * @since 0.1.0
 */
export const isMeetingId = (s: string): boolean => s !== "." && s !== ".." && MeetingIdPattern.test(s)

/**
 * A meeting id, checked against the id grammar both when decoded from the wire and before it is
 * put into a request path.
 *
 * @since 0.1.0
 */
export const MeetingId = Schema.String.pipe(
  Schema.pattern(MeetingIdPattern, {
    message: () => "must be a meeting id: 1 to 255 URL path characters (no '/', '?', '#', '%', spaces)"
  }),
  Schema.filter((s) => s !== "." && s !== "..", { message: () => "must not be '.' or '..'" }),
  Schema.brand("MeetingId")
).annotations({ identifier: "MeetingId" })

/**
 * @since 0.1.0
 */
/**
 * The type of the `MeetingId` schema's values.
 *
 * @since 0.1.0
 */
export type MeetingId = typeof MeetingId.Type

/**
 * Checks an id before any request is sent: `InvalidParams{param: "id"}` when it is not a meeting id.
 *
 * @since 0.1.0
 */
export const validateId = (id: string): Either.Either<MeetingId, InvalidParams> =>
  typeof id === "string" && isMeetingId(id)
    ? Either.right(id as MeetingId)
    : Either.left(
      new InvalidParams({
        param: "id",
        message: typeof id === "string" && id.trim().length === 0
          ? "id must not be empty"
          : `id ${JSON.stringify(String(id).slice(0, 64))} is not a meeting id (1 to 255 URL path characters, not '.' or '..')`,
        status: 400
      })
    )

/**
 * The caller's resolved access to a meeting (spec §7): `FULL`, or `METADATA` (content redacted).
 *
 * @since 0.1.0
 */
export const AccessLevel = Schema.Literal("FULL", "METADATA")

/**
 * The type of `AccessLevel`.
 *
 * @since 0.1.0
 */
export type AccessLevel = typeof AccessLevel.Type

/**
 * A meeting's own privacy setting (`$privacySetting`); same two levels as the access level.
 *
 * @since 0.1.0
 */
export const PrivacySetting = Schema.Literal("FULL", "METADATA")

/**
 * The type of `PrivacySetting`.
 *
 * @since 0.1.0
 */
export type PrivacySetting = typeof PrivacySetting.Type

/**
 * ISO 8601 timestamps, decoded to `DateTime.Utc` and written back as `toISOString()`.
 *
 * @since 0.1.0
 */
export const Timestamp = Schema.DateTimeUtc

/**
 * The system keys the docs name (spec §4.1). Custom fields use bare slugs.
 *
 * @since 0.1.0
 */
export const SystemField = {
  title: "$title",
  startDate: "$startDate",
  endDate: "$endDate",
  description: "$description",
  meetingUrl: "$meetingUrl",
  organizerEmail: "$organizerEmail",
  attendeeEmails: "$attendeeEmails",
  privacySetting: "$privacySetting"
} as const

/**
 * The system relationship keys on meetings (spec §4.1).
 *
 * @since 0.1.0
 */
export const SystemRelationship = {
  transcript: "$transcript",
  contact: "$contact",
  account: "$account",
  opportunity: "$opportunity"
} as const

/**
 * The string a field holds as the accessors read it (`title`, `organizerEmail`, …): a string value,
 * or the first of an array of strings; `None` otherwise. Works on the wire form too (a field has the
 * same shape there).
 *
 * @since 0.1.0
 */
export const fieldString = (field: { readonly value: unknown } | undefined): Option.Option<string> =>
  field === undefined
    ? Option.none()
    : typeof field.value === "string"
    ? Option.some(field.value)
    : Array.isArray(field.value) && typeof field.value[0] === "string"
    ? Option.some(field.value[0])
    : Option.none()

/**
 * The strings a field holds as `attendeeEmails` reads them: a string as one, an array of strings.
 *
 * @since 0.1.0
 */
export const fieldStrings = (field: { readonly value: unknown } | undefined): Option.Option<ReadonlyArray<string>> =>
  field === undefined || field.value === null
    ? Option.none()
    : typeof field.value === "string"
    ? Option.some([field.value])
    : Array.isArray(field.value) && field.value.every((v): v is string => typeof v === "string")
    ? Option.some(field.value)
    : Option.none()

/**
 * The instant a field holds as `startDate`/`endDate` read it (`fieldString`, parsed by `DateTime.make`).
 *
 * @since 0.1.0
 */
export const fieldDate = (field: { readonly value: unknown } | undefined): Option.Option<DateTime.Utc> =>
  Option.flatMap(fieldString(field), (s) => DateTime.make(s)).pipe(Option.map(DateTime.toUtc))

/**
 * `DateTime.toEpochMillis(DateTime.unsafeMake(s))` for a timestamp string, `null` where it throws,
 * without building the `DateTime`: a string with a `Z` is parsed by `new Date` as it is (effect's
 * rule: only a string without a zone gets `Z` appended), the rest goes through `DateTime.make`.
 *
 * @since 0.1.0
 */
export const epochMillis = (s: string): number | null => {
  if (s.includes("Z")) {
    const millis = new Date(s).getTime()
    return Number.isNaN(millis) ? null : millis
  }
  const dt = DateTime.make(s)
  return Option.isSome(dt) ? DateTime.toEpochMillis(dt.value) : null
}

/**
 * The epoch millis of `fieldDate` (`null` for `None`), without building the `DateTime`.
 *
 * @since 0.1.0
 */
export const fieldMillis = (field: { readonly value: unknown } | undefined): number | null => {
  const s = fieldString(field)
  return Option.isSome(s) ? epochMillis(s.value) : null
}

/**
 * The meeting object (spec §4), with typed accessors for the system fields (each an `Option`).
 *
 * @since 0.1.0
 */
export class Meeting extends Schema.Class<Meeting>("Meeting")({
  id: MeetingId,
  accessLevel: AccessLevel,
  createdAt: Timestamp,
  fields: Schema.Record({ key: Schema.String, value: Field }),
  httpLink: Schema.NullOr(Schema.String),
  objectType: Schema.Literal("meeting"),
  relationships: Schema.Record({ key: Schema.String, value: Relationship }),
  updatedAt: Schema.NullOr(Timestamp),
  externalId: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true })
}) {
  /** A field by key, if the server sent it. */
  field(key: string): Option.Option<Field> {
    return Option.fromNullable(this.fields[key])
  }
  get title(): Option.Option<string> {
    return fieldString(this.fields[SystemField.title])
  }
  get startDate(): Option.Option<DateTime.Utc> {
    return fieldDate(this.fields[SystemField.startDate])
  }
  get endDate(): Option.Option<DateTime.Utc> {
    return fieldDate(this.fields[SystemField.endDate])
  }
  /** Content-bearing: `None` when the caller has METADATA access. */
  get description(): Option.Option<string> {
    return fieldString(this.fields[SystemField.description])
  }
  get meetingUrl(): Option.Option<string> {
    return fieldString(this.fields[SystemField.meetingUrl])
  }
  get organizerEmail(): Option.Option<string> {
    return fieldString(this.fields[SystemField.organizerEmail])
  }
  get attendeeEmails(): Option.Option<ReadonlyArray<string>> {
    return fieldStrings(this.fields[SystemField.attendeeEmails])
  }
  get privacySetting(): Option.Option<PrivacySetting> {
    return Option.filter(
      fieldString(this.fields[SystemField.privacySetting]),
      (s): s is PrivacySetting => s === "FULL" || s === "METADATA"
    )
  }
  /** The transcript file id; the relationship is omitted for METADATA callers. */
  get transcriptFileId(): Option.Option<string> {
    return Option.fromNullable(this.relationships[SystemRelationship.transcript]).pipe(
      Option.flatMap((r) => Arr.head(r.values))
    )
  }
  /** True when the server served the redacted (METADATA) view. */
  get isRedacted(): boolean {
    return this.accessLevel === "METADATA"
  }
}

/**
 * The list envelope (spec §6). `totalCount` counts all matching records, not the page.
 *
 * @since 0.1.0
 */
export class MeetingListPage extends Schema.Class<MeetingListPage>("MeetingListPage")({
  data: Schema.Array(Meeting),
  object: Schema.Literal("list"),
  totalCount: Schema.NonNegativeInt
}) {}
