/**
 * Deterministic generation of meeting records: same seed, same meetings, same ids. Generated
 * meetings are "manual" ones that are already over, so every date lies before its `createdAt`.
 */
import type { Organization } from "./auth.js"
import * as Prng from "../Prng.js"

/** What the sandbox stores per meeting; the wire shape is derived from it (see Store.render). */
export interface MeetingRecord {
  readonly id: string
  readonly orgId: string
  readonly createdAt: number
  updatedAt: number | null
  readonly title: string
  /** ISO 8601, normalised to `toISOString()`. */
  readonly startDate: string
  readonly endDate: string
  readonly description: string | null
  readonly meetingUrl: string | null
  readonly organizerEmail: string | null
  readonly attendeeEmails: ReadonlyArray<string> | null
  /** `null` = workspace default, served as `FULL`. */
  privacy: "FULL" | "METADATA" | null
  transcript: string | null
  readonly contacts: ReadonlyArray<string>
  readonly accounts: ReadonlyArray<string>
  readonly opportunities: ReadonlyArray<string>
  /** Member who created it through the API (always served FULL); `null` for synced/seeded ones. */
  readonly creatorId: string | null
  /** `undefined` = key absent on the wire. */
  readonly externalId: string | null | undefined
  /** Bumped on every change; invalidates the rendered-wire cache. */
  version: number
}

/** Seeded meetings are spread back in time from this fixed instant (the API version date). */
export const anchor = Date.parse("2026-03-01T00:00:00.000Z")

/** One slot per meeting: createdAt values never collide. */
export const slotMillis = 30 * 60 * 1000

const topics = [
  "Quarterly business review",
  "Discovery call",
  "Pricing negotiation",
  "Onboarding kickoff",
  "Renewal check-in",
  "Security questionnaire walkthrough",
  "Product demo",
  "Executive sync",
  "Integration deep dive",
  "Contract redlines",
  "Support escalation",
  "Roadmap preview",
  "Pilot retrospective",
  "Procurement intro",
  "Weekly pipeline review"
]

const notes = [
  "Walked through the current rollout plan and open risks.",
  "Customer asked for SSO and an audit log before signing.",
  "Agreed next steps: send the revised quote by Friday.",
  "Discussed budget timing; decision expected next quarter.",
  "Champion is moving teams; need a new sponsor.",
  "Reviewed usage numbers, adoption is up 30% month over month.",
  "Legal wants changes to the liability cap.",
  "Demoed the reporting module; strong interest from finance."
]

const isoOf = (millis: number): string => new Date(millis).toISOString()

const domainOf = (email: string): string => email.slice(email.indexOf("@") + 1)

/** Contacts are the attendees from outside the workspace; accounts are their companies. */
export const derivedRelationships = (
  org: Organization,
  emails: ReadonlyArray<string>
): { readonly contacts: ReadonlyArray<string>; readonly accounts: ReadonlyArray<string> } => {
  const outside = emails.filter((e) => domainOf(e).toLowerCase() !== org.domain)
  const contacts = [...new Set(outside.map((e) => `con_${Prng.base32(Prng.hash32(e.toLowerCase()), 7)}`))]
  const accounts = [...new Set(outside.map((e) => `acc_${Prng.base32(Prng.hash32(domainOf(e).toLowerCase()), 7)}`))]
  return { contacts, accounts }
}

export interface IdGenerator {
  readonly next: (prefix: string) => string
}

/** `mtg_` + 6 base32 chars of a counter (uniqueness) + 6 of the PRNG (opacity). */
export const makeIdGenerator = (seed: number): IdGenerator => {
  const prng = Prng.make(Prng.hash32(`ids:${seed}`))
  let counter = 0
  return {
    next: (prefix) => `${prefix}_${Prng.base32(counter++, 6)}${Prng.base32(prng.int(0, 2 ** 30 - 1), 6)}`
  }
}

/**
 * A generated meeting created at `createdAt`. Organisers and attendees are drawn from the org's
 * members and outsiders, so every member sees a mix of FULL and METADATA meetings.
 */
export const generate = (
  prng: Prng.Prng,
  ids: IdGenerator,
  org: Organization,
  createdAt: number
): MeetingRecord => {
  const memberEmails = org.members.map((m) => m.email)
  const everyone = [...memberEmails, ...org.externalEmails]
  const organizer = prng.chance(0.75) ? prng.pick(memberEmails) : prng.chance(0.8) ? prng.pick(org.externalEmails) : null
  const attendees = prng.sample(everyone.filter((e) => e !== organizer), prng.int(0, 4))
  const endDate = createdAt - prng.int(1, 72) * 60 * 60 * 1000 - prng.int(0, 59) * 60 * 1000
  const startDate = endDate - prng.pick([15, 30, 45, 60, 90]) * 60 * 1000
  const privacyRoll = prng.next()
  const privacy = privacyRoll < 0.45 ? "FULL" : privacyRoll < 0.9 ? "METADATA" : null
  const { accounts, contacts } = derivedRelationships(org, organizer === null ? attendees : [organizer, ...attendees])
  const id = ids.next("mtg")
  const transcript = prng.chance(0.4) ? `fil_${id.slice(4)}tr` : null
  const externalRoll = prng.next()
  return {
    id,
    orgId: org.id,
    createdAt,
    updatedAt: prng.chance(0.3) ? createdAt + prng.int(1, slotMillis - 1) : null,
    title: `${prng.pick(topics)}${accounts.length > 0 ? ` (${accounts.length} account${accounts.length > 1 ? "s" : ""})` : ""}`,
    startDate: isoOf(startDate),
    endDate: isoOf(endDate),
    description: prng.chance(0.8) ? `${prng.pick(notes)} ${prng.pick(notes)}` : null,
    meetingUrl: prng.chance(0.7) ? `https://meet.example.com/${Prng.base32(prng.int(0, 2 ** 30), 6)}` : null,
    organizerEmail: organizer,
    attendeeEmails: attendees.length > 0 || prng.chance(0.5) ? attendees : null,
    privacy,
    transcript,
    contacts,
    accounts,
    opportunities: accounts.length > 0 && prng.chance(0.3) ? [`opp_${Prng.base32(prng.int(0, 2 ** 30), 6)}`] : [],
    creatorId: null,
    externalId: externalRoll < 0.2 ? `crm-${Prng.base32(prng.int(0, 2 ** 30), 8)}` : externalRoll < 0.5 ? null : undefined,
    version: 0
  }
}
