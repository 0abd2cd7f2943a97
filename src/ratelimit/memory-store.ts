import { LRUCache } from 'lru-cache'
import { bucketOf, decide, type LimitDecision, type WindowCounts, type WindowSpec } from './sliding-window.js'
import type { RateLimitStore } from './store.js'

interface Bucketed {
  bucket: number
  previous: number
  current: number
}

/**
 * In-process store: exact and atomic within one process (JavaScript runs one step at a time), not
 * shared between instances. Bounded by an LRU so a scan of random ids cannot grow memory forever.
 */
export class MemoryStore implements RateLimitStore {
  private readonly windows = new LRUCache<string, Bucketed>({ max: 200_000 })

  constructor(private readonly clock: () => number = Date.now) {}

  async consume(id: string, specs: readonly WindowSpec[], nowMs?: number): Promise<LimitDecision> {
    return this.apply(id, specs, nowMs ?? this.clock(), 'consume')
  }

  async peek(id: string, specs: readonly WindowSpec[], nowMs?: number): Promise<LimitDecision> {
    return this.apply(id, specs, nowMs ?? this.clock(), 'peek')
  }

  async close(): Promise<void> {
    this.windows.clear()
  }

  private apply(id: string, specs: readonly WindowSpec[], nowMs: number, mode: 'consume' | 'peek'): LimitDecision {
    const states = specs.map((spec) => this.roll(`${id}:${spec.name}`, spec, nowMs))
    const counts: WindowCounts[] = states.map(({ previous, current }) => ({ previous, current }))
    const decision = decide(specs, counts, nowMs)
    if (mode === 'consume' && decision.allowed) {
      specs.forEach((spec, i) => {
        states[i]!.current += 1
        this.windows.set(`${id}:${spec.name}`, states[i]!, { ttl: spec.windowMs * 2 })
      })
    }
    return decision
  }

  /** The window's counts as of now, with buckets shifted forward if time has moved on. */
  private roll(key: string, spec: WindowSpec, nowMs: number): Bucketed {
    const bucket = bucketOf(nowMs, spec.windowMs)
    const stored = this.windows.get(key)
    if (!stored) return { bucket, previous: 0, current: 0 }
    if (stored.bucket === bucket) return { ...stored }
    if (stored.bucket === bucket - 1) return { bucket, previous: stored.current, current: 0 }
    return { bucket, previous: 0, current: 0 }
  }
}
