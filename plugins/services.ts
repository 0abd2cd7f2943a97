import fp from 'fastify-plugin'
import { resolvePepper } from '../src/keys/pepper.js'
import { KeyService } from '../src/services/keys.js'
import { KeyVerifier } from '../src/auth/verifier.js'

declare module 'fastify' {
  interface FastifyInstance {
    keys: KeyService
    verifier: KeyVerifier
  }
}

/**
 * The key service (management) and the key verifier (hot path), wired so that any key or
 * account change — here or on another instance — drops the cached copy within one event hop.
 */
export default fp(async (fastify) => {
  const pepper = resolvePepper(fastify.config)
  const { db } = fastify.database
  const verifier = new KeyVerifier(db, pepper, { ttlMs: fastify.config.KEY_CACHE_TTL_MS })
  const keys = new KeyService(db, pepper, (change) => {
    void fastify.events.publish({ type: 'key.changed', ...change })
  })
  fastify.events.subscribe((event) => {
    if (event.type === 'key.changed') verifier.invalidateKey(event.keyId)
    else if (event.type === 'account.changed') verifier.invalidateAccount(event.accountId)
    else if (event.type === 'cache.reset') verifier.invalidateAll()
  })
  fastify.decorate('keys', keys)
  fastify.decorate('verifier', verifier)
  fastify.addHook('preClose', async () => verifier.close())
}, { name: 'services', dependencies: ['config', 'db', 'events'] })
