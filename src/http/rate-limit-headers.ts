import { tightestWindow, type LimitDecision, type WindowSpec } from '../ratelimit/sliding-window.js'

/**
 * `RateLimit-Policy` (IETF httpapi draft): every window that applies. It depends on the windows
 * only, so callers compute it once per set of windows rather than once per response.
 */
export function rateLimitPolicy(specs: readonly WindowSpec[]): string {
  return specs.map((spec) => `"${spec.name}";q=${spec.limit};w=${Math.round(spec.windowMs / 1000)}`).join(', ')
}

/**
 * `X-RateLimit-*` describe the window closest to running out (Reset in Unix epoch seconds, as
 * GitHub does), next to the windows' `RateLimit-Policy`.
 */
export function rateLimitHeaders(decision: LimitDecision, policy: string): Record<string, string> {
  const tightest = tightestWindow(decision.windows)
  if (!tightest) return {}
  const headers: Record<string, string> = {
    'x-ratelimit-limit': String(tightest.limit),
    'x-ratelimit-remaining': String(tightest.remaining),
    'x-ratelimit-reset': String(tightest.resetAt),
    'ratelimit-policy': policy,
  }
  if (!decision.allowed && decision.retryAfterSeconds !== undefined) headers['retry-after'] = String(decision.retryAfterSeconds)
  return headers
}
