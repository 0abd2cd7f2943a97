import fp from 'fastify-plugin'
import { Redis } from 'ioredis'
import { redisPrefix } from '../src/config.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Shared Redis for counters, caches and events; null on the in-process default. */
    redis: Redis | null
    /** A second connection in subscriber mode for pub/sub; null without Redis. */
    redisSubscriber: Redis | null
    /** Prefix of every Redis key and channel this deployment uses (REDIS_PREFIX). */
    redisPrefix: string
  }
}

/**
 * Settings fit for a rate limiter: a command that cannot be answered fast fails fast (timeout,
 * one retry, no offline queue to replay stale commands later) and the request path decides what
 * to do about it. Auto-pipelining batches concurrent commands into one write.
 */
export function redisOptions(commandTimeout: number) {
  return {
    connectTimeout: 2_000,
    commandTimeout,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    retryStrategy: (attempt: number) => Math.min(attempt * 200, 2_000),
    lazyConnect: true,
  }
}

export default fp(async (fastify) => {
  fastify.decorate('redisPrefix', redisPrefix(fastify.config))
  const url = fastify.config.REDIS_URL
  if (!url) {
    fastify.decorate('redis', null)
    fastify.decorate('redisSubscriber', null)
    fastify.log.warn('REDIS_URL is not set: rate limits, key cache and events live in this process; run a single instance only')
    return
  }
  const redis = new Redis(url, { ...redisOptions(fastify.config.REDIS_COMMAND_TIMEOUT_MS), connectionName: 'voxpria-api' })
  // The subscriber has no command timeout: it waits for messages by design. The event bus
  // resubscribes after a reconnect itself (see RedisCacheBus.start).
  const redisSubscriber = new Redis(url, { ...redisOptions(fastify.config.REDIS_COMMAND_TIMEOUT_MS), commandTimeout: undefined, enableOfflineQueue: true, autoResubscribe: false, connectionName: 'voxpria-api-events' })
  for (const client of [redis, redisSubscriber]) {
    client.on('error', (error: Error) => fastify.log.debug({ err: error }, 'redis connection error'))
  }
  await Promise.all([redis.connect(), redisSubscriber.connect()])
  fastify.decorate('redis', redis)
  fastify.decorate('redisSubscriber', redisSubscriber)
  fastify.addHook('onClose', async () => {
    redisSubscriber.disconnect()
    await redis.quit().catch(() => redis.disconnect())
  })
}, { name: 'redis', dependencies: ['config'] })
