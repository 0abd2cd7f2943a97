import fp from 'fastify-plugin'
import { MemoryStore } from '../src/ratelimit/memory-store.js'
import { RedisStore } from '../src/ratelimit/redis-store.js'
import { ResilientStore } from '../src/ratelimit/resilient-store.js'
import type { RateLimitStore } from '../src/ratelimit/store.js'

declare module 'fastify' {
  interface FastifyInstance {
    rateLimitStore: RateLimitStore
  }
}

/** Redis (shared, with the configured fallback policy) when REDIS_URL is set; in-process otherwise. */
export default fp(async (fastify) => {
  let store: RateLimitStore
  if (fastify.redis) {
    store = new ResilientStore(new RedisStore(fastify.redis, `${fastify.redisPrefix}:rl`, fastify.config.REDIS_COMMAND_TIMEOUT_MS), new MemoryStore(), fastify.config.RATE_LIMIT_ON_REDIS_ERROR, {
      onDegraded: (error) => fastify.log.warn({ err: error, policy: fastify.config.RATE_LIMIT_ON_REDIS_ERROR },
        fastify.config.RATE_LIMIT_ON_REDIS_ERROR === 'open'
          ? 'redis unavailable: rate limiting falls back to this instance until it returns'
          : 'redis unavailable: refusing rate-limited requests with 503 until it returns'),
      onRecovered: () => fastify.log.warn('redis is back: rate limiting is shared again'),
    })
  } else {
    store = new MemoryStore()
  }
  fastify.decorate('rateLimitStore', store)
  fastify.addHook('onClose', async () => store.close())
}, { name: 'rate-limit-store', dependencies: ['config', 'redis'] })
