/** Generated wire meetings for the property tests of the fast path and the wire form. */
import { Arbitrary, FastCheck, Schema } from "effect"
import { Meeting } from "../src/Meeting.js"

/** Valid meetings in their encoded (wire) form, as parsed JSON. */
export const wireMeetings = Arbitrary.make(Meeting).map((m) =>
  JSON.parse(JSON.stringify(Schema.encodeSync(Meeting)(m))) as Record<string, unknown>
)

const junk = FastCheck.oneof(
  FastCheck.constant(null),
  FastCheck.integer(),
  FastCheck.string(),
  FastCheck.constant([]),
  FastCheck.constant({}),
  FastCheck.constant({ value: null })
)

/** Valid wire meetings with one top-level property or one field replaced by junk. */
export const brokenInOnePlace = FastCheck.tuple(wireMeetings, FastCheck.nat(), junk, FastCheck.boolean()).map(
  ([u, at, value, inFields]) => {
    const target = inFields ? u.fields as Record<string, unknown> : u
    const keys = Object.keys(target)
    const key = keys.length === 0 ? "$title" : keys[at % keys.length]!
    return { ...u, ...(inFields ? { fields: { ...target, [key]: value } } : { [key]: value }) }
  }
)
