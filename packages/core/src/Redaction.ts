/**
 * What a METADATA view hides (spec §7, §14 #10), written once for every package: the sandbox
 * renders its views with it, the cache applies it before a row is stored (so a stored METADATA row
 * can never hold content, whatever a server sent), and clients can rely on the same rule.
 *
 * It works on the decoded `Meeting` (`redact`: the sandbox builds a `Meeting` from its record before
 * encoding it; the cache's other writes hold one) and on the wire form (`redactWire`: the cache's
 * sync stores the JSON it validated without building a `Meeting`). `fields` and `relationships`
 * have the same shape on the wire and in `Meeting`, so both apply the same parts (`redactedParts`)
 * and `encodeMeeting(redact(m))` equals `redactWire(encodeMeeting(m))` (tested).
 *
 * @since 0.1.0
 */
import type { AccessLevel } from "./Meeting.js"
import { Meeting, SystemField, SystemRelationship } from "./Meeting.js"
import type { WireMeeting } from "./MeetingCodec.js"

/**
 * The fields a METADATA view keeps (spec §7); every other field (the description, any other
 * content-bearing or custom field) has its `value` nulled.
 *
 * @since 0.1.0
 */
export const metadataFields: ReadonlySet<string> = new Set([
  SystemField.title,
  SystemField.startDate,
  SystemField.endDate,
  SystemField.organizerEmail,
  SystemField.attendeeEmails,
  SystemField.meetingUrl,
  SystemField.privacySetting
])

/**
 * The relationships a METADATA view omits: the transcript. `$contact`, `$account` and
 * `$opportunity` are kept.
 *
 * @since 0.1.0
 */
export const contentRelationships: ReadonlySet<string> = new Set([SystemRelationship.transcript])

/**
 * The METADATA view of a meeting's `fields` and `relationships`, on either form (they have the
 * same shape on the wire and in `Meeting`): fresh records, keys in the same order.
 */
const redactedParts = <F extends { readonly value: unknown }, R>(
  parts: { readonly fields: Readonly<Record<string, F>>; readonly relationships: Readonly<Record<string, R>> }
): { readonly fields: Record<string, F>; readonly relationships: Record<string, R> } => {
  const fields: Record<string, F> = {}
  for (const key of Object.keys(parts.fields)) {
    const field = parts.fields[key]!
    // A field with `value: null` is valid for every value type, so the copy keeps the field's type.
    fields[key] = metadataFields.has(key) || field.value === null ? field : ({ ...field, value: null } as F)
  }
  const relationships: Record<string, R> = {}
  for (const key of Object.keys(parts.relationships)) {
    if (!contentRelationships.has(key)) relationships[key] = parts.relationships[key]!
  }
  return { fields, relationships }
}

/**
 * The view of `meeting` for a caller with `access` (default: the meeting's own `accessLevel`).
 * When either is METADATA: `accessLevel: "METADATA"`, every field outside `metadataFields` with
 * `value: null` (its `valueType` kept), `$transcript` removed. A FULL meeting asked for FULL is
 * returned as it is (the same instance); a METADATA meeting is never turned back into FULL.
 *
 * @since 0.1.0
 */
export const redact = (meeting: Meeting, access: AccessLevel = meeting.accessLevel): Meeting => {
  if (access === "FULL" && meeting.accessLevel === "FULL") return meeting
  // Built from parts of a valid Meeting: nothing new to validate.
  return new Meeting({ ...meeting, accessLevel: "METADATA", ...redactedParts(meeting) }, true)
}

/**
 * `redact` on the wire form: the same view, the same keys in the same order (so its JSON is
 * `encodeMeetingJson(redact(meeting))` for the meeting the wire form encodes). A FULL meeting asked
 * for FULL is returned as it is.
 *
 * @since 0.1.0
 */
export const redactWire = (wire: WireMeeting, access: AccessLevel = wire.accessLevel): WireMeeting => {
  if (access === "FULL" && wire.accessLevel === "FULL") return wire
  return { ...wire, accessLevel: "METADATA", ...redactedParts(wire) }
}

/**
 * True when `meeting` holds nothing a METADATA view hides (it is what `redact` would return).
 *
 * @since 0.1.0
 */
export const isRedacted = (meeting: Meeting): boolean =>
  meeting.accessLevel === "METADATA" &&
  Object.keys(meeting.fields).every((key) => metadataFields.has(key) || meeting.fields[key]!.value === null) &&
  Object.keys(meeting.relationships).every((key) => !contentRelationships.has(key))
