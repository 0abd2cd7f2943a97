import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { HealthSchema, ReadinessSchema } from '../src/http/schemas.js'

/** Public probes, outside /api/v1 and its pipeline: no key, no rate limit. */
const health: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/health', {
    schema: { tags: ['operations'], summary: 'Liveness', operationId: 'getHealth', security: [], response: { 200: Type.Ref(HealthSchema) } },
  }, async () => ({ status: 'ok' as const }))

  fastify.get('/ready', {
    schema: {
      tags: ['operations'], summary: 'Readiness: database and Redis reachable', operationId: 'getReadiness', security: [],
      response: { 200: Type.Ref(ReadinessSchema), 503: Type.Ref(ReadinessSchema) },
    },
  }, async (_request, reply) => {
    const database = await fastify.database.ping().then(() => 'ok' as const, () => 'error' as const)
    const redis = fastify.redis
      ? await fastify.redis.ping().then(() => 'ok' as const, () => 'error' as const)
      : 'not_configured' as const
    const ready = database === 'ok' && redis !== 'error'
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks: { database, redis } })
  })
}

export default health
