/**
 * Provisional meetings: what local reads show for a queued write. Internal; re-exported by `Outbox`.
 * Kept apart so `MeetingsRepo` can re-apply queued updates without importing `Outbox`.
 */
import { Meeting } from "@lightfield-effect/core"
import type { MeetingParams } from "@lightfield-effect/core"
import { DateTime } from "effect"

/**
 * The prefix of provisional ids, handed out for queued creates.
 *
 * @since 0.1.0
 */
export const localIdPrefix = "local_"
/**
 * True for a provisional `local_…` id (a queued create's).
 *
 * @since 0.1.0
 */
export const isLocalId = (id: string): boolean => id.startsWith(localIdPrefix)

type Field = Meeting.Meeting["fields"][string]

const text = (value: string | null | undefined, valueType: "TEXT" | "DATETIME" | "URL" | "EMAIL" | "SINGLE_SELECT"): Field =>
  ({ value: value ?? null, valueType })

/**
 * The meeting a queued create stands for, under its provisional id (accessLevel FULL: the creator's view).
 *
 * @since 0.1.0
 */
export const provisionalMeeting = (
  localId: string,
  params: MeetingParams.CreateMeetingParams,
  now: DateTime.Utc
): Meeting.Meeting => {
  const f = params.fields
  const fields: Record<string, Field> = {
    [Meeting.SystemField.title]: text(f.$title, "TEXT"),
    [Meeting.SystemField.startDate]: text(DateTime.formatIso(DateTime.unsafeMake(f.$startDate)), "DATETIME"),
    [Meeting.SystemField.endDate]: text(DateTime.formatIso(DateTime.unsafeMake(f.$endDate)), "DATETIME"),
    [Meeting.SystemField.description]: text(f.$description, "TEXT"),
    [Meeting.SystemField.meetingUrl]: text(f.$meetingUrl, "URL"),
    [Meeting.SystemField.organizerEmail]: text(f.$organizerEmail, "EMAIL"),
    [Meeting.SystemField.attendeeEmails]: { value: f.$attendeeEmails ?? [], valueType: "EMAIL" },
    [Meeting.SystemField.privacySetting]: text(f.$privacySetting ?? "FULL", "SINGLE_SELECT")
  }
  const transcript = params.relationships?.$transcript
  const transcriptIds = transcript === undefined ? [] : typeof transcript === "string" ? [transcript] : transcript
  const relationships: Meeting.Meeting["relationships"] = transcriptIds.length === 0
    ? {}
    : { [Meeting.SystemRelationship.transcript]: { cardinality: "has_one", objectType: "file", values: transcriptIds } }
  return new Meeting.Meeting({
    id: Meeting.MeetingId.make(localId),
    accessLevel: "FULL",
    createdAt: now,
    fields,
    httpLink: null,
    objectType: "meeting",
    relationships,
    updatedAt: null
  }, true)
}

/**
 * A cached meeting with a queued update applied (privacy setting, transcript).
 *
 * @since 0.1.0
 */
export const applyUpdate = (
  meeting: Meeting.Meeting,
  params: MeetingParams.UpdateMeetingParams,
  now: DateTime.Utc
): Meeting.Meeting => {
  const fields = { ...meeting.fields }
  if (params.fields !== undefined) {
    fields[Meeting.SystemField.privacySetting] = text(params.fields.$privacySetting ?? "FULL", "SINGLE_SELECT")
  }
  const relationships = { ...meeting.relationships }
  if (params.relationships !== undefined) {
    relationships[Meeting.SystemRelationship.transcript] = {
      cardinality: "has_one",
      objectType: "file",
      values: [params.relationships.$transcript.replace]
    }
  }
  return new Meeting.Meeting({ ...meeting, fields, relationships, updatedAt: now }, true)
}
