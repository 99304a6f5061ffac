/** Relationships as read: `{ cardinality, objectType, values }` (spec §5.4). */
import { Schema } from "effect"

/**
 * Documented values are `has_one` and `has_many`; the spec types it as a plain string, so others are kept.
 *
 * @since 0.1.0
 */
export const Cardinality = Schema.Union(Schema.Literal("has_one", "has_many"), Schema.String)

/**
 * A relationship as read: `{ cardinality, objectType, values }` (spec §5.4).
 *
 * @since 0.1.0
 */
export const Relationship = Schema.Struct({
  cardinality: Cardinality,
  objectType: Schema.String,
  values: Schema.Array(Schema.String)
}).annotations({ identifier: "Relationship" })

/**
 * The type of `Relationship`.
 *
 * @since 0.1.0
 */
export type Relationship = typeof Relationship.Type
