/**
 * Reading an answer's body with a size cap. A body whose `Content-Length` is within the cap is read
 * as text (the HTTP client stops at the declared length); one that declares more is refused before
 * it is read; one without a length (chunked) or with a `Content-Encoding` is read as a stream whose
 * bytes are counted, and abandoned as soon as they pass the cap. Nothing larger than the cap is
 * ever held.
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Headers from "@effect/platform/Headers"
import { Effect, Option, Stream } from "effect"
import { headerNumber } from "./rateLimitHeaders.js"

/** The body, or how far it went past the cap (`bytes` is a lower bound when it was cut short). */
export type Body =
  | { readonly _tag: "Text"; readonly text: string }
  | { readonly _tag: "TooLarge"; readonly bytes: number }

const decoder = new TextDecoder()

const concat = (chunks: ReadonlyArray<Uint8Array>, bytes: number): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(bytes)
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.length
  }
  return out
}

/**
 * Reads `response`'s body, at most `maxBytes` of it. `headers` are the response's, when the caller
 * has them already (a platform response may build its `headers` afresh on every access).
 */
export const read = (
  response: HttpClientResponse.HttpClientResponse,
  maxBytes: number,
  headers: Headers.Headers = response.headers
): Effect.Effect<Body, HttpClientError.ResponseError> => {
  // A compressed body's length says nothing about what it inflates to: count it as it comes.
  const encoded = Headers.get(headers, "content-encoding").pipe(
    Option.exists((e) => e.trim().toLowerCase() !== "identity")
  )
  const declared = encoded ? Option.none() : headerNumber(headers, "content-length")
  if (Option.isSome(declared) && declared.value <= maxBytes) {
    return Effect.map(response.text, (text): Body => ({ _tag: "Text", text }))
  }
  if (Option.isSome(declared)) {
    // Refused unread; taking one chunk lets the stream's finaliser release the connection.
    return response.stream.pipe(
      Stream.take(1),
      Stream.runDrain,
      Effect.ignore,
      Effect.as<Body>({ _tag: "TooLarge", bytes: declared.value })
    )
  }
  return Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    return response.stream.pipe(
      // Stops pulling (and the stream's finaliser releases the connection) once past the cap.
      Stream.runFoldWhile({ bytes: 0, over: false }, (s) => !s.over, (s, chunk) => {
        const bytes = s.bytes + chunk.length
        if (bytes > maxBytes) return { bytes, over: true }
        chunks.push(chunk)
        return { bytes, over: false }
      }),
      Effect.map(({ bytes, over }): Body =>
        over ? { _tag: "TooLarge", bytes } : { _tag: "Text", text: decoder.decode(concat(chunks, bytes)) }
      )
    )
  })
}
