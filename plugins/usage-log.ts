import fp from 'fastify-plugin'
import { BatchBuffer, type BatchBufferStats } from '../src/usage/batch-buffer.js'
import { writeFailedAuthBatch, writeUsageBatch, type FailedAuthEntry, type UsageEntry } from '../src/usage/writer.js'

export interface UsageLog {
  /** False when USAGE_LOG_ENABLED=false: no per-request rows and no hook (failed-auth records stay on). */
  readonly enabled: boolean
  /** Buffers one admitted request. Synchronous; never waits on the database. */
  record(entry: UsageEntry): void
  /** Buffers one refused authentication. Synchronous; never waits on the database. */
  recordFailedAuth(entry: FailedAuthEntry): void
  /** Writes everything buffered so far. */
  flush(): Promise<void>
  stats(): { usage: BatchBufferStats; failedAuth: BatchBufferStats }
}

declare module 'fastify' {
  interface FastifyInstance {
    usageLog: UsageLog
  }
}

/**
 * The usage log and failed-authentication records, written in batches off the request path.
 *
 * Shutdown: `preClose` writes what is buffered while everything is still up; `onClose` (which
 * runs before the database plugin's, onClose hooks running in reverse registration order)
 * closes the buffers, writing what requests still in flight at preClose added since.
 */
export default fp(async (fastify) => {
  const { config } = fastify
  const { db } = fastify.database
  const log = fastify.log.child({ component: 'usage-log' })
  const enabled = config.USAGE_LOG_ENABLED
  const usage = new BatchBuffer<UsageEntry>({
    name: 'usage_events',
    size: config.USAGE_BUFFER_SIZE,
    hardCap: config.USAGE_BUFFER_MAX,
    maxAgeMs: config.USAGE_FLUSH_INTERVAL_MS,
    write: (batch) => writeUsageBatch(fastify.database, batch),
    log,
  })
  const failedAuth = new BatchBuffer<FailedAuthEntry>({
    name: 'failed_auth_events',
    size: config.USAGE_BUFFER_SIZE,
    hardCap: config.USAGE_BUFFER_MAX,
    maxAgeMs: config.USAGE_FLUSH_INTERVAL_MS,
    write: (batch) => writeFailedAuthBatch(db, batch),
    log,
  })

  const usageLog: UsageLog = {
    enabled,
    record: enabled ? (entry) => { usage.push(entry) } : () => {},
    // Failed authentications are security records (the failed_auth_burst detector reads them):
    // kept even when per-request usage logging is switched off.
    recordFailedAuth: (entry) => { failedAuth.push(entry) },
    flush: async () => { await Promise.all([usage.flush(), failedAuth.flush()]) },
    stats: () => ({ usage: usage.stats, failedAuth: failedAuth.stats }),
  }
  fastify.decorate('usageLog', usageLog)

  fastify.addHook('preClose', async () => usageLog.flush())
  fastify.addHook('onClose', async () => {
    await Promise.all([usage.close(), failedAuth.close()])
    const { usage: u, failedAuth: f } = usageLog.stats()
    if (u.dropped + u.failed + f.dropped + f.failed > 0) {
      log.warn({ usage: u, failedAuth: f }, 'usage log lost entries during this run (buffer full or writes failed)')
    }
  })
}, { name: 'usage-log', dependencies: ['config', 'db'] })
