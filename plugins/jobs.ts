import fp from 'fastify-plugin'
import { JobScheduler } from '../src/jobs/scheduler.js'
import { PgBossQueue, type JobQueue } from '../src/jobs/queue.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Periodic jobs; `scheduler.runNow(name)` runs one at once (operators, tests). */
    scheduler: JobScheduler
    /** The durable job queue (pg-boss): work that must survive a restart. */
    queue: JobQueue
    /** Aborted when the app begins to close: long jobs end at their next safe point. */
    stopping: AbortSignal
  }
}

/**
 * Background work, two kinds: the durable queue (pg-boss) and the periodic scheduler (advisory-lock
 * ticks). Services declare their jobs when they are built; both start once the app is ready and
 * stop before it closes (preClose: work in progress finishes while the database is still open).
 */
export default fp(async (fastify) => {
  const log = fastify.log.child({ component: 'jobs' })
  const scheduler = new JobScheduler(fastify.database.db, log)
  const queue = new PgBossQueue(fastify.database.queueConnection(), log)
  fastify.decorate('scheduler', scheduler)
  fastify.decorate('queue', queue)
  const stopping = new AbortController()
  fastify.decorate('stopping', stopping.signal)
  fastify.addHook('onReady', async () => {
    await queue.start()
    scheduler.start()
  })
  fastify.addHook('preClose', async () => {
    // First, so the jobs the queue's graceful stop waits for end at their next batch, not their last.
    stopping.abort()
    await scheduler.stop()
    await queue.stop()
  })
}, { name: 'jobs', dependencies: ['db', 'config'] })
