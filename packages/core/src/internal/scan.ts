/**
 * `Meetings.stream` (and `streamWire`): every meeting once, over offset pages that shift while they are read.
 */
import { Array as Arr, Chunk, Effect, Exit, Option, Ref, Stream } from "effect"
import type { ListMeetingsParams } from "../MeetingParams.js"
import { MaxLimit } from "../MeetingParams.js"
import type { CallOptions, StreamOptions, StreamProgress } from "../Meetings.js"
import type { MeetingsError } from "../MeetingsError.js"
import { InvalidParams } from "../MeetingsError.js"

/** Offsets of the first-seen listing covered by the pages received so far: `[from, to)`. */
interface Covered {
  readonly from: number
  readonly to: number
}

interface ScanState {
  /** `totalCount` of the first page: the listing every existing id must be found in. */
  readonly initialTotal: number
  readonly latestTotal: number
  /** The initial listing's `[0, reach)` is covered by the pages received so far. */
  readonly reach: number
  readonly pages: number
}

/** The first offset of the initial listing no page has covered yet. */
const firstGap = (state: ScanState): Option.Option<number> =>
  state.reach < state.initialTotal ? Option.some(state.reach) : Option.none()

/**
 * Adds a page's interval to the coverage `[0, reach)` and returns the new reach. Pages that land
 * beyond the reach (they came back out of order, or a gap precedes them) wait in `ahead`, sorted by
 * `from`, until the reach grows up to them: each page is handled in O(|ahead|), which stays about
 * the page concurrency, instead of re-sorting every interval seen so far.
 */
const extendReach = (reach: number, ahead: Array<Covered>, page: Covered): number => {
  if (page.from > reach) {
    let i = ahead.length
    while (i > 0 && ahead[i - 1]!.from > page.from) i--
    ahead.splice(i, 0, page)
    return reach
  }
  let next = Math.max(reach, page.to)
  while (ahead.length > 0 && ahead[0]!.from <= next) next = Math.max(next, ahead.shift()!.to)
  return next
}

/**
 * `Stream.mapEffect(f, { concurrency })` for a list known up front, whose results are chunks: the
 * chunks' elements in input order, with at most `concurrency` results fetched or in flight ahead
 * of the consumer (a slot is given back when the consumer asks for the next result, so the fetches
 * go on while it works). `Stream.mapEffect` does the same through a queue of deferreds and a fiber per
 * element (~0.4 ms per page of a full sync, about as much as fetching and decoding it). Here
 * `concurrency` worker fibers, forked into the stream's scope, take the items in turn and hand each
 * result over as soon as it is there; nothing is built per element but its `Exit`.
 *
 * Workers, not a fiber per element: besides the fork and the await per page, values passed out of
 * fibers forked per element were promoted to V8's old generation, where they stayed until a
 * mark-compact (measured over 800 pages fetched with plain `fetch` in Effect: 42 MB promoted with a
 * fiber per page, 10 MB with four workers; in `Meetings.streamWire` 72 -> 65 MB, most of the rest
 * being the per-attempt timeout's fork and the platform's body read; CPU per page 0.1-0.5 ms less
 * in the first measurements, within noise in later ones). When the stream ends early, fails or is interrupted, the scope interrupts the workers. A
 * failure surfaces when its element's turn comes; once it is in, no worker starts another item.
 */
const inOrder = <I, A, E>(
  items: ReadonlyArray<I>,
  concurrency: number,
  f: (item: I) => Effect.Effect<Chunk.Chunk<A>, E>
): Stream.Stream<A, E> =>
  Stream.unwrapScoped(
    Effect.map(Effect.scope, (scope) => {
      // Results that arrived before their turn, by index (a page at most `concurrency` ahead).
      const early = new Map<number, Exit.Exit<Chunk.Chunk<A>, E>>()
      let taken = 0
      let emitted = 0
      let failed = false
      // The consumer, when it waits for the result of index `emitted`.
      let waiting: ((exit: Exit.Exit<Chunk.Chunk<A>, E>) => void) | undefined
      // A permit per result fetched or in flight ahead of the consumer; one comes back each time
      // the consumer asks for the next result (`released` counts those given back).
      const slots = Effect.unsafeMakeSemaphore(concurrency)
      let released = 0
      const next = Effect.suspend(() => (failed || taken >= items.length ? Effect.void : Effect.zipRight(slots.take(1), work)))
      const work: Effect.Effect<void> = Effect.suspend(() => {
        if (failed || taken >= items.length) return Effect.void
        const index = taken++
        return Effect.flatMap(Effect.exit(f(items[index]!)), (exit) => {
          if (Exit.isFailure(exit)) failed = true
          const consumer = waiting
          if (consumer !== undefined && index === emitted) {
            waiting = undefined
            consumer(exit)
          } else {
            early.set(index, exit)
          }
          return next
        })
      })
      const emit = (exit: Exit.Exit<Chunk.Chunk<A>, E>): Effect.Effect<Chunk.Chunk<A>, Option.Option<E>> => {
        emitted++
        return Exit.isSuccess(exit) ? Effect.succeed(exit.value) : Effect.mapError(exit, Option.some)
      }
      /** The result of index `emitted` if it is there (taken out of `early`). */
      const takeEarly = () => {
        const ready = early.get(emitted)
        if (ready !== undefined) early.delete(emitted)
        return ready
      }
      const pull: Effect.Effect<Chunk.Chunk<A>, Option.Option<E>> = Effect.suspend(() => {
        // Asked for the next result: the previous one is taken, and its permit goes back.
        const give = released < emitted ? slots.release(emitted - released) : Effect.void
        released = emitted
        return Effect.zipRight(give, takeNext)
      })
      const takeNext: Effect.Effect<Chunk.Chunk<A>, Option.Option<E>> = Effect.suspend(() => {
        if (emitted >= items.length) return Effect.fail(Option.none())
        const ready = takeEarly()
        if (ready !== undefined) return emit(ready)
        return Effect.async<Chunk.Chunk<A>, Option.Option<E>>((resume) => {
          // Looked up again: the result may have come while this fiber yielded.
          const arrived = takeEarly()
          if (arrived !== undefined) return resume(emit(arrived))
          waiting = (exit) => resume(emit(exit))
          return Effect.sync(() => {
            waiting = undefined
          })
        })
      })
      const workers = Math.min(concurrency, items.length)
      return Stream.concat(
        Stream.execute(Effect.forEach(Arr.makeBy(workers, () => next), (w) => Effect.forkIn(w, scope), { discard: true })),
        Stream.repeatEffectChunkOption(pull)
      )
    })
  )

/**
 * Every meeting once, page by page. New meetings are listed first, so inserts during the scan shift
 * older ones to later offsets: a page at `offset` read while `totalCount` had grown by `d` shows the
 * initial listing's `[offset - d, offset - d + n)`. Pages planned from the first `totalCount` are
 * fetched with bounded concurrency; duplicates from the shift are dropped by id; then any part of
 * the initial listing no page covered (items shifted past a page boundary, the tail pushed beyond
 * the planned pages, or a page answered with fewer items than asked) is fetched at its shifted
 * offset until everything is covered and the end rule (`offset + n >= totalCount`) held for the
 * tail. "Fewer than `limit`" alone does not end the scan: it would let a short page pass as the end.
 */
export const scan = <Item extends { readonly id: string }>(
  /**
   * One page; the scan builds its params from the checked page size (they need no decoding). Its
   * items are `Meeting`s (`Meetings.stream`) or validated wire meetings (`Meetings.streamWire`).
   */
  list: (
    params: ListMeetingsParams,
    options: CallOptions
  ) => Effect.Effect<{ readonly data: ReadonlyArray<Item>; readonly totalCount: number }, MeetingsError>,
  options: StreamOptions | undefined
): Stream.Stream<Item, MeetingsError> =>
  Stream.unwrap(
    Effect.gen(function*() {
      const limit = options?.pageSize ?? MaxLimit
      if (!Number.isInteger(limit) || limit < 1 || limit > MaxLimit) {
        return yield* new InvalidParams({
          param: "pageSize",
          message: `pageSize must be an integer from 1 to ${MaxLimit}`,
          status: 400
        })
      }
      const concurrency = Math.max(1, Math.floor(options?.concurrency ?? 2))
      const callOptions: CallOptions = options?.timeout === undefined ? {} : { timeout: options.timeout }
      // The ids emitted so far: a mutable set local to this run of the stream (adding an id is O(1);
      // an immutable set would be copied on every page, O(N²/pageSize) over a large listing). It is
      // only touched inside `Ref.modify`, so concurrent pages update it one at a time.
      const seen = new Set<string>()
      // Covered intervals past the reach; like `seen`, only touched inside `Ref.modify`.
      const ahead: Array<Covered> = []
      const state = yield* Ref.make<ScanState>({
        initialTotal: 0,
        latestTotal: 0,
        reach: 0,
        pages: 0
      })

      const onProgress = options?.onProgress

      /** One page: its new meetings, and how many items it held. */
      const fetchPage = (offset: number): Effect.Effect<readonly [Chunk.Chunk<Item>, number], MeetingsError> =>
        Effect.flatMap(list({ limit, offset }, callOptions), (page) =>
          Effect.flatMap(
            Ref.modify(state, (s): [readonly [Chunk.Chunk<Item>, number, StreamProgress], ScanState] => {
              const initialTotal = s.pages === 0 ? page.totalCount : s.initialTotal
              const drift = page.totalCount - initialTotal
              const n = page.data.length
              // Only `totalCount` ends the listing: a page shorter than `limit` before it (a server
              // or index answering short) covers what it holds, and the gap after it is asked again.
              const ended = offset + n >= page.totalCount
              const from = offset - drift
              const fresh = page.data.filter((m) => !seen.has(m.id))
              for (const m of fresh) seen.add(m.id)
              const next: ScanState = {
                initialTotal,
                latestTotal: page.totalCount,
                reach: extendReach(s.reach, ahead, { from, to: ended ? Number.POSITIVE_INFINITY : from + n }),
                pages: s.pages + 1
              }
              const progress: StreamProgress = { pages: next.pages, items: seen.size, totalCount: page.totalCount, complete: false }
              return [[Chunk.unsafeFromArray(fresh), n, progress], next]
            }),
            ([chunk, n, progress]) =>
              onProgress === undefined ? Effect.succeed([chunk, n] as const) : Effect.as(onProgress(progress), [chunk, n] as const)
          ))
      const fetchChunk = (offset: number) => Effect.map(fetchPage(offset), ([chunk]) => chunk)

      const first = Stream.flattenChunks(Stream.fromEffect(fetchChunk(0)))

      // The remaining pages of the first `totalCount` (none if the first page already ended).
      const planned = Stream.unwrap(
        Effect.map(Ref.get(state), (s) => {
          const pages = Option.isSome(firstGap(s)) ? Math.ceil(s.initialTotal / limit) - 1 : 0
          return inOrder(Arr.makeBy(Math.max(0, pages), (i) => (i + 1) * limit), concurrency, fetchChunk)
        })
      )

      // Each gap fetch covers at least the gap's first offset unless more meetings were inserted in
      // between; bound the extra pages so an endless stream of inserts cannot keep us here forever.
      const gapOffset = Effect.map(Ref.get(state), (s) =>
        Option.map(firstGap(s), (gap) => Math.max(0, gap + s.latestTotal - s.initialTotal))
      )
      const gaps = Stream.unwrap(
        Effect.map(Ref.get(state), (s) => {
          const maxExtraPages = Math.ceil(s.initialTotal / limit) + 10
          return Stream.paginateChunkEffect(
            { offset: Option.none<number>(), extra: 0 },
            ({ extra, offset }): Effect.Effect<
              readonly [Chunk.Chunk<Item>, Option.Option<{ offset: Option.Option<number>; extra: number }>],
              MeetingsError
            > =>
              Effect.gen(function*() {
                const [chunk, n] = Option.isSome(offset) ? yield* fetchPage(offset.value) : [Chunk.empty<Item>(), -1]
                const next = yield* gapOffset
                if (Option.isSome(next) && n === 0) {
                  // The server says more exist but answers none where they should be: asking again
                  // would get the same; the scan ends incomplete (no reconciling on it).
                  yield* Effect.logWarning("Lightfield stream ended incomplete: an empty page before totalCount")
                  return [chunk, Option.none()] as const
                }
                if (Option.isSome(next) && extra >= maxExtraPages) {
                  yield* Effect.logWarning("Lightfield stream stopped filling gaps: meetings kept being inserted")
                  return [chunk, Option.none()] as const
                }
                return [chunk, Option.map(next, (o) => ({ offset: Option.some(o), extra: extra + 1 }))] as const
              })
          )
        })
      )

      // The closing event says whether the scan covered the whole listing.
      const closing = Stream.execute(
        Effect.flatMap(Ref.get(state), (s) => {
          const progress: StreamProgress = {
            pages: s.pages,
            items: seen.size,
            totalCount: s.latestTotal,
            complete: Option.isNone(firstGap(s))
          }
          return Effect.logDebug("Lightfield stream done").pipe(
            Effect.annotateLogs({ ...progress }),
            Effect.zipRight(options?.onProgress === undefined ? Effect.void : options.onProgress(progress))
          )
        })
      )

      return Stream.concat(Stream.concat(Stream.concat(first, planned), gaps), closing)
    })
  ).pipe(Stream.withSpan("Meetings.stream"))
