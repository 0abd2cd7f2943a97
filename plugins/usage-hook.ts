import fp from 'fastify-plugin'
import { redactKeys } from '../src/logger.js'

/** Longest user agent kept; beyond that it is noise (and someone else's storage bill). */
export const MAX_USER_AGENT_LENGTH = 256

/** What the log shows as the route of a request that matched none. */
export const NOT_FOUND_ROUTE = '(not found)'

/**
 * Records every /api/v1 request that got past authentication and the IP allowlist, once its
 * response has been sent. The hook only copies fields into a buffer: no parsing, no I/O, no
 * promise (callback style), and it is not installed at all when usage logging is off.
 */
export default fp(async (fastify) => {
  const { usageLog } = fastify
  if (!usageLog.enabled) return
  fastify.addHook('onResponse', (request, reply, done) => {
    if (request.admitted) {
      const latency = reply.elapsedTime
      const userAgent = request.headers['user-agent']
      usageLog.record({
        id: request.id,
        accountId: request.principal.account.id,
        keyId: request.principal.key.id,
        method: request.method,
        route: request.routeOptions.url ?? NOT_FOUND_ROUTE,
        status: reply.statusCode,
        latencyMs: Math.round(latency),
        clientIp: request.ip,
        // The log is served back by GET /keys/{id}/logs: a key pasted into a user agent stays out of it.
        userAgent: userAgent === undefined ? null : redactKeys(userAgent.slice(0, MAX_USER_AGENT_LENGTH)),
        // null (the limiter itself failed: a 503) is no refusal by the key's plan.
        rateLimit: request.rateLimitOutcome === 'limited' ? 'limited' : 'allowed',
        createdAt: new Date(Date.now() - latency),
      })
    }
    done()
  })
}, { name: 'usage-hook', dependencies: ['usage-log', 'ip-allowlist', 'rate-limit', 'scopes'] })
