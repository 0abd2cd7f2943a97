import { sql } from 'drizzle-orm'
import type { Database } from '../db/client.js'
import { rowsOf } from '../db/rows.js'
import type { Job, JobContext } from './job.js'

export interface SchedulerLog {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

export interface RunOptions {
  /** The instant the run evaluates (detectors: the end of their window). Default: the clock. */
  now?: Date
}

interface Entry {
  job: Job
  timer: NodeJS.Timeout | undefined
  /** The job's latest run: the next one starts only after it, so a job never overlaps itself. */
  tail: Promise<unknown>
}

/**
 * Runs background jobs periodically on every instance. Each run is a transaction that first takes
 * `pg_try_advisory_xact_lock(job.lockId)`: if another instance holds it, the run is skipped, and
 * the lock is released with the transaction whatever happens to the run. Ticks fall on multiples
 * of the interval of the wall clock, so instances contend for the same tick, and a scheduled run
 * evaluates `now` = its tick: an instance that runs the same tick after another (the first had
 * already committed) evaluates the same window, which the jobs' idempotence makes a no-op.
 *
 * Timers are unref'd (they never keep the process alive); a failing run is logged and the job
 * runs again at its next tick.
 */
export class JobScheduler {
  private readonly entries = new Map<string, Entry>()
  private started = false
  private stopped = false

  constructor(private readonly db: Database, private readonly log: SchedulerLog) {}

  register(job: Job): void {
    if (this.entries.has(job.name)) throw new Error(`job ${job.name} is already registered`)
    const clash = [...this.entries.values()].find((entry) => entry.job.lockId === job.lockId)
    if (clash) throw new Error(`jobs ${clash.job.name} and ${job.name} share the advisory lock id ${job.lockId}`)
    if (!Number.isSafeInteger(job.intervalMs) || job.intervalMs < 1) throw new Error(`job ${job.name}: intervalMs must be a positive integer`)
    const entry: Entry = { job, timer: undefined, tail: Promise.resolve() }
    this.entries.set(job.name, entry)
    if (this.started && !this.stopped) this.schedule(entry, { fullIntervalFirst: true })
  }

  get jobNames(): string[] {
    return [...this.entries.keys()]
  }

  /** Starts the timers (the app calls this once it is ready). */
  start(): void {
    if (this.started || this.stopped) return
    this.started = true
    for (const entry of this.entries.values()) this.schedule(entry, { fullIntervalFirst: true })
  }

  /**
   * Runs a job now — after its run in progress, if any — still under its advisory lock. Resolves
   * to true when this instance ran it, false when another instance held the lock; rejects when
   * the run failed. For operators and tests.
   */
  runNow(name: string, options: RunOptions = {}): Promise<boolean> {
    const entry = this.entries.get(name)
    if (!entry) return Promise.reject(new Error(`no job named ${name}; jobs: ${this.jobNames.join(', ')}`))
    if (this.stopped) return Promise.reject(new Error('the job scheduler is stopped'))
    return this.enqueue(entry, options.now)
  }

  /** Clears the timers and waits for runs in progress (the app calls this in preClose). */
  async stop(): Promise<void> {
    this.stopped = true
    for (const entry of this.entries.values()) {
      clearTimeout(entry.timer)
      entry.timer = undefined
    }
    await Promise.all([...this.entries.values()].map((entry) => entry.tail))
  }

  /**
   * Arms the timer for the next tick. The first tick after start is at least a full interval
   * away, so a process that lives shorter than one interval (the CLI, a test) never runs a job
   * on its own clock; after that, ticks are the next boundary (missed ones are skipped).
   */
  private schedule(entry: Entry, options: { fullIntervalFirst?: boolean } = {}): void {
    const { intervalMs } = entry.job
    const tick = (Math.floor(Date.now() / intervalMs) + (options.fullIntervalFirst ? 2 : 1)) * intervalMs
    entry.timer = setTimeout(() => {
      entry.timer = undefined
      this.enqueue(entry, new Date(tick))
        .catch((error: unknown) => this.log.error({ err: error, job: entry.job.name }, 'job run failed; it runs again at its next tick'))
        .finally(() => {
          if (!this.stopped) this.schedule(entry)
        })
    }, Math.max(0, tick - Date.now()))
    entry.timer.unref()
  }

  private enqueue(entry: Entry, now: Date | undefined): Promise<boolean> {
    const run = entry.tail.then(() => this.execute(entry.job, now))
    entry.tail = run.catch(() => {})
    return run
  }

  private async execute(job: Job, now: Date | undefined): Promise<boolean> {
    const startedAt = performance.now()
    if (job.exclusive === false) {
      await job.run({ db: this.db, now: now ?? new Date(), log: this.jobLog(job.name) })
      this.log.debug({ job: job.name, ms: Math.round(performance.now() - startedAt) }, 'job ran')
      return true
    }
    const ran = await this.db.transaction(async (tx) => {
      const [lock] = rowsOf<{ acquired: boolean }>(await tx.execute(sql`select pg_try_advisory_xact_lock(${job.lockId}::bigint) as acquired`))
      if (!lock?.acquired) return false
      const context: JobContext = { db: tx, now: now ?? new Date(), log: this.jobLog(job.name) }
      await job.run(context)
      return true
    })
    if (ran) this.log.debug({ job: job.name, ms: Math.round(performance.now() - startedAt) }, 'job ran')
    else this.log.debug({ job: job.name }, 'job skipped: another instance holds its lock')
    return ran
  }

  private jobLog(name: string): JobContext['log'] {
    return {
      info: (obj, msg) => this.log.info({ job: name, ...obj }, msg),
      warn: (obj, msg) => this.log.warn({ job: name, ...obj }, msg),
    }
  }
}
