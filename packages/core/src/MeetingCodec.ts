/**
 * The one JSON codec of `Meeting` and `MeetingListPage`, for the client (answers from the API) and
 * the cache (rows it stores as wire JSON and reads back).
 *
 * Decoding takes the fast path of `internal/wireDecode` for the shapes the API sends and the
 * Schema for anything the fast path is unsure of. The fast path is never looser than the Schema
 * (`test/WireDecode.test.ts` checks them equivalent, hostile inputs included), so what either
 * accepts is a valid `Meeting`, and what the Schema rejects fails with its `ParseError` and path.
 *
 * Encoding builds the wire JSON directly: a `Meeting`'s only non-JSON members are its two
 * `DateTime`s (the field values and relationships are the same on both sides), so the result
 * equals `Schema.encodeSync(Meeting)` for every valid `Meeting` (tested). It does not re-validate:
 * a `Meeting` built with validation disabled is written as it is, and reading it back through
 * `decodeMeetingJson` checks it.
 *
 * `decodeWirePageJson` validates a page by the same rules without building `Meeting`s: its meetings
 * are the parsed JSON objects themselves when they are already in encoded form (what the API
 * sends; checked by `internal/wireDecode`'s `isCanonicalMeeting`), else `encodeMeeting` of their
 * decoding. Either way each equals `encodeMeeting(decodeMeeting(json))`, and a page the Schema
 * rejects fails with the same `ParseError` as `decodePageJson`.
 *
 * @since 0.1.0
 */
import type { ParseResult } from "effect"
import { DateTime, Effect, Either, Schema } from "effect"
import * as WireDecode from "./internal/wireDecode.js"
import { Meeting, MeetingListPage } from "./Meeting.js"

/**
 * The wire form of a meeting (`Schema.Schema.Encoded<typeof Meeting>`).
 *
 * @since 0.1.0
 */
export type WireMeeting = typeof Meeting.Encoded

/**
 * The wire form of a list page.
 *
 * @since 0.1.0
 */
export type WirePage = typeof MeetingListPage.Encoded

const slowMeeting = Schema.decodeUnknownEither(Meeting)
const slowPage = Schema.decodeUnknownEither(MeetingListPage)
const slowMeetingJson = Schema.decodeUnknownEither(Schema.parseJson(Meeting))
const slowPageJson = Schema.decodeUnknownEither(Schema.parseJson(MeetingListPage))

const fromText = <A>(
  fast: (json: unknown) => A | undefined,
  slow: (text: string) => Either.Either<A, ParseResult.ParseError>
) =>
(text: string): Either.Either<A, ParseResult.ParseError> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    // Let the Schema report the malformed JSON (a `ParseError`, as for any other violation).
    return slow(text)
  }
  const decoded = fast(json)
  return decoded === undefined ? slow(text) : Either.right(decoded)
}

/**
 * A `Meeting` from parsed JSON.
 *
 * @since 0.1.0
 */
export const decodeMeeting = (json: unknown): Either.Either<Meeting, ParseResult.ParseError> => {
  const fast = WireDecode.meeting(json)
  return fast === undefined ? slowMeeting(json) : Either.right(fast)
}

/**
 * A `MeetingListPage` from parsed JSON.
 *
 * @since 0.1.0
 */
export const decodePage = (json: unknown): Either.Either<MeetingListPage, ParseResult.ParseError> => {
  const fast = WireDecode.listPage(json)
  return fast === undefined ? slowPage(json) : Either.right(fast)
}

/**
 * A `Meeting` from JSON text (an API answer or a stored row).
 *
 * @since 0.1.0
 */
export const decodeMeetingJson: (text: string) => Either.Either<Meeting, ParseResult.ParseError> = fromText(
  // The parsed tree is this function's own: the fast path may keep parts of it (no copies).
  (json) => WireDecode.meeting(json, true),
  slowMeetingJson
)

/**
 * A `MeetingListPage` from JSON text.
 *
 * @since 0.1.0
 */
export const decodePageJson: (text: string) => Either.Either<MeetingListPage, ParseResult.ParseError> = fromText(
  (json) => WireDecode.listPage(json, true),
  slowPageJson
)

/**
 * `decodeMeetingJson` as an Effect.
 *
 * @since 0.1.0
 */
export const decodeMeetingJsonEffect = (text: string): Effect.Effect<Meeting, ParseResult.ParseError> =>
  Effect.suspend(() => decodeMeetingJson(text))

/**
 * `decodePageJson` as an Effect.
 *
 * @since 0.1.0
 */
export const decodePageJsonEffect = (text: string): Effect.Effect<MeetingListPage, ParseResult.ParseError> =>
  Effect.suspend(() => decodePageJson(text))

/**
 * The wire form of a meeting: as JSON, equal to `Schema.encodeSync(Meeting)(meeting)` (same keys,
 * same order). It shares `fields` and `relationships` with `meeting` instead of copying them.
 *
 * @since 0.1.0
 */
export const encodeMeeting = (meeting: Meeting): WireMeeting => {
  const wire: WireMeeting = {
    id: meeting.id,
    accessLevel: meeting.accessLevel,
    createdAt: DateTime.formatIso(meeting.createdAt),
    fields: meeting.fields,
    httpLink: meeting.httpLink,
    objectType: meeting.objectType,
    relationships: meeting.relationships,
    updatedAt: meeting.updatedAt === null ? null : DateTime.formatIso(meeting.updatedAt)
  }
  return meeting.externalId === undefined ? wire : { ...wire, externalId: meeting.externalId }
}

/**
 * The wire form of a list page.
 *
 * @since 0.1.0
 */
export const encodePage = (page: MeetingListPage): WirePage => ({
  data: page.data.map(encodeMeeting),
  object: page.object,
  totalCount: page.totalCount
})

/**
 * A meeting as wire JSON text: what the cache stores, and what `decodeMeetingJson` reads back.
 *
 * @since 0.1.0
 */
export const encodeMeetingJson = (meeting: Meeting): string => JSON.stringify(encodeMeeting(meeting))

/**
 * A list page as validated wire meetings (see the module's header): the meetings in encoded form,
 * each equal to `encodeMeeting` of its decoding, or `undefined` when the Schema must decide.
 */
const wirePage = (json: unknown): WirePage | undefined => {
  const envelope = WireDecode.listEnvelope(json)
  if (envelope === undefined) return undefined
  const { data, totalCount } = envelope
  let out: Array<WireMeeting> | undefined
  for (let i = 0; i < data.length; i++) {
    const item = data[i]
    if (WireDecode.isCanonicalMeeting(item)) {
      if (out !== undefined) out[i] = item
      continue
    }
    const decoded = WireDecode.meeting(item)
    if (decoded === undefined) return undefined
    // A copy only for a page that needs one: the canonical meetings before `i` are taken as they are.
    out ??= data.slice(0, i) as Array<WireMeeting>
    out[i] = encodeMeeting(decoded)
  }
  return { data: out ?? (data as ReadonlyArray<WireMeeting>), object: "list", totalCount }
}

/**
 * A list page from JSON text in wire form, its meetings validated but not built (see the module's
 * header): for callers that store or forward the JSON, such as the cache's sync.
 *
 * @since 0.1.0
 */
export const decodeWirePageJson: (text: string) => Either.Either<WirePage, ParseResult.ParseError> = fromText(
  wirePage,
  (text) => Either.map(slowPageJson(text), encodePage)
)
