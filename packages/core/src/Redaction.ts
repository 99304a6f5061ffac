/**
 * What a METADATA view hides (spec §7, §14 #10), written once for every package: the sandbox
 * renders its views with it, the cache applies it before a row is stored (so a stored METADATA row
 * can never hold content, whatever a server sent), and clients can rely on the same rule.
 *
 * It works on the decoded `Meeting`: both users hold one at the point where the rule applies (the
 * sandbox builds a `Meeting` from its record before encoding it; the cache decodes before storing).
 * `fields` and `relationships` have the same shape on the wire and in `Meeting`, so the encoded
 * form of the result is the redacted wire JSON.
 *
 * @since 0.1.0
 */
import type { AccessLevel } from "./Meeting.js"
import { Meeting, SystemField, SystemRelationship } from "./Meeting.js"

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
 * The view of `meeting` for a caller with `access` (default: the meeting's own `accessLevel`).
 * When either is METADATA: `accessLevel: "METADATA"`, every field outside `metadataFields` with
 * `value: null` (its `valueType` kept), `$transcript` removed. A FULL meeting asked for FULL is
 * returned as it is (the same instance); a METADATA meeting is never turned back into FULL.
 *
 * @since 0.1.0
 */
export const redact = (meeting: Meeting, access: AccessLevel = meeting.accessLevel): Meeting => {
  if (access === "FULL" && meeting.accessLevel === "FULL") return meeting
  const fields: Record<string, Meeting["fields"][string]> = {}
  for (const key of Object.keys(meeting.fields)) {
    const field = meeting.fields[key]!
    fields[key] = metadataFields.has(key) || field.value === null ? field : { ...field, value: null }
  }
  const relationships: Record<string, Meeting["relationships"][string]> = {}
  for (const key of Object.keys(meeting.relationships)) {
    if (!contentRelationships.has(key)) relationships[key] = meeting.relationships[key]!
  }
  // Built from parts of a valid Meeting: nothing new to validate.
  return new Meeting({ ...meeting, accessLevel: "METADATA", fields, relationships }, true)
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
