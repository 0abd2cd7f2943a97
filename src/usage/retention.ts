import { sql, type SQL } from 'drizzle-orm'
import type { Config } from '../config.js'
import type { Executor } from '../db/executor.js'
import type { Job } from '../jobs/job.js'

const DAY_MS = 86_400_000

/** Rollups outlive raw rows: the day view reaches back 400 days. */
export const ROLLUP_RETENTION_DAYS = 400

/** Rows per DELETE: short statements, so a large backlog never holds one long-running delete. */
export const DELETE_BATCH = 10_000

/** Batches per table per run: a first run after a long pause catches up over several runs. */
export const MAX_BATCHES_PER_RUN = 50

export interface PruneLimits {
  batchSize: number
  maxBatches: number
}

const DEFAULT_LIMITS: PruneLimits = { batchSize: DELETE_BATCH, maxBatches: MAX_BATCHES_PER_RUN }

/** Deletes batch after batch until a batch comes back short, or the per-run cap is reached. */
async function pruneInBatches(limits: PruneLimits, deleteBatch: () => Promise<number>): Promise<number> {
  let total = 0
  for (let batch = 0; batch < limits.maxBatches; batch++) {
    const deleted = await deleteBatch()
    total += deleted
    if (deleted < limits.batchSize) break
  }
  return total
}

/** Drizzle's execute returns rows differently per driver; RETURNING counts them either way. */
async function countDeleted(db: Executor, statement: SQL): Promise<number> {
  const result = await db.execute(statement) as unknown as unknown[] | { rows: unknown[] }
  return Array.isArray(result) ? result.length : result.rows.length
}

export interface PruneResult {
  usageEvents: number
  failedAuthEvents: number
  usageRollups: number
}

/** Deletes raw usage rows and failed-auth records older than the retention, and rollups older than 400 days. */
export async function pruneUsage(db: Executor, now: Date, retentionDays: number, limits: PruneLimits = DEFAULT_LIMITS): Promise<PruneResult> {
  const rawCutoff = new Date(now.getTime() - retentionDays * DAY_MS)
  const rollupCutoff = new Date(now.getTime() - ROLLUP_RETENTION_DAYS * DAY_MS)
  // By physical row id: usage_events has no index on id alone (its primary key leads with key_id).
  const usageEvents = await pruneInBatches(limits, () => countDeleted(db, sql`
    delete from usage_events where ctid = any(array(
      select ctid from usage_events where created_at < ${rawCutoff.toISOString()}::timestamptz limit ${limits.batchSize}
    )) returning 1`))
  const failedAuthEvents = await pruneInBatches(limits, () => countDeleted(db, sql`
    delete from failed_auth_events where id in (
      select id from failed_auth_events where created_at < ${rawCutoff.toISOString()}::timestamptz limit ${limits.batchSize}
    ) returning 1`))
  const usageRollups = await pruneInBatches(limits, () => countDeleted(db, sql`
    delete from usage_rollups where (key_id, minute) in (
      select key_id, minute from usage_rollups where minute < ${rollupCutoff.toISOString()}::timestamptz limit ${limits.batchSize}
    ) returning 1`))
  return { usageEvents, failedAuthEvents, usageRollups }
}

/**
 * The pruning job, for the scheduler: runs every ALERT_INTERVAL_SECONDS on one instance at a
 * time (advisory lock 710001). Idempotent: an interrupted run leaves rows the next run deletes.
 */
export function usageRetentionJob(config: Pick<Config, 'USAGE_LOG_RETENTION_DAYS' | 'ALERT_INTERVAL_SECONDS'>): Job {
  return {
    name: 'usage-retention',
    lockId: 710_001,
    intervalMs: config.ALERT_INTERVAL_SECONDS * 1000,
    async run({ db, now, log }) {
      const deleted = await pruneUsage(db, now, config.USAGE_LOG_RETENTION_DAYS)
      if (deleted.usageEvents + deleted.failedAuthEvents + deleted.usageRollups > 0) {
        log.info({ deleted, retentionDays: config.USAGE_LOG_RETENTION_DAYS }, 'pruned usage records past retention')
      }
    },
  }
}
