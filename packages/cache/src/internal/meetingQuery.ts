/**
 * A `MeetingQuery` as SQL: the `WHERE` fragments over `meetings m`, checked first. Bad input (a bound
 * that is not a date, text over the limits, a negative limit) is `CacheError{reason: "InvalidQuery"}`
 * naming the field, before SQLite sees anything.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as Statement from "@effect/sql/Statement"
import { DateTime, Either, Option } from "effect"
import { CacheError } from "../CacheError.js"
import type { MeetingQuery } from "../MeetingQuery.js"
import { maxSearchLength, maxSearchTerms } from "../MeetingQuery.js"
import type { Principal } from "../Principal.js"
import * as Dialect from "./dialect.js"
import * as Check from "./options.js"

const invalid = (message: string) => new CacheError({ reason: "InvalidQuery", message: `MeetingQuery.${message}` })

/** A query bound as epoch millis. */
const toMillis = (
  field: "from" | "to",
  input: DateTime.DateTime | Date | string | undefined
): Either.Either<number | undefined, CacheError> => {
  if (input === undefined) return Either.right(undefined)
  if (DateTime.isDateTime(input)) return Either.right(DateTime.toEpochMillis(input))
  return Option.match(DateTime.make(input), {
    onNone: () =>
      Either.left(
        invalid(`${field} is not a valid date: ${typeof input === "string" ? JSON.stringify(input) : String(input)}`)
      ),
    onSome: (dt) => Either.right(DateTime.toEpochMillis(dt))
  })
}

/** The FTS query for `text`, or why it is refused. */
const searchQuery = (text: string): Either.Either<string | undefined, CacheError> => {
  if (text.length > maxSearchLength) {
    return Either.left(invalid(`text is longer than ${maxSearchLength} characters (${text.length})`))
  }
  const words = Dialect.searchWords(text).length
  if (words > maxSearchTerms) return Either.left(invalid(`text has more than ${maxSearchTerms} words (${words})`))
  return Either.right(Dialect.ftsQuery(text))
}

/** The `WHERE` fragments of a query (alias `m`). */
export const conditions = (
  sql: SqlClient.SqlClient,
  principal: Principal,
  q: MeetingQuery
): Either.Either<Array<Statement.Fragment>, CacheError> => {
  const from = toMillis("from", q.from)
  if (Either.isLeft(from)) return Either.left(from.left)
  const to = toMillis("to", q.to)
  if (Either.isLeft(to)) return Either.left(to.left)
  const where: Array<Statement.Fragment> = [sql`m.principal = ${principal}`, sql`m.gone = 0`]
  if (q.includePending === false) where.push(sql`m.pending = 0`)
  if (from.right !== undefined) where.push(sql`m.start_date >= ${from.right}`)
  if (to.right !== undefined) where.push(sql`m.start_date < ${to.right}`)
  if (q.organizer !== undefined) where.push(sql`m.organizer = ${q.organizer.trim().toLowerCase()}`)
  if (q.accessLevel !== undefined) where.push(sql`m.access_level = ${q.accessLevel}`)
  if (q.attendee !== undefined) {
    where.push(
      sql`m.id IN (SELECT a.meeting_id FROM meeting_attendees a WHERE a.principal = ${principal} AND a.email = ${q.attendee.trim().toLowerCase()})`
    )
  }
  if (q.text !== undefined) {
    const match = searchQuery(q.text)
    if (Either.isLeft(match)) return Either.left(match.left)
    // Text without a single word matches nothing.
    where.push(match.right === undefined ? sql`1 = 0` : Dialect.fullTextCondition(sql, q.text))
  }
  return Either.right(where)
}

/** `limit` (default 100) and `offset` (default 0), non-negative integers. */
export const paging = (q: MeetingQuery): Either.Either<{ readonly limit: number; readonly offset: number }, CacheError> => {
  const limit = Either.mapLeft(Check.integer("limit", q.limit ?? 100, { min: 0 }), invalid)
  if (Either.isLeft(limit)) return Either.left(limit.left)
  const offset = Either.mapLeft(Check.integer("offset", q.offset ?? 0, { min: 0 }), invalid)
  if (Either.isLeft(offset)) return Either.left(offset.left)
  return Either.right({ limit: limit.right, offset: offset.right })
}
