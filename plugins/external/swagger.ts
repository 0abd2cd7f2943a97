import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { OPENAPI_DEFINITION } from '../../src/http/openapi-info.js'

const PROBLEM_REF = '#/components/schemas/Problem'

/**
 * Errors leave as `application/problem+json` (plugins/errors.ts), but @fastify/swagger labels every
 * response `application/json`: relabel the Problem responses with the media type really sent.
 */
function relabelProblemResponses(paths: object | undefined): void {
  type Response = { content?: Record<string, { schema?: { $ref?: string } }> }
  for (const pathItem of Object.values(paths ?? {}) as Record<string, { responses?: Record<string, Response> }>[]) {
    for (const operation of Object.values(pathItem)) {
      for (const response of Object.values(operation.responses ?? {})) {
        const json = response.content?.['application/json']
        if (json?.schema?.$ref === PROBLEM_REF) response.content = { 'application/problem+json': json }
      }
    }
  }
}

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
    // A prefixed plugin's '/' route answers on both /api/v1/keys and /api/v1/keys/, and Fastify
    // rewrites the route's url to the slashed form after onRoute; document the canonical one.
    transform: ({ schema, url }) => ({ schema, url: url.length > 1 ? url.replace(/\/+$/, '') : url }),
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject
      relabelProblemResponses(document.openapiObject.paths)
      return document.openapiObject
    },
  })
  await fastify.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { deepLinking: true, persistAuthorization: false },
  })
  fastify.get('/openapi.json', { schema: { hide: true } }, async () => fastify.swagger())
}, { name: 'swagger' })
