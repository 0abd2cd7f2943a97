import fp from 'fastify-plugin'
import { resolvePepper } from '../src/keys/pepper.js'
import { KeyVerifier } from '../src/auth/verifier.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The hot path's key lookup: an in-process cache in front of the digest index. */
    verifier: KeyVerifier
  }
}

/**
 * The key verifier, wired so that any key or account change — here or on another instance —
 * drops the cached copy within one cache-bus hop.
 */
export default fp(async (fastify) => {
  const verifier = new KeyVerifier(fastify.database.db, resolvePepper(fastify.config), { ttlMs: fastify.config.KEY_CACHE_TTL_MS })
  fastify.cacheBus.subscribe((event) => {
    if (event.type === 'key.changed') verifier.invalidateKey(event.keyId)
    else if (event.type === 'account.changed') verifier.invalidateAccount(event.accountId)
    else if (event.type === 'cache.reset') verifier.invalidateAll()
  })
  fastify.decorate('verifier', verifier)
  fastify.addHook('preClose', async () => verifier.close())
}, { name: 'verifier', dependencies: ['config', 'db', 'cache-bus'] })
