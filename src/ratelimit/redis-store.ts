import type { Redis, Result } from 'ioredis'
import { SLIDING_WINDOW_LUA } from './sliding-window-lua.js'
import { decide, type LimitDecision, type WindowCounts, type WindowSpec } from './sliding-window.js'
import type { RateLimitStore } from './store.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    slidingWindow(...args: (string | number)[]): Result<(string | number)[], Context>
  }
}

type Mode = 'consume' | 'peek'

interface Check {
  resolve(decision: LimitDecision): void
  reject(error: unknown): void
}

/** Requests for the same id, windows, mode and clock that arrived in one event-loop turn. */
interface Run {
  id: string
  specs: readonly WindowSpec[]
  mode: Mode
  nowMs: number | undefined
  checks: Check[]
}

/**
 * Shared store: a Lua script on Redis's clock. Every window of an id lives in one hash
 * (`{rl:key:key_…}`, hash-tagged), so each script call touches a single Redis Cluster slot.
 *
 * Requests are collected for one event-loop turn (setImmediate) and sent together: those of the
 * same id go as ONE script call that decides them in arrival order (a busy key's burst of
 * requests costs Redis one script run, not one each), and all calls of the turn leave in one
 * pipelined write and come back in one read. Each request is still checked and counted in one
 * atomic step, in one round trip.
 */
export class RedisStore implements RateLimitStore {
  /** Redis's clock minus ours, learnt from every reply; used to give each command a deadline. */
  private clockOffsetMs = 0
  /** This turn's runs by id (several only when windows, mode or test clock differ). */
  private pending = new Map<string, Run[]>()

  /**
   * @param staleAfterMs the caller's command timeout: a command still queued past it is dropped
   *   by the script, since the caller has already fallen back and counted the request elsewhere.
   */
  constructor(private readonly redis: Redis, private readonly namespace = 'rl', private readonly staleAfterMs?: number) {
    if (typeof (redis as Partial<Redis>).slidingWindow !== 'function') redis.defineCommand('slidingWindow', { lua: SLIDING_WINDOW_LUA })
  }

  consume(id: string, specs: readonly WindowSpec[], nowMs?: number): Promise<LimitDecision> {
    return this.enqueue(id, specs, 'consume', nowMs)
  }

  peek(id: string, specs: readonly WindowSpec[], nowMs?: number): Promise<LimitDecision> {
    return this.enqueue(id, specs, 'peek', nowMs)
  }

  async close(): Promise<void> {}

  private enqueue(id: string, specs: readonly WindowSpec[], mode: Mode, nowMs: number | undefined): Promise<LimitDecision> {
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) setImmediate(this.send)
      let runs = this.pending.get(id)
      if (!runs) this.pending.set(id, runs = [])
      let run = runs.find((candidate) => candidate.mode === mode && candidate.nowMs === nowMs && sameWindows(candidate.specs, specs))
      if (!run) runs.push(run = { id, specs, mode, nowMs, checks: [] })
      run.checks.push({ resolve, reject })
    })
  }

  /** Sends this turn's runs in one pipeline; every check is settled, whatever happens. */
  private readonly send = (): void => {
    const runs = [...this.pending.values()].flat()
    this.pending = new Map()
    const deadline = this.staleAfterMs === undefined ? '' : String(Date.now() + this.clockOffsetMs + this.staleAfterMs)
    let sent: Promise<[Error | null, unknown][] | null>
    try {
      const pipeline = this.redis.pipeline()
      for (const run of runs) {
        const args: (string | number)[] = [1, `{${this.namespace}:${run.id}}`, run.nowMs === undefined ? '' : String(run.nowMs), run.mode,
          run.nowMs === undefined ? deadline : '', run.checks.length]
        for (const spec of run.specs) args.push(spec.windowMs, spec.limit)
        pipeline.slidingWindow(...args)
      }
      sent = pipeline.exec()
    } catch (error) {
      // This runs from setImmediate: a throw here would take the process down, not one request.
      sent = Promise.reject(error)
    }
    sent.then((results) => {
      runs.forEach((run, i) => {
        const [error, reply] = results?.[i] ?? [new Error('rate-limit pipeline returned no result')]
        if (error) return fail(run, error)
        try {
          this.settle(run, reply as (string | number)[])
        } catch (malformed) {
          // A reply we cannot read must reach the callers as an error (fallback or 503), not
          // escape this callback as an unhandled rejection.
          fail(run, malformed)
        }
      })
    }, (error: unknown) => {
      for (const run of runs) fail(run, error)
    })
  }

  private settle(run: Run, reply: (string | number)[]): void {
    const now = Number(reply[1])
    if (run.nowMs === undefined) this.clockOffsetMs = now - Date.now()
    if (Number(reply[0]) === -1) return fail(run, new Error('rate-limit command reached Redis after its deadline; not counted'))
    const stride = 1 + 2 * run.specs.length
    run.checks.forEach((check, k) => {
      const at = 2 + k * stride
      const counts: WindowCounts[] = run.specs.map((_, i) => ({ previous: Number(reply[at + 1 + 2 * i]), current: Number(reply[at + 2 + 2 * i]) }))
      // The script's verdict is authoritative (it is what was counted); the arithmetic is the same.
      check.resolve({ ...decide(run.specs, counts, now), allowed: Number(reply[at]) === 1 })
    })
  }
}

function fail(run: Run, error: unknown): void {
  for (const check of run.checks) check.reject(error)
}

function sameWindows(a: readonly WindowSpec[], b: readonly WindowSpec[]): boolean {
  return a === b || (a.length === b.length && a.every((spec, i) => spec.windowMs === b[i]!.windowMs && spec.limit === b[i]!.limit && spec.name === b[i]!.name))
}
