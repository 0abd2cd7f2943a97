import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { OPENAPI_DEFINITION } from '../../src/http/openapi-info.js'
import { finishDocument } from '../../src/http/openapi-document.js'

/**
 * OpenAPI 3.1 generated from the route schemas (registered before any route, so every route is
 * seen). Shared schemas are named by their `$id`. Swagger UI at /docs, the spec at /openapi.json.
 */
export interface SwaggerPluginOptions {
  /** One tag per resource group (and the probes'), in registry order. */
  tags: readonly { name: string; description: string }[]
}

export default fp<SwaggerPluginOptions>(async (fastify, options) => {
  await fastify.register(swagger, {
    openapi: {
      ...structuredClone(OPENAPI_DEFINITION),
      tags: [...options.tags],
      // Relative by default, so Swagger UI's "Try it out" calls whichever host served it.
      servers: [{ url: fastify.config.PUBLIC_BASE_URL ?? '/', description: fastify.config.PUBLIC_BASE_URL ? 'This deployment' : 'The host serving this document' }],
    } as never,
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
    // A prefixed plugin's '/' route answers on both /api/v1/keys and /api/v1/keys/, and Fastify
    // rewrites the route's url to the slashed form after onRoute; document the canonical one.
    transform: ({ schema, url }) => ({ schema, url: url.length > 1 ? url.replace(/\/+$/, '') : url }),
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject
      return finishDocument(document.openapiObject as never) as typeof document.openapiObject
    },
  })
  await fastify.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { deepLinking: true, persistAuthorization: false },
  })
  fastify.get('/openapi.json', { schema: { hide: true } }, async () => fastify.swagger())
}, { name: 'swagger', dependencies: ['config'] })
