import fp from 'fastify-plugin'
import type { TSchema } from '@sinclair/typebox'
import { SHARED_SCHEMAS } from '../src/http/schemas.js'

export interface SchemasPluginOptions {
  /** Each group's schemas, in registry order. */
  groupSchemas: readonly (readonly TSchema[])[]
}

/** Shared and group schemas, registered after swagger (which must see them) and before any route. */
export default fp<SchemasPluginOptions>(async (fastify, options) => {
  for (const schema of [...SHARED_SCHEMAS, ...options.groupSchemas.flat()]) fastify.addSchema(schema)
}, { name: 'schemas', dependencies: ['swagger'] })
