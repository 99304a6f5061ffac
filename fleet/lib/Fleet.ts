/**
 * Workers of the fleet for tests: separate Node processes (`fleet/child/worker.ts`) opened on one
 * PostgreSQL mirror and one Redis budget, each job sent to all of them at once and answered with
 * its `DONE` payload; a Redis key prefix of the test's own, removed afterwards.
 */
import { Effect, Option } from "effect"
import type { Scope } from "effect"
import type { Job, OpenArgs } from "../child/worker.js"
import * as Child from "../../reliability/lib/Child.js"

export { redisPrefix, redisUrl } from "../../packages/core/test/fleet/redisPrefix.js"

export interface Worker {
  readonly pid: number
  /** Send a job and wait for its answer (`DONE` payload); a failed job fails the test with its message. */
  readonly run: <A>(job: Job) => Effect.Effect<A>
  /** Send a job without waiting; `answer` waits for it. */
  readonly send: (job: Job) => Effect.Effect<{ readonly answer: <A>() => Effect.Effect<A> }>
  readonly handle: Child.ChildHandle
}

const answers = ["DONE", "FAILED", "DEFECT"] as const

/** Spawn a worker and open it on the mirror and the budget (the layers are built before this returns). */
export const worker = (open: Omit<OpenArgs, "op">): Effect.Effect<Worker, never, Scope.Scope> =>
  Effect.gen(function*() {
    const handle = yield* Child.spawn(new URL("../child/worker.ts", import.meta.url))
    let sent = 0
    const send = (job: Job) =>
      Effect.map(handle.send(job), () => {
        const n = ++sent
        const answer = <A>() =>
          Effect.flatMap(handle.waitForNth(answers, n), (line) => {
            if (Option.isNone(line)) {
              return Effect.dieMessage(`worker ${handle.pid} exited before answering ${job.op}: ${handle.stderr().slice(-2000)}`)
            }
            if (!line.value.startsWith("DONE")) {
              return Effect.dieMessage(`worker ${handle.pid} ${job.op}: ${line.value} ${handle.stderr().slice(-2000)}`)
            }
            return Effect.succeed(JSON.parse(line.value.slice("DONE ".length)) as A)
          })
        return { answer }
      })
    const run = <A>(job: Job) => Effect.flatMap(send(job), (s) => s.answer<A>())
    yield* run({ op: "open", ...open })
    return { pid: handle.pid, run, send, handle }
  })

/** The same job to every worker at once (written to every pipe before any answer is awaited). */
export const all = <A>(workers: ReadonlyArray<Worker>, job: (index: number) => Job): Effect.Effect<ReadonlyArray<A>> =>
  Effect.flatMap(
    Effect.forEach(workers, (w, i) => w.send(job(i))),
    (sent) => Effect.forEach(sent, (s) => s.answer<A>(), { concurrency: "unbounded" })
  )
