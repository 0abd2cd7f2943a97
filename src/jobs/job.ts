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
  run(context: JobContext): Promise<void>
}

export interface JobContext {
  db: Database
  now: Date
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void }
}
