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
export interface JobsPluginOptions {
  /**
   * false: jobs can be declared but nothing runs here — no pg-boss worker, no scheduler tick. For
   * processes that only borrow the app (the CLI, the bench's operator app): a short-lived process
   * must not take an import or advance calls that a server would then have to recover.
   */
  background?: boolean
}

export default fp<JobsPluginOptions>(async (fastify, options) => {
  const log = fastify.log.child({ component: 'jobs' })
  const scheduler = new JobScheduler(fastify.database.db, log)
  const queue = new PgBossQueue(fastify.database.queueConnection(), log)
  fastify.decorate('scheduler', scheduler)
  fastify.decorate('queue', queue)
  const stopping = new AbortController()
  fastify.decorate('stopping', stopping.signal)
  fastify.addHook('onReady', async () => {
    if (options.background === false) return
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
