/**
 * The `Idempotency-Key` rule (spec §10), for the client, the cache's outbox and the sandbox alike:
 * 1 to 255 characters, printable ASCII (it travels in a header, so CR/LF or other control
 * characters must be refused before a request is built, not fail as a transport error).
 *
 * @since 0.1.0
 */
import { Effect, Either, ParseResult, Schema } from "effect"
import { InvalidParams } from "./MeetingsError.js"

/**
 * The longest key the API accepts (longer: `400`, `code: "idempotency_key_too_long"`).
 *
 * @since 0.1.0
 */
export const MaxLength = 255

/**
 * The request header (lower case, as `Headers` stores names).
 *
 * @since 0.1.0
 */
export const Header = "idempotency-key"

/**
 * The `param` named by errors about the key.
 *
 * @since 0.1.0
 */
export const Param = "Idempotency-Key"

/**
 * A valid key. Branded: get one from `resolve`, `generate` or the schema.
 *
 * @since 0.1.0
 */
export const IdempotencyKey = Schema.String.pipe(
  Schema.minLength(1, { message: () => `${Param} must not be empty` }),
  Schema.maxLength(MaxLength, { message: () => `${Param} must be at most ${MaxLength} characters` }),
  Schema.pattern(/^[\x20-\x7e]*$/, { message: () => `${Param} must be printable ASCII (no control characters)` }),
  Schema.brand("IdempotencyKey")
).annotations({ identifier: "IdempotencyKey" })

/**
 * @since 0.1.0
 */
/**
 * The type of the `IdempotencyKey` schema's values.
 *
 * @since 0.1.0
 */
export type IdempotencyKey = typeof IdempotencyKey.Type

const decode = Schema.decodeEither(IdempotencyKey, { errors: "first" })

/**
 * Checks a caller's key: the first rule it breaks as `InvalidParams{param: "Idempotency-Key"}`.
 *
 * @since 0.1.0
 */
export const validate = (key: string): Either.Either<IdempotencyKey, InvalidParams> =>
  Either.mapLeft(decode(key), (error) =>
    new InvalidParams({
      param: Param,
      message: ParseResult.ArrayFormatter.formatErrorSync(error)[0]?.message ?? `${Param} is invalid`,
      status: 400
    }))

/**
 * A fresh UUID v4 key: one per logical write, reused by all its retries.
 *
 * @since 0.1.0
 */
export const generate: Effect.Effect<IdempotencyKey> = Effect.sync(() => crypto.randomUUID() as IdempotencyKey)

/**
 * The caller's key checked by `validate`, or a fresh one when none was given.
 *
 * @since 0.1.0
 */
export const resolve = (given: string | undefined): Effect.Effect<IdempotencyKey, InvalidParams> =>
  given === undefined ? generate : validate(given)
