import type { Redis, Result } from 'ioredis'
import { SLIDING_WINDOW_LUA } from './sliding-window-lua.js'
import { decide, type LimitDecision, type WindowCounts, type WindowSpec } from './sliding-window.js'
import type { RateLimitStore } from './store.js'

declare module 'ioredis' {
  interface RedisCommander<Context> {
    slidingWindow(...args: (string | number)[]): Result<(string | number)[], Context>
  }
}

/**
 * Shared store: one Lua script, one round trip, Redis's clock. Every window of an id lives in one
 * hash (`{rl:key:key_…}`, hash-tagged), so the script touches a single Redis Cluster slot.
 */
export class RedisStore implements RateLimitStore {
  /** Redis's clock minus ours, learnt from every reply; used to give each command a deadline. */
  private clockOffsetMs = 0

  /**
   * @param staleAfterMs the caller's command timeout: a command still queued past it is dropped
   *   by the script, since the caller has already fallen back and counted the request elsewhere.
   */
  constructor(private readonly redis: Redis, private readonly namespace = 'rl', private readonly staleAfterMs?: number) {
    if (typeof (redis as Partial<Redis>).slidingWindow !== 'function') redis.defineCommand('slidingWindow', { lua: SLIDING_WINDOW_LUA })
  }

  consume(id: string, specs: readonly WindowSpec[], nowMs?: number): Promise<LimitDecision> {
    return this.run(id, specs, 'consume', nowMs)
  }

  peek(id: string, specs: readonly WindowSpec[], nowMs?: number): Promise<LimitDecision> {
    return this.run(id, specs, 'peek', nowMs)
  }

  async close(): Promise<void> {}

  private async run(id: string, specs: readonly WindowSpec[], mode: string, nowMs?: number): Promise<LimitDecision> {
    const deadline = nowMs === undefined && this.staleAfterMs !== undefined ? String(Date.now() + this.clockOffsetMs + this.staleAfterMs) : ''
    const args: (string | number)[] = [1, `{${this.namespace}:${id}}`, nowMs === undefined ? '' : String(nowMs), mode, deadline]
    for (const spec of specs) args.push(spec.windowMs, spec.limit)
    const reply = await this.redis.slidingWindow(...args)
    const now = Number(reply[1])
    if (nowMs === undefined) this.clockOffsetMs = now - Date.now()
    if (Number(reply[0]) === -1) throw new Error('rate-limit command reached Redis after its deadline; not counted')
    const counts: WindowCounts[] = specs.map((_, i) => ({ previous: Number(reply[2 * i + 2]), current: Number(reply[2 * i + 3]) }))
    // The script's verdict is authoritative (it is what was counted); the arithmetic is the same.
    return { ...decide(specs, counts, now), allowed: Number(reply[0]) === 1 }
  }
}
