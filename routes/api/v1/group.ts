import type { FastifyPluginAsync } from 'fastify'
import type { TSchema } from '@sinclair/typebox'
import type { ServiceContext, ServiceRegistry } from '../../../src/service-context.js'

/**
 * A resource group, whole: its route plugin (under its prefix), the shared schemas its routes
 * reference (registered before any route, so the OpenAPI document names them), its OpenAPI tag,
 * and how its service is built. Adding a group is one line in groups.ts.
 */
export interface ResourceGroup<Name extends keyof ServiceRegistry = keyof ServiceRegistry> {
  name: Name
  service: (context: ServiceContext) => ServiceRegistry[Name]
  /** Absent for a group without public routes (accounts: operators only, through the CLI). */
  prefix?: string
  tag?: { name: string; description: string }
  /** In registration order: a schema's references come before it. */
  schemas?: readonly TSchema[]
  routes?: FastifyPluginAsync
}

export function defineGroup<Name extends keyof ServiceRegistry>(group: ResourceGroup<Name>): ResourceGroup<Name> {
  return group
}
