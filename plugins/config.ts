import fp from 'fastify-plugin'
import type { Config } from '../src/config.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
  }
}

export interface ConfigPluginOptions {
  config: Config
}

/** Makes the validated Config available to every other plugin. */
export default fp<ConfigPluginOptions>(async (fastify, options) => {
  fastify.decorate('config', options.config)
}, { name: 'config', fastify: '5.x' })
