import fp from 'fastify-plugin'
import { ApiError } from '../src/errors.js'
import { rateLimitHeaders } from '../src/http/rate-limit-headers.js'
import type { WindowSpec } from '../src/ratelimit/sliding-window.js'
import type { PlanLimits } from '../src/plans.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The per-key limiter's answer (null when it was not reached or failed): the usage log records it. */
    rateLimitOutcome: 'allowed' | 'limited' | null
  }
}

const WINDOW_SECONDS = { minute: 60, hour: 3600 }

export function planWindows(limits: PlanLimits): WindowSpec[] {
  return [
    { name: 'minute', windowMs: 60_000, limit: limits.burst },
    { name: 'hour', windowMs: 3_600_000, limit: limits.hourly },
  ]
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
    const decision = await fastify.rateLimitStore.consume(`key:${key.id}`, planWindows(limits))
    request.rateLimitOutcome = decision.allowed ? 'allowed' : 'limited'
    reply.headers(rateLimitHeaders(decision, WINDOW_SECONDS))
    if (!decision.allowed) {
      const window = decision.blockedBy === 'minute' ? `burst limit of ${limits.burst} requests per minute` : `limit of ${limits.hourly} requests per hour`
      throw new ApiError('rate_limited', `This key reached its ${window}; retry in ${decision.retryAfterSeconds} s.`, {
        extensions: { window: decision.blockedBy },
      })
    }
  })
}, { name: 'rate-limit', dependencies: ['ip-allowlist', 'rate-limit-store'] })
