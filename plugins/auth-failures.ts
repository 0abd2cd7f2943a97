import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import ipaddr from 'ipaddr.js'
import { LRUCache } from 'lru-cache'
import { ApiError } from '../src/errors.js'
import { parseClientAddress } from '../src/cidr.js'
import { rateLimitHeaders, rateLimitPolicy } from '../src/http/rate-limit-headers.js'
import type { WindowSpec } from '../src/ratelimit/sliding-window.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Refuses at once (429) a client address that has failed authentication too often. */
    guardAuthAttempts(request: FastifyRequest, reply: FastifyReply): void
    /** Counts and records a failed authentication against the client address, then throws `error`. */
    refuseAuthentication(request: FastifyRequest, reply: FastifyReply, error: ApiError, subject?: AuthFailureSubject): Promise<never>
  }
}

/** What is known of the key behind a failed authentication. Never the presented key itself. */
export interface AuthFailureSubject {
  /** The display prefix, only when the presented value had a key's shape. */
  keyPrefix?: string | null
  /** Set when the key was identified (revoked, expired, outside its allowlist). */
  accountId?: string | null
  keyId?: string | null
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
 * block every attempt once over. The same sliding-window store as the per-key limiter counts the
 * failures (only failures pay for a round trip); the block itself is known in process.
 */
export default fp(async (fastify) => {
  const spec: WindowSpec = { name: 'auth_failures', windowMs: 60_000, limit: fastify.config.AUTH_FAILURES_PER_MINUTE }
  const policy = rateLimitPolicy([spec])

  // Addresses over the limit, with the time their estimate drops back under it. Learnt from this
  // instance's own counting and from every other instance over the event bus, so the check made
  // on every request is a local lookup: the hot path spends no Redis round trip on it.
  const blocked = new LRUCache<string, number>({ max: 100_000 })
  fastify.cacheBus.subscribe((event) => {
    if (event.type === 'client.blocked') blocked.set(event.bucket, event.until, { ttl: Math.max(1, event.until - Date.now()) })
  })

  function refuseBlocked(reply: FastifyReply, until: number): never {
    const retryAfterSeconds = Math.max(1, Math.ceil((until - Date.now()) / 1000))
    reply.headers(rateLimitHeaders({
      allowed: false,
      windows: [{ name: spec.name, limit: spec.limit, remaining: 0, resetAt: Math.ceil(until / 1000) }],
      retryAfterSeconds,
    }, policy))
    throw new ApiError('too_many_failed_attempts', `Too many failed authentication attempts from this address; retry in ${retryAfterSeconds} s.`)
  }

  fastify.decorate('guardAuthAttempts', (request: FastifyRequest, reply: FastifyReply) => {
    // Nothing blocked anywhere (the usual state): not even the address needs parsing.
    if (blocked.size === 0) return
    const until = blocked.get(clientBucket(request.ip))
    if (until !== undefined && until > Date.now()) refuseBlocked(reply, until)
  })

  fastify.decorate('refuseAuthentication', async (request: FastifyRequest, reply: FastifyReply, error: ApiError, subject: AuthFailureSubject = {}): Promise<never> => {
    fastify.usageLog.recordFailedAuth({
      clientIp: request.ip,
      keyPrefix: subject.keyPrefix ?? null,
      accountId: subject.accountId ?? null,
      keyId: subject.keyId ?? null,
      reason: error.code,
      createdAt: new Date(),
    })
    const bucket = clientBucket(request.ip)
    const id = `authfail:${bucket}`
    const decision = await fastify.rateLimitStore.consume(id, [spec])
    if (!decision.allowed) {
      // Already over (another instance counted the rest before its event reached us).
      const until = Date.now() + (decision.retryAfterSeconds ?? 1) * 1000
      void fastify.cacheBus.publish({ type: 'client.blocked', bucket, until })
      refuseBlocked(reply, until)
    }
    reply.headers(rateLimitHeaders(decision, policy))
    if (decision.windows[0]!.remaining === 0) {
      // That was the last failure allowed: from now on every attempt from here is refused.
      const next = await fastify.rateLimitStore.peek(id, [spec])
      void fastify.cacheBus.publish({ type: 'client.blocked', bucket, until: Date.now() + (next.retryAfterSeconds ?? 1) * 1000 })
    }
    throw error
  })
}, { name: 'auth-failures', dependencies: ['config', 'rate-limit-store', 'usage-log', 'cache-bus'] })
