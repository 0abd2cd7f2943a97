import fp from 'fastify-plugin'
import { openDatabase, type DatabaseHandle } from '../src/db/client.js'

declare module 'fastify' {
  interface FastifyInstance {
    database: DatabaseHandle
  }
}

export interface DbPluginOptions {
  /** A throwaway in-memory PGlite instead of DATA_DIR/pg (tests, when DATABASE_URL is unset). */
  inMemory?: boolean
  /** Start the in-memory PGlite from this data-folder snapshot (a migrated template). */
  pgliteTemplate?: Blob | undefined
}

/** Opens PostgreSQL (DATABASE_URL) or embedded PGlite and applies the migrations before serving. */
export default fp<DbPluginOptions>(async (fastify, options) => {
  const log = fastify.log.child({ component: 'database' })
  const database = await openDatabase({
    ...fastify.config,
    inMemory: options.inMemory ?? false,
    pgliteTemplate: options.pgliteTemplate,
    onAvailabilityChange: (available, reason) => {
      if (available) log.warn('database reachable again: serving requests that need it')
      else log.error({ err: reason }, 'database unreachable: requests that need it are answered 503 until it returns')
    },
  })
  fastify.addHook('onClose', async () => database.close())
  await database.migrate()
  fastify.decorate('database', database)
  fastify.log.info({ database: database.kind }, 'database ready')
}, { name: 'db', dependencies: ['config'] })
