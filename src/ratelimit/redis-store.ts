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
 * Shared store: one Lua script, one round trip, Redis's clock. Keys are hash-tagged per id
 * (`{rl:key_…}:minute`) so every key a script touches lives in one Redis Cluster slot.
 */
export class RedisStore implements RateLimitStore {
  constructor(private readonly redis: Redis, private readonly namespace = 'rl') {
    if (typeof (redis as Partial<Redis>).slidingWindow !== 'function') redis.defineCommand('slidingWindow', { lua: SLIDING_WINDOW_LUA })
  }

  consume(id: string, specs: readonly WindowSpec[], nowMs?: number): Promise<LimitDecision> {
    return this.run(id, specs, 'consume', nowMs)
  }

  peek(id: string, specs: readonly WindowSpec[], nowMs?: number): Promise<LimitDecision> {
    return this.run(id, specs, 'peek', nowMs)
  }

  hit(id: string, specs: readonly WindowSpec[], nowMs?: number): Promise<LimitDecision> {
    return this.run(id, specs, 'hit', nowMs)
  }

  async close(): Promise<void> {}

  private async run(id: string, specs: readonly WindowSpec[], mode: string, nowMs?: number): Promise<LimitDecision> {
    const keys = specs.map((spec) => `{${this.namespace}:${id}}:${spec.name}`)
    const args = specs.flatMap((spec) => [spec.windowMs, spec.limit])
    const reply = await this.redis.slidingWindow(keys.length, ...keys, nowMs === undefined ? '' : String(nowMs), mode, ...args)
    const now = Number(reply[1])
    const counts: WindowCounts[] = specs.map((_, i) => ({ previous: Number(reply[2 * i + 2]), current: Number(reply[2 * i + 3]) }))
    const decision = decide(specs, counts, now)
    // The script's verdict is authoritative (it is what was counted); the arithmetic is the same.
    return { ...decision, allowed: Number(reply[0]) === 1 || (mode === 'hit' && decision.allowed) }
  }
}
