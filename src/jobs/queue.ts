import PgBoss from 'pg-boss'

/**
 * The durable job queue: pg-boss (10.x) on the service's own database. Anything that must survive a
 * restart — an import, a call's next step, a webhook retry — is a job here, never a timer. Jobs are
 * written to PostgreSQL, so a job sent is a job that runs, on whichever instance polls first, and a
 * job whose instance died is retried. Handlers must be idempotent: they re-read the state they act
 * on and change it with a compare-and-set, so a retry (or a second instance) never applies twice.
 */

/**
 * A job that stops at a safe point because its instance is stopping. Not a failure: pg-boss runs
 * it again (after the retry delay, on whichever instance polls), and it resumes where it stopped.
 */
export class JobInterruptedError extends Error {
  override readonly name: string = 'JobInterruptedError'
}

export interface JobDefinition<T> {
  name: string
  handler: (data: T, job: { id: string; retryCount: number }) => Promise<void>
  /** Tries after the first failure (default 3), with exponential backoff from `retryDelaySeconds`. */
  retryLimit?: number
  retryDelaySeconds?: number
  /** An active job not finished in this long is considered lost and retried (default 15 min). */
  expireInSeconds?: number
  /** How often an idle worker asks for work (pg-boss minimum 0.5 s). */
  pollingIntervalSeconds?: number
}

export interface SendOptions {
  /** At most one queued job per key (pg-boss singletonKey): a second send is a no-op. */
  singletonKey?: string
  startAfter?: Date | number
}

export interface JobQueue {
  /** Declares a job and its handler. Services call this when built; workers start with the queue. */
  define<T extends object>(definition: JobDefinition<T>): void
  send<T extends object>(name: string, data: T, options?: SendOptions): Promise<string | null>
  start(): Promise<void>
  stop(): Promise<void>
}

/** How pg-boss reaches the database: a connection string (PostgreSQL) or a query function (PGlite). */
export type QueueConnection =
  | { connectionString: string }
  | { executeSql: (text: string, values?: unknown[]) => Promise<{ rows: unknown[] }> }

export interface QueueLog {
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export class PgBossQueue implements JobQueue {
  private readonly boss: PgBoss
  private readonly definitions = new Map<string, JobDefinition<never>>()
  /** This instance's worker per job name, to wake when it sends that job itself. */
  private readonly workers = new Map<string, string>()
  private started = false

  constructor(connection: QueueConnection, private readonly log: QueueLog) {
    this.boss = new PgBoss({
      ...('connectionString' in connection
        ? { connectionString: connection.connectionString, max: 4, application_name: 'voxpria-jobs' }
        : { db: { executeSql: connection.executeSql } as PgBoss.Db }),
      // Periodic work stays on the service's scheduler (one way, see README): no pg-boss cron.
      schedule: false,
      // pg-boss's own upkeep (expiring lost jobs, archiving) runs on every instance, coordinated by pg-boss.
      supervise: true,
    })
    // An unhandled 'error' event would take the process down; pg-boss retries by itself.
    this.boss.on('error', (error) => this.log.warn({ err: error }, 'job queue error'))
  }

  define<T extends object>(definition: JobDefinition<T>): void {
    if (this.definitions.has(definition.name)) throw new Error(`job ${definition.name} is defined twice`)
    this.definitions.set(definition.name, definition as JobDefinition<never>)
  }

  async send<T extends object>(name: string, data: T, options: SendOptions = {}): Promise<string | null> {
    const definition = this.definitions.get(name)
    if (!definition) throw new Error(`no job named ${name}`)
    const id = await this.boss.send(name, data, {
      ...(options.singletonKey ? { singletonKey: options.singletonKey } : {}),
      ...(options.startAfter !== undefined ? { startAfter: options.startAfter instanceof Date ? options.startAfter : options.startAfter } : {}),
      retryLimit: definition.retryLimit ?? 3,
      retryDelay: definition.retryDelaySeconds ?? 2,
      retryBackoff: true,
      expireInSeconds: definition.expireInSeconds ?? 900,
    })
    // Work this instance just created starts now rather than at its worker's next poll; other
    // instances still find it at theirs.
    const worker = this.workers.get(name)
    if (id && worker && !options.startAfter) this.boss.notifyWorker(worker)
    return id
  }

  async start(): Promise<void> {
    if (this.started) return
    await this.boss.start()
    for (const definition of this.definitions.values()) {
      await this.boss.createQueue(definition.name)
      const worker = await this.boss.work(definition.name, { pollingIntervalSeconds: definition.pollingIntervalSeconds ?? 1, batchSize: 1 }, async (jobs) => {
        for (const job of jobs as (PgBoss.Job<never> & { retryCount?: number })[]) {
          try {
            await definition.handler(job.data, { id: job.id, retryCount: job.retryCount ?? 0 })
          } catch (error) {
            if (error instanceof JobInterruptedError) this.log.warn({ job: definition.name, jobId: job.id, reason: error.message }, 'job interrupted; it runs again')
            else this.log.error({ err: error, job: definition.name, jobId: job.id }, 'job failed; pg-boss retries it')
            throw error
          }
        }
      })
      this.workers.set(definition.name, worker)
    }
    this.started = true
  }

  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    this.workers.clear()
    // Graceful: jobs in progress finish (each is a short batch) before the database closes.
    await this.boss.stop({ graceful: true, timeout: 10_000, wait: true })
  }
}
