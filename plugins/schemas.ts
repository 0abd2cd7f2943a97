import fp from 'fastify-plugin'
import { SHARED_SCHEMAS } from '../src/http/schemas.js'

/** Shared schemas, registered after swagger (which must see them) and before any route. */
export default fp(async (fastify) => {
  for (const schema of SHARED_SCHEMAS) fastify.addSchema(schema)
}, { name: 'schemas', dependencies: ['swagger'] })
