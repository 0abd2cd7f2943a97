import type { Database } from '../db/client.js'

/**
 * A periodic background job (alert detectors, retention pruning). The scheduler runs each job on
 * its interval on every instance, but inside a transaction holding a PostgreSQL advisory lock
 * (`pg_try_advisory_xact_lock(lockId)`), so at most one instance evaluates a given run; the others
 * skip it. Jobs must also be idempotent (a crash mid-run is retried by the next run).
 */
export interface Job {
  name: string
  /** Unique per job: the advisory-lock key. */
  lockId: number
  intervalMs: number
  /**
   * false: runs on every instance at every tick, outside any transaction — for work that is
   * harmless to repeat and must reach other connections (e.g. sending jobs to the queue, which on
   * PGlite would wait behind the scheduler's own transaction). Default true: one instance per tick.
   */
  exclusive?: boolean
  run(context: JobContext): Promise<void>
}

export interface JobContext {
  db: Database
  now: Date
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void }
}
