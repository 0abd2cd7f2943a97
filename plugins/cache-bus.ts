import fp from 'fastify-plugin'
import { LocalCacheBus, RedisCacheBus, type CacheBus } from '../src/cache-bus.js'

declare module 'fastify' {
  interface FastifyInstance {
    cacheBus: CacheBus
  }
}

/** Cross-instance cache invalidation: Redis pub/sub when shared, an in-process emitter otherwise. */
export default fp(async (fastify) => {
  let cacheBus: CacheBus
  if (fastify.redis && fastify.redisSubscriber) {
    const bus = new RedisCacheBus(fastify.redis, fastify.redisSubscriber, `${fastify.redisPrefix}:cache-events`,
      (error) => fastify.log.warn({ err: error }, 'cache event not delivered'))
    await bus.start()
    cacheBus = bus
  } else {
    cacheBus = new LocalCacheBus()
  }
  fastify.decorate('cacheBus', cacheBus)
  fastify.addHook('onClose', async () => cacheBus.close())
}, { name: 'cache-bus', dependencies: ['redis'] })
