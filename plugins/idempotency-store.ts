import fp from 'fastify-plugin'
import { resolvePepper } from '../src/keys/pepper.js'
import { IdempotencyStore } from '../src/idempotency/store.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Idempotency keys in PostgreSQL (the pipeline's `idempotent` route option, and streamed creates). */
    idempotencyStore: IdempotencyStore
  }
}

/** The idempotency store, and the periodic job that prunes its expired rows. */
export default fp(async (fastify) => {
  const store = new IdempotencyStore(fastify.database.db, resolvePepper(fastify.config), fastify.clock)
  fastify.decorate('idempotencyStore', store)
  fastify.scheduler.register({
    name: 'idempotency-prune',
    lockId: 710_003,
    intervalMs: fastify.config.ALERT_INTERVAL_SECONDS * 1000,
    // Inside the scheduler's transaction, on its connection: on PGlite any other would wait for it.
    async run({ db, now, log }) {
      const pruned = await store.prune(now, db)
      if (pruned > 0) log.info({ pruned }, 'pruned expired idempotency keys')
    },
  })
}, { name: 'idempotency-store', dependencies: ['db', 'config', 'jobs'] })
