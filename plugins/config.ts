import fp from 'fastify-plugin'
import type { Config } from '../src/config.js'
import type { Clock } from '../src/clock.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    /** The one clock of the app: services, idempotency and jobs take the time from it (tests drive it). */
    clock: Clock
  }
}

export interface ConfigPluginOptions {
  config: Config
  clock: Clock
}

/** Makes the validated Config and the clock available to every other plugin. */
export default fp<ConfigPluginOptions>(async (fastify, options) => {
  fastify.decorate('config', options.config)
  fastify.decorate('clock', options.clock)
}, { name: 'config', fastify: '5.x' })
