/**
 * Field values as the API reads them back: `{ value, valueType }`, where `valueType` decides the
 * shape of `value` (spec §5.1–5.3).
 */
import { Schema } from "effect"

/**
 * The 14 documented value types.
 *
 * @since 0.1.0
 */
export const KnownValueType = Schema.Literal(
  "ADDRESS",
  "CHECKBOX",
  "CURRENCY",
  "DATETIME",
  "EMAIL",
  "FULL_NAME",
  "MARKDOWN",
  "MULTI_SELECT",
  "NUMBER",
  "SINGLE_SELECT",
  "SOCIAL_HANDLE",
  "TELEPHONE",
  "TEXT",
  "URL"
)

/**
 * The type of `KnownValueType`.
 *
 * @since 0.1.0
 */
export type KnownValueType = typeof KnownValueType.Type

const knownValueTypes: ReadonlySet<string> = new Set(KnownValueType.literals)

/**
 * Any value type the server did not document yet (the newer API already sends `HTML`).
 *
 * @since 0.1.0
 */
export const OtherValueType = Schema.String.pipe(
  Schema.filter((s) => !knownValueTypes.has(s), { message: () => "a value type other than the 14 documented ones" }),
  Schema.brand("OtherValueType")
)

/**
 * The type of `OtherValueType`.
 *
 * @since 0.1.0
 */
export type OtherValueType = typeof OtherValueType.Type

/**
 * Open enum: the documented literals, and any other string kept as it came.
 *
 * @since 0.1.0
 */
export const ValueType = Schema.Union(KnownValueType, OtherValueType)

/**
 * The type of `ValueType`.
 *
 * @since 0.1.0
 */
export type ValueType = typeof ValueType.Type

const optionalNullable = <S extends Schema.Schema.Any>(schema: S) =>
  Schema.optionalWith(Schema.NullOr(schema), { exact: true })

/**
 * A postal address; every key optional and nullable. `country` is ISO 3166-1 alpha-2.
 *
 * @since 0.1.0
 */
export const Address = Schema.Struct({
  street: optionalNullable(Schema.String),
  street2: optionalNullable(Schema.String),
  city: optionalNullable(Schema.String),
  state: optionalNullable(Schema.String),
  postalCode: optionalNullable(Schema.String),
  country: optionalNullable(Schema.String),
  latitude: optionalNullable(Schema.Number),
  longitude: optionalNullable(Schema.Number)
}).annotations({ identifier: "Address" })

/**
 * The type of `Address`.
 *
 * @since 0.1.0
 */
export type Address = typeof Address.Type

/**
 * A person's name; both keys optional and nullable.
 *
 * @since 0.1.0
 */
export const FullName = Schema.Struct({
  firstName: optionalNullable(Schema.String),
  lastName: optionalNullable(Schema.String)
}).annotations({ identifier: "FullName" })

/**
 * The type of `FullName`.
 *
 * @since 0.1.0
 */
export type FullName = typeof FullName.Type

const StringOrStrings = Schema.Union(Schema.String, Schema.Array(Schema.String))

const field = <VT extends Schema.Schema.Any, V extends Schema.Schema.Any>(valueType: VT, value: V) =>
  Schema.Struct({ value: Schema.NullOr(value), valueType })

/**
 * Text-like types carry a string, or several strings for multi-value fields (e.g. attendee e-mails).
 *
 * @since 0.1.0
 */
export const TextField = field(
  Schema.Literal("TEXT", "DATETIME", "EMAIL", "URL", "TELEPHONE", "SOCIAL_HANDLE", "MARKDOWN", "SINGLE_SELECT"),
  StringOrStrings
).annotations({ identifier: "TextField" })

/**
 * `NUMBER` and `CURRENCY` fields carry a number.
 *
 * @since 0.1.0
 */
export const NumberField = field(Schema.Literal("NUMBER", "CURRENCY"), Schema.Number)
  .annotations({ identifier: "NumberField" })

/**
 * `CHECKBOX` fields carry a boolean.
 *
 * @since 0.1.0
 */
export const CheckboxField = field(Schema.Literal("CHECKBOX"), Schema.Boolean)
  .annotations({ identifier: "CheckboxField" })

/**
 * `MULTI_SELECT` fields carry option ids.
 *
 * @since 0.1.0
 */
export const MultiSelectField = field(Schema.Literal("MULTI_SELECT"), Schema.Array(Schema.String))
  .annotations({ identifier: "MultiSelectField" })

/**
 * `ADDRESS` fields carry an `Address`.
 *
 * @since 0.1.0
 */
export const AddressField = field(Schema.Literal("ADDRESS"), Address).annotations({ identifier: "AddressField" })

/**
 * `FULL_NAME` fields carry a `FullName`.
 *
 * @since 0.1.0
 */
export const FullNameField = field(Schema.Literal("FULL_NAME"), FullName).annotations({ identifier: "FullNameField" })

/**
 * Deepest nesting accepted inside the value of an unknown value type. JSON nested deeper than this
 * is refused when decoded: whatever later walks the value (`JSON.stringify`, printers, encoders)
 * recurses, and a hostile answer of 10,000 nested arrays would end in a `RangeError` there.
 *
 * @since 0.1.0
 */
export const MaxUnknownDepth = 32

/** Whether `u` nests arrays/objects at most `max` levels deep (walked without recursion). */
const depthAtMost = (u: unknown, max: number): boolean => {
  const stack: Array<readonly [unknown, number]> = [[u, 0]]
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!
    if (typeof value !== "object" || value === null) continue
    if (depth >= max) return false
    for (const child of Array.isArray(value) ? value : Object.values(value)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1])
    }
  }
  return true
}

/**
 * JSON as it came, for value types we do not know: nothing is dropped or reshaped.
 *
 * @since 0.1.0
 */
export const UnknownValue = Schema.Union(
  Schema.String,
  Schema.Number,
  Schema.Boolean,
  Schema.Array(Schema.Unknown),
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
).pipe(
  Schema.filter((u) => depthAtMost(u, MaxUnknownDepth), {
    message: () => `must not nest more than ${MaxUnknownDepth} levels deep`
  })
)

/**
 * A field of an undocumented value type, its value kept as it came (nesting bounded by `MaxUnknownDepth`).
 *
 * @since 0.1.0
 */
export const OtherField = field(OtherValueType, UnknownValue).annotations({ identifier: "OtherField" })

/**
 * One field as read: the variant is chosen by `valueType`.
 *
 * @since 0.1.0
 */
export const Field = Schema.Union(
  TextField,
  NumberField,
  CheckboxField,
  MultiSelectField,
  AddressField,
  FullNameField,
  OtherField
).annotations({ identifier: "Field" })

/**
 * The type of `Field`.
 *
 * @since 0.1.0
 */
export type Field = typeof Field.Type

/**
 * The union of every value a documented field can hold.
 *
 * @since 0.1.0
 */
export type FieldValue = Field["value"]
