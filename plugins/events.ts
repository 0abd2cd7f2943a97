import fp from 'fastify-plugin'
import { LocalEventBus, RedisEventBus, type EventBus } from '../src/events.js'

declare module 'fastify' {
  interface FastifyInstance {
    events: EventBus
  }
}

/** Cross-instance cache invalidation: Redis pub/sub when shared, an in-process emitter otherwise. */
export default fp(async (fastify) => {
  let events: EventBus
  if (fastify.redis && fastify.redisSubscriber) {
    const bus = new RedisEventBus(fastify.redis, fastify.redisSubscriber, `${fastify.redisPrefix}:cache-events`,
      (error) => fastify.log.warn({ err: error }, 'cache event not delivered'))
    await bus.start()
    events = bus
  } else {
    events = new LocalEventBus()
  }
  fastify.decorate('events', events)
  fastify.addHook('onClose', async () => events.close())
}, { name: 'events', dependencies: ['redis'] })
