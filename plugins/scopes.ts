import fp from 'fastify-plugin'
import type { FastifySchema } from 'fastify'
import { ApiError } from '../src/errors.js'
import { isScope, type Scope } from '../src/scopes.js'

/** `authenticated`: any valid key, no particular scope (e.g. GET /keys/current). */
export type RouteScope = Scope | 'authenticated'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The one scope this operation needs. Required on every route inside /api/v1. */
    scope?: RouteScope
  }
}

/**
 * Step 4: authorisation. Fails closed twice: a route registered here without a declared scope
 * stops the app from starting, and a request whose key lacks the scope is refused before its
 * body is even parsed. The scope is also written onto the operation in the OpenAPI document.
 */
export default fp(async (fastify) => {
  fastify.addHook('onRoute', (route) => {
    const scope = route.config?.scope
    if (scope !== 'authenticated' && !(typeof scope === 'string' && isScope(scope))) {
      throw new Error(`${String(route.method)} ${route.url} declares no valid scope in its route config; refusing to start`)
    }
    const requirement = () => (scope === 'authenticated' ? [] : [scope])
    const note = scope === 'authenticated' ? 'Any valid API key; no scope needed.' : `Required scope: \`${scope}\`.`
    // A new object, not a mutation: Fastify's automatic HEAD route shares the GET route's schema
    // object, which would otherwise get the note twice.
    const schema = (route.schema ?? {}) as Record<string, unknown>
    route.schema = {
      ...schema,
      // Separate arrays, so the YAML document carries no anchors/aliases.
      security: [{ bearerAuth: requirement() }, { apiKeyHeader: requirement() }],
      'x-required-scope': scope,
      description: schema.description ? `${String(schema.description)}\n\n${note}` : note,
    } as FastifySchema
  })

  // Callback style: a set lookup need not pay for a promise.
  fastify.addHook('onRequest', (request, _reply, done) => {
    const needed = request.routeOptions.config.scope
    // The /api/v1 not-found handler needs only a valid key; it reveals no resource.
    if (needed === 'authenticated' || request.is404 || (needed && request.principal.scopes.has(needed))) return done()
    done(new ApiError('insufficient_scope', `This operation needs the ${needed ?? 'unknown'} scope, which this key does not hold.`, {
      extensions: { required_scope: needed ?? null },
    }))
  })
}, { name: 'scopes', dependencies: ['rate-limit'] })
