/**
 * Who the cached rows belong to. Every row in every table carries a principal and every query filters
 * on it, so two API keys sharing one cache file never see each other's rows (or each other's
 * redaction level).
 *
 * The principal is a non-reversible fingerprint of the API key: SHA-256 over a fixed
 * domain-separation prefix plus the key, hex, truncated to 32 characters (128 bits). The key itself
 * is never stored. An explicit principal (e.g. a user id) can be used instead; it may not start
 * with `k_`, the namespace of key fingerprints.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { Either, ParseResult, Redacted, Schema } from "effect"

/**
 * Whose rows these are (a branded string: a key fingerprint or a chosen principal).
 *
 * @since 0.1.0
 */
export const Principal = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_.:@-]{1,128}$/),
  Schema.brand("@lightfield-effect/cache/Principal")
)
/**
 * The principal type.
 *
 * @since 0.1.0
 */
export type Principal = typeof Principal.Type

/**
 * Domain separation: a fingerprint made here never equals a hash of the key made elsewhere.
 *
 * @since 0.1.0
 */
export const domainPrefix = "lightfield-effect/cache/principal/v1\u0000"

/**
 * The fingerprint of an API key (accepts a `Redacted` so the key stays wrapped up to here).
 *
 * @since 0.1.0
 */
export const fromApiKey = (apiKey: string | Redacted.Redacted<string>): Principal => {
  const key = Redacted.isRedacted(apiKey) ? Redacted.value(apiKey) : apiKey
  const digest = createHash("sha256").update(domainPrefix).update(key, "utf8").digest("hex")
  return Principal.make(`k_${digest.slice(0, 32)}`)
}

/**
 * The prefix of key-derived principals. Chosen principals may not start with it (in any case), so
 * the two namespaces never meet: an explicit principal can never equal another key's fingerprint.
 *
 * @since 0.1.0
 */
export const keyPrefix = "k_"

/**
 * An explicit principal (letters, digits and `_.:@-`, at most 128 characters, not starting with `k_`).
 *
 * @since 0.1.0
 */
export const make = (value: string): Principal => Principal.make(value)

/**
 * Check an explicit principal without throwing: the principal, or why it is not one.
 *
 * @since 0.1.0
 */
export const validate = (value: string): Either.Either<Principal, string> =>
  value.slice(0, keyPrefix.length).toLowerCase() === keyPrefix
    ? Either.left(`"${keyPrefix}" is reserved for principals derived from API keys; choose another principal`)
    : Either.mapLeft(Schema.decodeUnknownEither(Principal)(value), (e) => ParseResult.TreeFormatter.formatErrorSync(e))
