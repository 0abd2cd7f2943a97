import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { OPENAPI_DEFINITION } from '../../src/http/openapi-info.js'

/**
 * OpenAPI 3.1 generated from the route schemas (registered before any route, so every route is
 * seen). Shared schemas are named by their `$id`. Swagger UI at /docs, the spec at /openapi.json.
 */
export default fp(async (fastify) => {
  await fastify.register(swagger, {
    openapi: structuredClone(OPENAPI_DEFINITION) as never,
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  })
  await fastify.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { deepLinking: true, persistAuthorization: false },
  })
  fastify.get('/openapi.json', { schema: { hide: true } }, async () => fastify.swagger())
}, { name: 'swagger' })
