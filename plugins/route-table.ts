import fp from 'fastify-plugin'
import type { FastifySchema, RouteOptions } from 'fastify'

export interface RouteEntry {
  method: string
  /** As registered, with `:param` placeholders and no trailing slash. */
  url: string
  schema: FastifySchema | undefined
  config: RouteOptions['config']
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Every route the app serves, as registered. Tests are generated from it (tenant isolation,
     * input hygiene), so a route added later is covered without anyone remembering to.
     */
    routeTable: readonly RouteEntry[]
  }
}

export default fp(async (fastify) => {
  const routes: RouteEntry[] = []
  fastify.decorate('routeTable', routes)
  fastify.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    const url = route.url.length > 1 ? route.url.replace(/\/+$/, '') : route.url
    for (const method of methods) {
      // Fastify's automatic HEAD twin of a GET, and the slashed twin of a prefixed '/', add nothing.
      if (method === 'HEAD' || routes.some((entry) => entry.method === method && entry.url === url)) continue
      routes.push({ method, url, schema: route.schema, config: route.config })
    }
  })
}, { name: 'route-table' })
