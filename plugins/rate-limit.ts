import fp from 'fastify-plugin'
import { ApiError } from '../src/errors.js'
import { rateLimitHeaders, rateLimitPolicy } from '../src/http/rate-limit-headers.js'
import type { WindowSpec } from '../src/ratelimit/sliding-window.js'
import type { PlanLimits } from '../src/plans.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The per-key limiter's answer (null when it was not reached or failed): the usage log records it. */
    rateLimitOutcome: 'allowed' | 'limited' | null
  }
}

export function planWindows(limits: PlanLimits): WindowSpec[] {
  return [
    { name: 'minute', windowMs: 60_000, limit: limits.burst },
    { name: 'hour', windowMs: 3_600_000, limit: limits.hourly },
  ]
}

interface PlanLimiter {
  windows: WindowSpec[]
  policy: string
}

/**
 * A principal's limits object lives as long as its cache entry, so the windows and the policy
 * header are built once per cached key, not once per request.
 */
const limiters = new WeakMap<PlanLimits, PlanLimiter>()
function limiterFor(limits: PlanLimits): PlanLimiter {
  let limiter = limiters.get(limits)
  if (!limiter) {
    const windows = planWindows(limits)
    limiter = { windows, policy: rateLimitPolicy(windows) }
    limiters.set(limits, limiter)
  }
  return limiter
}

/**
 * Step 3: the key's plan — a per-minute burst and an hourly quota, both sliding windows, checked
 * and counted in one atomic step. The headers are set here, before the handler runs, so 2xx, 4xx
 * and 5xx responses alike carry them. A refused request is not counted.
 */
export default fp(async (fastify) => {
  fastify.decorateRequest('rateLimitOutcome', null)
  fastify.addHook('onRequest', async (request, reply) => {
    const { key, limits } = request.principal
    const limiter = limiterFor(limits)
    const decision = await fastify.rateLimitStore.consume(`key:${key.id}`, limiter.windows)
    request.rateLimitOutcome = decision.allowed ? 'allowed' : 'limited'
    reply.headers(rateLimitHeaders(decision, limiter.policy))
    if (!decision.allowed) {
      const window = decision.blockedBy === 'minute' ? `burst limit of ${limits.burst} requests per minute` : `limit of ${limits.hourly} requests per hour`
      throw new ApiError('rate_limited', `This key reached its ${window}; retry in ${decision.retryAfterSeconds} s.`, {
        extensions: { window: decision.blockedBy },
      })
    }
  })
}, { name: 'rate-limit', dependencies: ['ip-allowlist', 'rate-limit-store'] })
