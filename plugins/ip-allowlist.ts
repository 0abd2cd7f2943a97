import fp from 'fastify-plugin'
import { ApiError } from '../src/errors.js'
import { isAllowed, parseClientAddress } from '../src/cidr.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** True once the request passed authentication and the key's IP allowlist: it is the key's own use. */
    admitted: boolean
  }
}

/**
 * Step 2: the key's CIDR allowlist against the client address — the socket's, unless TRUST_PROXY
 * names the proxies whose X-Forwarded-For may be believed (Fastify's `request.ip` applies that).
 * A refusal counts as a failed authentication for the address and spends none of the key's quota.
 */
export default fp(async (fastify) => {
  fastify.decorateRequest('admitted', false)
  // Callback style: the usual path does no I/O, so it need not pay for a promise.
  fastify.addHook('onRequest', (request, reply, done) => {
    const principal = request.principal
    const { allowlist } = principal
    // An empty allowlist admits any address: the address is parsed only when there is a list.
    if (allowlist === 'unusable' || (allowlist.length > 0 && !isAllowed(allowlist, parseClientAddress(request.ip)))) {
      if (allowlist === 'unusable') {
        // Written before the strict parser existed, or by hand: never read as "no restriction".
        request.log.error({ keyId: principal.key.id }, 'key refused: its stored IP allowlist has an entry that cannot be parsed')
      }
      // refuseAuthentication records the failure, then rejects with the error.
      fastify.refuseAuthentication(request, reply, new ApiError('ip_not_allowed',
        allowlist === 'unusable'
          ? 'This API key\'s IP allowlist cannot be read, so the key is refused from every address. Set its allowlist again.'
          : `This API key may not be used from ${request.ip}. Add the address to the key's IP allowlist.`),
        { keyPrefix: principal.key.displayPrefix, accountId: principal.account.id, keyId: principal.key.id }).catch(done)
      return
    }
    // The key was admitted: that is what "last used" means, and what the usage log records.
    request.admitted = true
    fastify.verifier.touch(principal)
    done()
  })
}, { name: 'ip-allowlist', dependencies: ['auth'] })
