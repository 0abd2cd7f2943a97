import fp from 'fastify-plugin'
import { ApiError } from '../src/errors.js'
import { isAllowed, parseClientAddress } from '../src/cidr.js'

/**
 * Step 2: the key's CIDR allowlist against the client address — the socket's, unless TRUST_PROXY
 * names the proxies whose X-Forwarded-For may be believed (Fastify's `request.ip` applies that).
 * A refusal counts as a failed authentication for the address and spends none of the key's quota.
 */
export default fp(async (fastify) => {
  fastify.addHook('onRequest', async (request, reply) => {
    const principal = request.principal
    if (!isAllowed(principal.allowlist, parseClientAddress(request.ip))) {
      return fastify.refuseAuthentication(request, reply, new ApiError('ip_not_allowed',
        `This API key may not be used from ${request.ip}. Add the address to the key's IP allowlist.`))
    }
    // The key was admitted: that is what "last used" means.
    fastify.verifier.touch(principal)
  })
}, { name: 'ip-allowlist', dependencies: ['auth'] })
