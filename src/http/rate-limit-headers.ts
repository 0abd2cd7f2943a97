import { tightestWindow, type LimitDecision } from '../ratelimit/sliding-window.js'

/**
 * `X-RateLimit-*` describe the window closest to running out (Reset in Unix epoch seconds, as
 * GitHub does); `RateLimit-Policy` (IETF httpapi draft) lists every window that applies.
 */
export function rateLimitHeaders(decision: LimitDecision, windowSeconds: Record<string, number>): Record<string, string> {
  const tightest = tightestWindow(decision.windows)
  if (!tightest) return {}
  const headers: Record<string, string> = {
    'x-ratelimit-limit': String(tightest.limit),
    'x-ratelimit-remaining': String(tightest.remaining),
    'x-ratelimit-reset': String(tightest.resetAt),
    'ratelimit-policy': decision.windows.map((window) => `"${window.name}";q=${window.limit};w=${windowSeconds[window.name] ?? 0}`).join(', '),
  }
  if (!decision.allowed && decision.retryAfterSeconds !== undefined) headers['retry-after'] = String(decision.retryAfterSeconds)
  return headers
}
