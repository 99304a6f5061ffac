/**
 * Organisations, members and their API keys. Keys are derived from the seed so the bin can print
 * them and a test (or another process) can compute them again.
 */
import { Endpoint } from "@lightfield-effect/core"
import * as Prng from "../Prng.js"
import type { SandboxKeys } from "../SandboxShape.js"

export type Scope = Endpoint.Scope

/** What the seeded keys other than `readOnly` carry: every scope of core's table (meetings and files). */
export const allScopes: ReadonlyArray<Scope> = Endpoint.Scope.literals

export interface Member {
  readonly id: string
  readonly email: string
  readonly admin: boolean
}

export interface Organization {
  readonly id: string
  readonly name: string
  readonly domain: string
  readonly members: ReadonlyArray<Member>
  /** People outside the workspace who show up as organisers/attendees. */
  readonly externalEmails: ReadonlyArray<string>
}

/** Who is calling: the key's organisation, the member who created the key, and the key's scopes. */
export interface Principal {
  readonly label: keyof SandboxKeys
  readonly key: string
  readonly org: Organization
  readonly member: Member
  readonly scopes: ReadonlySet<Scope>
}

const member = (id: string, email: string, admin = false): Member => ({ id, email, admin })

export const acme: Organization = {
  id: "org_acme",
  name: "Acme",
  domain: "acme.test",
  members: [
    member("mem_admin", "admin@acme.test", true),
    member("mem_alice", "alice@acme.test"),
    member("mem_bob", "bob@acme.test"),
    member("mem_carol", "carol@acme.test"),
    member("mem_dan", "dan@acme.test"),
    member("mem_erin", "erin@acme.test")
  ],
  externalEmails: [
    "pat@globex.test",
    "sam@initech.test",
    "lee@initech.test",
    "kim@umbrella.test",
    "ana@hooli.test",
    "raj@hooli.test",
    "mia@stark.test"
  ]
}

export const globex: Organization = {
  id: "org_globex",
  name: "Globex",
  domain: "globex.test",
  members: [
    member("mem_gadmin", "boss@globex.test", true),
    member("mem_oscar", "oscar@globex.test"),
    member("mem_pia", "pia@globex.test")
  ],
  externalEmails: ["zoe@acme.test", "ivan@vandelay.test", "eve@wayne.test"]
}

export const organizations: ReadonlyArray<Organization> = [acme, globex]

const memberOf = (org: Organization, id: string): Member => org.members.find((m) => m.id === id)!

interface KeySpec {
  readonly label: keyof SandboxKeys
  readonly org: Organization
  readonly memberId: string
  readonly scopes: ReadonlyArray<Scope>
}

const keySpecs: ReadonlyArray<KeySpec> = [
  { label: "admin", org: acme, memberId: "mem_admin", scopes: allScopes },
  { label: "member", org: acme, memberId: "mem_alice", scopes: allScopes },
  { label: "member2", org: acme, memberId: "mem_bob", scopes: allScopes },
  { label: "readOnly", org: acme, memberId: "mem_carol", scopes: ["meetings:read"] },
  { label: "otherOrg", org: globex, memberId: "mem_oscar", scopes: allScopes }
]

/** `sk_lf_0_<label>_<32 hex>`, stable for a given seed. */
export const keyFor = (seed: number, label: keyof SandboxKeys): string =>
  `sk_lf_0_${label.toLowerCase()}_${Prng.hex(Prng.make(Prng.hash32(`${seed}:${label}`)), 16)}`

export interface Keyring {
  readonly keys: SandboxKeys
  readonly lookup: (key: string) => Principal | undefined
}

export const makeKeyring = (seed: number): Keyring => {
  const principals = new Map<string, Principal>()
  for (const spec of keySpecs) {
    const key = keyFor(seed, spec.label)
    principals.set(key, {
      label: spec.label,
      key,
      org: spec.org,
      member: memberOf(spec.org, spec.memberId),
      scopes: new Set(spec.scopes)
    })
  }
  const keys: SandboxKeys = {
    admin: keyFor(seed, "admin"),
    member: keyFor(seed, "member"),
    member2: keyFor(seed, "member2"),
    readOnly: keyFor(seed, "readOnly"),
    otherOrg: keyFor(seed, "otherOrg")
  }
  return { keys, lookup: (key) => principals.get(key) }
}

/** The bearer token of an `Authorization` header, if it is one. */
export const bearer = (header: string | undefined): string | undefined => {
  if (header === undefined) return undefined
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match?.[1]
}
