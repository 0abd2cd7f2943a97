import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import ipaddr from 'ipaddr.js'
import { ApiError } from '../src/errors.js'
import { parseClientAddress } from '../src/cidr.js'
import { rateLimitHeaders } from '../src/http/rate-limit-headers.js'
import type { WindowSpec } from '../src/ratelimit/sliding-window.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Refuses at once (429) a client address that has failed authentication too often. */
    guardAuthAttempts(request: FastifyRequest, reply: FastifyReply): Promise<void>
    /** Counts a failed authentication against the client address, then throws `error`. */
    refuseAuthentication(request: FastifyRequest, reply: FastifyReply, error: ApiError): Promise<never>
  }
}

/**
 * A client is its address; an IPv6 client is its /64, since one host commonly holds a whole /64
 * and could otherwise rotate through addresses to dodge the limit.
 */
export function clientBucket(ip: string): string {
  const address = parseClientAddress(ip)
  if (!address) return `ip:${ip}`
  if (address.kind() === 'ipv4') return `ip:${address.toString()}`
  return `ip6:${ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/64`).toString()}/64`
}

/**
 * The per-client-address failed-authentication limiter. Failures are counted here, never against
 * a key's quota, so a stolen key prefix or a scanner cannot spend a customer's requests.
 *
 * @fastify/rate-limit is not used for this: it counts every request at onRequest and cannot ask
 * "is this address blocked?" without counting, while this limiter must count failures only and
 * block every attempt once over. The same sliding-window store as the per-key limiter serves it.
 */
export default fp(async (fastify) => {
  const spec: WindowSpec = { name: 'auth_failures', windowMs: 60_000, limit: fastify.config.AUTH_FAILURES_PER_MINUTE }
  const windowSeconds = { auth_failures: 60 }

  fastify.decorate('guardAuthAttempts', async (request: FastifyRequest, reply: FastifyReply) => {
    const decision = await fastify.rateLimitStore.peek(`authfail:${clientBucket(request.ip)}`, [spec])
    if (decision.allowed) return
    reply.headers(rateLimitHeaders(decision, windowSeconds))
    throw new ApiError('too_many_failed_attempts', `Too many failed authentication attempts from this address; retry in ${decision.retryAfterSeconds} s.`)
  })

  fastify.decorate('refuseAuthentication', async (request: FastifyRequest, reply: FastifyReply, error: ApiError): Promise<never> => {
    const decision = await fastify.rateLimitStore.hit(`authfail:${clientBucket(request.ip)}`, [spec])
    const headers = rateLimitHeaders({ ...decision, allowed: true }, windowSeconds)
    reply.headers(headers)
    throw error
  })
}, { name: 'auth-failures', dependencies: ['config', 'rate-limit-store'] })
