import fp from 'fastify-plugin'
import type { ServiceContext, ServiceRegistry } from '../src/service-context.js'
import type { ResourceGroup } from '../routes/api/v1/group.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Every group's service, built once at start; routes call these and never the database. */
    services: ServiceRegistry
  }
}

export interface ServicesPluginOptions {
  groups: readonly ResourceGroup[]
}

/**
 * Builds each group's service from one context — database, clock, cache bus, job queue, scheduler —
 * in registry order. Services reach one another through `context.services` when a method runs.
 */
export default fp<ServicesPluginOptions>(async (fastify, options) => {
  const services = {} as Record<string, unknown>
  const context: ServiceContext = {
    db: fastify.database.db,
    database: fastify.database,
    config: fastify.config,
    clock: fastify.clock,
    log: fastify.log.child({ component: 'services' }),
    cacheBus: fastify.cacheBus,
    idempotency: fastify.idempotencyStore,
    queue: fastify.queue,
    scheduler: fastify.scheduler,
    services: services as unknown as ServiceRegistry,
    stopping: fastify.stopping,
  }
  for (const group of options.groups) {
    if (group.name in services) throw new Error(`resource group ${group.name} is registered twice`)
    services[group.name] = group.service(context)
  }
  fastify.decorate('services', context.services)
}, { name: 'services', dependencies: ['config', 'db', 'cache-bus', 'jobs', 'idempotency-store'] })
