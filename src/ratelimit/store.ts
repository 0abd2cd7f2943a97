import type { LimitDecision, WindowSpec } from './sliding-window.js'

/**
 * Where window counts live: in process (one instance) or in Redis (shared). Both implement the
 * same semantics, so the plugins never know which one they talk to.
 */
export interface RateLimitStore {
  /**
   * Checks every window and, only if all admit the request, counts it in all of them — one atomic
   * step. A refused request is not counted. `nowMs` is for tests; stores use their own clock.
   */
  consume(id: string, specs: readonly WindowSpec[], nowMs?: number): Promise<LimitDecision>
  /** Checks without counting. */
  peek(id: string, specs: readonly WindowSpec[], nowMs?: number): Promise<LimitDecision>
  close(): Promise<void>
}
