import type { FastifyPluginAsync } from 'fastify'
import { ApiError } from '../../../src/errors.js'
import auth from '../../../plugins/auth.js'
import ipAllowlist from '../../../plugins/ip-allowlist.js'
import rateLimit from '../../../plugins/rate-limit.js'
import scopes from '../../../plugins/scopes.js'
import usageHook from '../../../plugins/usage-hook.js'
import idempotency from '../../../plugins/idempotency.js'
import type { ResourceGroup } from './group.js'

export interface V1Options {
  groups: readonly ResourceGroup[]
}

/**
 * /api/v1: the authenticated space. The pipeline's hooks are registered in this context only, so
 * every route below passes authenticate → IP allowlist → rate limit → scope (→ idempotency for the
 * creates that declare it), and no route outside it can be reached by accident through URL matching.
 */
const v1: FastifyPluginAsync<V1Options> = async (fastify, options) => {
  await fastify.register(auth)
  await fastify.register(ipAllowlist)
  await fastify.register(rateLimit)
  await fastify.register(scopes)
  await fastify.register(idempotency)
  await fastify.register(usageHook)

  // API responses are per-caller and may carry a secret (create, rotate): never cache them.
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('cache-control', 'no-store')
    done(null, payload)
  })

  // Unknown /api/v1 routes still pass authentication and rate limiting: a caller without a valid
  // key learns nothing about which routes exist, and a caller with one sees its limit headers.
  fastify.setNotFoundHandler((request) => {
    throw new ApiError('route_not_found', `No route ${request.method} ${request.url.split('?')[0]}.`)
  })

  for (const group of options.groups) {
    if (group.routes) await fastify.register(group.routes, { prefix: group.prefix })
  }
}

export default v1
