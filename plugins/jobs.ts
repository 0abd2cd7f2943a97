import fp from 'fastify-plugin'
import { JobScheduler } from '../src/jobs/scheduler.js'
import { alertDetectorsJob } from '../src/alerts/detectors.js'
import { usageRetentionJob } from '../src/usage/retention.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Background jobs; `jobs.runNow(name)` runs one at once (operators, tests). */
    jobs: JobScheduler
  }
}

/**
 * The periodic jobs: alert detectors and usage retention. Timers start once the app is ready and
 * stop before it closes (preClose waits for a run in progress, while the database is still open).
 */
export default fp(async (fastify) => {
  const scheduler = new JobScheduler(fastify.database.db, fastify.log.child({ component: 'jobs' }))
  scheduler.register(alertDetectorsJob(fastify.config))
  scheduler.register(usageRetentionJob(fastify.config))
  fastify.decorate('jobs', scheduler)
  fastify.addHook('onReady', async () => scheduler.start())
  fastify.addHook('preClose', async () => scheduler.stop())
}, { name: 'jobs', dependencies: ['db', 'config'] })
