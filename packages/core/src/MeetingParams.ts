/**
 * Request bodies and query parameters (spec §3). Values are written bare (no `{value, valueType}`
 * wrapper). The same schemas validate on the client before anything is sent and on the sandbox.
 *
 * Rules are of two kinds, because the API answers them differently (spec §14 #3):
 * shape (wrong type, unknown key, bad format) gives 400, business rules give 422. Business rules
 * carry the `BusinessRule` annotation so `ParamsProblem` can tell them apart.
 */
import { Clock, DateTime, Effect, Option, Schema } from "effect"
import { PrivacySetting } from "./Meeting.js"

/**
 * Annotation marking a refinement as a business rule (answered with 422, not 400).
 *
 * @since 0.1.0
 */
export const BusinessRule: unique symbol = Symbol.for("@lightfield-effect/core/BusinessRule")

const business = { [BusinessRule]: true } as const

/**
 * Deliberately simple: one `@`, no spaces, a dot in the domain.
 *
 * @since 0.1.0
 */
export const Email = Schema.String.pipe(
  Schema.pattern(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, { message: () => "must be an e-mail address" })
).annotations({ identifier: "Email" })

/**
 * An ISO 8601 date-time string with a time zone (`2026-04-07T21:00:00.000Z`).
 *
 * @since 0.1.0
 */
export const IsoDateTime = Schema.String.pipe(
  Schema.filter(
    (s) =>
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(s) &&
      Option.isSome(DateTime.make(s)),
    { message: () => "must be an ISO 8601 date-time with a time zone, e.g. 2026-04-07T21:00:00.000Z" }
  )
).annotations({ identifier: "IsoDateTime" })

const millis = (iso: string): number => DateTime.toEpochMillis(DateTime.unsafeMake(iso))

const optionalNullable = <S extends Schema.Schema.Any>(schema: S) =>
  Schema.optionalWith(Schema.NullOr(schema), { exact: true })

/**
 * The `fields` of a create body: `$title`, `$startDate`, `$endDate` required, the rest optional; end not before start.
 *
 * @since 0.1.0
 */
export const CreateMeetingFields = Schema.Struct({
  $title: Schema.String.pipe(
    Schema.filter((s) => s.trim().length > 0, { message: () => "must not be empty", ...business })
  ),
  $startDate: IsoDateTime,
  $endDate: IsoDateTime,
  $description: optionalNullable(Schema.String),
  $meetingUrl: optionalNullable(Schema.String),
  $organizerEmail: optionalNullable(Email),
  $attendeeEmails: Schema.optionalWith(Schema.Array(Email), { exact: true }),
  $privacySetting: optionalNullable(PrivacySetting)
}).pipe(
  Schema.filter(
    (f) =>
      millis(f.$endDate) >= millis(f.$startDate) ||
      { path: ["$endDate"], message: "must not be before $startDate" },
    { ...business }
  )
)

/**
 * One completed file id; the API takes an id or an array of at most one.
 *
 * @since 0.1.0
 */
export const CreateTranscript = Schema.Union(
  Schema.String.pipe(Schema.minLength(1)),
  Schema.Array(Schema.String).pipe(
    Schema.maxItems(1, { message: () => "only one transcript per meeting", ...business })
  )
)

const CreateMeetingBody = Schema.Struct({
  fields: CreateMeetingFields,
  autoCreateRecords: Schema.optionalWith(Schema.Boolean, { exact: true }),
  relationships: Schema.optionalWith(Schema.Struct({ $transcript: CreateTranscript }), { exact: true })
})

/**
 * Body of `POST /v1/meetings`. Only meetings that are over can be created: both dates must lie in
 * the past of the running fiber's `Clock` (so tests and the sandbox can move time).
 *
 * @since 0.1.0
 */
export const CreateMeetingParams = CreateMeetingBody.pipe(
  Schema.filterEffect((body) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      if (millis(body.fields.$startDate) > now) {
        return { path: ["fields", "$startDate"], message: "must be in the past" }
      }
      if (millis(body.fields.$endDate) > now) {
        return { path: ["fields", "$endDate"], message: "must be in the past" }
      }
      return true
    })
  )
).annotations({ identifier: "CreateMeetingParams", [BusinessRule]: true })

/**
 * The type of `CreateMeetingParams`.
 *
 * @since 0.1.0
 */
export type CreateMeetingParams = typeof CreateMeetingParams.Type

/**
 * Body of `POST /v1/meetings/{id}`: only `$privacySetting` and `$transcript.replace` are writable.
 *
 * @since 0.1.0
 */
export const UpdateMeetingParams = Schema.Struct({
  fields: Schema.optionalWith(Schema.Struct({ $privacySetting: Schema.NullOr(PrivacySetting) }), { exact: true }),
  relationships: Schema.optionalWith(
    Schema.Struct({ $transcript: Schema.Struct({ replace: Schema.String.pipe(Schema.minLength(1)) }) }),
    { exact: true }
  )
}).annotations({ identifier: "UpdateMeetingParams" })

/**
 * The type of `UpdateMeetingParams`.
 *
 * @since 0.1.0
 */
export type UpdateMeetingParams = typeof UpdateMeetingParams.Type

/**
 * The documented maximum page size.
 *
 * @since 0.1.0
 */
export const MaxLimit = 25

/**
 * Query of `GET /v1/meetings`: `limit` 1..25 (default 25), `offset` ≥ 0 (default 0).
 *
 * @since 0.1.0
 */
export const ListMeetingsParams = Schema.Struct({
  limit: Schema.optionalWith(
    Schema.Int.pipe(Schema.between(1, MaxLimit, { message: () => `must be an integer from 1 to ${MaxLimit}` })),
    { exact: true }
  ),
  offset: Schema.optionalWith(
    Schema.Int.pipe(Schema.between(0, Number.MAX_SAFE_INTEGER, { message: () => "must be an integer ≥ 0" })),
    { exact: true }
  )
}).annotations({ identifier: "ListMeetingsParams" })

/**
 * The type of `ListMeetingsParams`.
 *
 * @since 0.1.0
 */
export type ListMeetingsParams = typeof ListMeetingsParams.Type

/**
 * Closed bodies: unknown keys are errors, as in the API's schema.
 *
 * @since 0.1.0
 */
export const strictParse = { onExcessProperty: "error", errors: "first" } as const
