import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ApiError } from '../src/errors.js'
import { extractCredential } from '../src/auth/credentials.js'
import type { Principal } from '../src/auth/verifier.js'
import { isRotationDueSoon, rotationDueAt } from '../src/keys/hygiene.js'
import type { Actor } from '../src/audit/record.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on every /api/v1 request that reaches a handler. */
    principal: Principal
    /** Who is acting, for the audit log: the calling key and the client address. */
    readonly actor: Actor
  }
}

const CHALLENGE = 'Bearer realm="voxpria"'
const REASON_DETAIL = {
  invalid_api_key: 'The API key is not valid.',
  expired_api_key: 'The API key has expired. Create or rotate a key.',
  revoked_api_key: 'The API key has been revoked.',
} as const

/**
 * Step 1 of the pipeline: who is calling. Shape, prefix and checksum are checked before any I/O;
 * known keys are then served from the verifier's cache. Every 401 counts against the client
 * address (auth-failures), never against a key's quota.
 */
export default fp(async (fastify) => {
  fastify.decorateRequest('principal', null as unknown as Principal)
  fastify.decorateRequest('actor', {
    getter(this: FastifyRequest): Actor {
      return { id: this.principal.key.id, ip: this.ip }
    },
  })

  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    fastify.guardAuthAttempts(request, reply)
    const credential = extractCredential(request.raw.rawHeaders)
    if (credential.kind === 'ambiguous') throw new ApiError('ambiguous_credentials', credential.detail)
    if (credential.kind === 'missing') {
      return fastify.refuseAuthentication(request, reply, new ApiError('missing_api_key',
        'Send your API key as "Authorization: Bearer <key>" or "X-API-Key: <key>".', { headers: { 'www-authenticate': CHALLENGE } }))
    }
    if (credential.kind === 'malformed') {
      return fastify.refuseAuthentication(request, reply, new ApiError('invalid_api_key', credential.detail,
        { headers: { 'www-authenticate': `${CHALLENGE}, error="invalid_request"` } }))
    }
    const now = Date.now()
    const verification = await fastify.verifier.verify(credential.value, now)
    if (!verification.ok) {
      return fastify.refuseAuthentication(request, reply, new ApiError(verification.reason, REASON_DETAIL[verification.reason],
        { headers: { 'www-authenticate': `${CHALLENGE}, error="invalid_token"` } }),
        { keyPrefix: verification.displayPrefix, keyId: verification.keyId, accountId: verification.accountId })
    }
    request.principal = verification.principal
    const { key } = verification.principal
    if (isRotationDueSoon(key, now)) {
      // Nudges the integrator while they are looking: "Rotate regularly" (90 days).
      reply.header('x-api-key-rotation-due', rotationDueAt(key).toISOString())
    }
    if (key.replacedAt && key.expiresAt) {
      // RFC 9745 / RFC 8594: this key was rotated and stops working at its sunset.
      reply.header('deprecation', `@${Math.floor(key.replacedAt.getTime() / 1000)}`)
      reply.header('sunset', key.expiresAt.toUTCString())
    }
  })
}, { name: 'auth', dependencies: ['verifier', 'auth-failures'] })
