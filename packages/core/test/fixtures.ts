/** Wire bodies shaped like the spec's examples (§4–§8), as plain JSON values. */

export const fullMeeting = {
  id: "mtg_01HZX5Q8",
  accessLevel: "FULL",
  createdAt: "2026-04-07T22:15:03.120Z",
  fields: {
    $title: { value: "Customer Call", valueType: "TEXT" },
    $startDate: { value: "2026-04-07T21:00:00.000Z", valueType: "DATETIME" },
    $endDate: { value: "2026-04-07T21:30:00.000Z", valueType: "DATETIME" },
    $description: { value: "Quarterly review with the buying committee.", valueType: "TEXT" },
    $meetingUrl: { value: "https://meet.example.com/abc-defg-hij", valueType: "URL" },
    $organizerEmail: { value: "ada@acme.example", valueType: "EMAIL" },
    $attendeeEmails: { value: ["ada@acme.example", "bob@globex.example"], valueType: "EMAIL" },
    $privacySetting: { value: "FULL", valueType: "SINGLE_SELECT" },
    dealSize: { value: 125000, valueType: "CURRENCY" },
    followUp: { value: true, valueType: "CHECKBOX" },
    tags: { value: ["opt_hot", "opt_q2"], valueType: "MULTI_SELECT" },
    hq: {
      value: { street: "1 Main St", street2: null, city: "Springfield", postalCode: "12345", country: "US", latitude: 1.5 },
      valueType: "ADDRESS"
    },
    champion: { value: { firstName: "Ada", lastName: null }, valueType: "FULL_NAME" }
  },
  httpLink: "https://app.lightfield.app/meetings/mtg_01HZX5Q8",
  objectType: "meeting",
  relationships: {
    $transcript: { cardinality: "has_one", objectType: "file", values: ["fil_01HZX5T2"] },
    $contact: { cardinality: "has_many", objectType: "contact", values: ["con_1", "con_2"] },
    $account: { cardinality: "has_many", objectType: "account", values: ["acc_1"] },
    $opportunity: { cardinality: "has_many", objectType: "opportunity", values: [] }
  },
  updatedAt: "2026-04-08T09:00:00.000Z",
  externalId: "crm-42"
} as const

/** The METADATA view (spec §7): content nulled, `$transcript` omitted, `externalId` absent. */
export const redactedMeeting = {
  id: "mtg_01HZX5Q9",
  accessLevel: "METADATA",
  createdAt: "2026-04-06T10:00:00.000Z",
  fields: {
    $title: { value: "Board prep", valueType: "TEXT" },
    $startDate: { value: "2026-04-06T09:00:00.000Z", valueType: "DATETIME" },
    $endDate: { value: "2026-04-06T09:45:00.000Z", valueType: "DATETIME" },
    $description: { value: null, valueType: "TEXT" },
    $meetingUrl: { value: null, valueType: "URL" },
    $organizerEmail: { value: "eve@acme.example", valueType: "EMAIL" },
    $attendeeEmails: { value: [], valueType: "EMAIL" },
    $privacySetting: { value: "METADATA", valueType: "SINGLE_SELECT" }
  },
  httpLink: null,
  objectType: "meeting",
  relationships: {
    $contact: { cardinality: "has_many", objectType: "contact", values: [] }
  },
  updatedAt: null
} as const

/** A newer server's undocumented value type, to be kept as it came. */
export const htmlMeeting = {
  ...redactedMeeting,
  id: "mtg_01HZX5QA",
  accessLevel: "FULL",
  fields: {
    ...redactedMeeting.fields,
    summaryHtml: { value: "<p>Agreed on <b>pricing</b></p>", valueType: "HTML" }
  },
  externalId: null
} as const

export const listPage = {
  data: [fullMeeting, redactedMeeting, htmlMeeting],
  object: "list",
  totalCount: 203
} as const

export const wrappedError = {
  error: {
    type: "bad_request",
    message: "Unknown field 'bogus'.",
    code: "unknown_field",
    param: "fields.bogus"
  }
} as const

export const flatError = {
  type: "idempotency_conflict",
  message: "An operation with this idempotency key is already in progress. Please wait and retry."
} as const

export const validCreate = {
  fields: {
    $title: "Customer Call",
    $startDate: "2026-04-07T21:00:00.000Z",
    $endDate: "2026-04-07T21:30:00.000Z",
    $organizerEmail: "ada@acme.example",
    $attendeeEmails: ["ada@acme.example", "bob@globex.example"],
    $privacySetting: "FULL"
  },
  autoCreateRecords: false,
  relationships: { $transcript: "fil_01HZX5T2" }
} as const
