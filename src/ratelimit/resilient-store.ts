import { ApiError } from '../errors.js'
import type { LimitDecision, WindowSpec } from './sliding-window.js'
import type { RateLimitStore } from './store.js'

export type RedisErrorPolicy = 'open' | 'closed'

export interface EpisodeListener {
  /** Called once when the primary store starts failing, not once per request. */
  onDegraded(error: unknown): void
  onRecovered(): void
}

/**
 * Wraps the shared store. When it errors (Redis down, or slower than the command timeout):
 * `open` serves from the in-process store for this instance, `closed` refuses with 503. Each call
 * tries the shared store first, so recovery is automatic; counts made in the fallback are never
 * replayed into Redis, so nothing is counted twice.
 */
export class ResilientStore implements RateLimitStore {
  private degraded = false

  constructor(
    private readonly primary: RateLimitStore,
    private readonly fallback: RateLimitStore,
    private readonly policy: RedisErrorPolicy,
    private readonly listener: EpisodeListener,
  ) {}

  consume(id: string, specs: readonly WindowSpec[], nowMs?: number): Promise<LimitDecision> {
    return this.run('consume', id, specs, nowMs)
  }

  peek(id: string, specs: readonly WindowSpec[], nowMs?: number): Promise<LimitDecision> {
    return this.run('peek', id, specs, nowMs)
  }

  async close(): Promise<void> {
    await Promise.all([this.primary.close(), this.fallback.close()])
  }

  private async run(operation: 'consume' | 'peek', id: string, specs: readonly WindowSpec[], nowMs?: number): Promise<LimitDecision> {
    try {
      const decision = await this.primary[operation](id, specs, nowMs)
      if (this.degraded) {
        this.degraded = false
        this.listener.onRecovered()
      }
      return decision
    } catch (error) {
      if (!this.degraded) {
        this.degraded = true
        this.listener.onDegraded(error)
      }
      if (this.policy === 'closed') {
        throw new ApiError('service_unavailable', 'Rate limiting is temporarily unavailable; retry shortly.', { headers: { 'retry-after': '1' } })
      }
      return this.fallback[operation](id, specs, nowMs)
    }
  }
}
