import t from 'tap'
import { eq, sql } from 'drizzle-orm'
import { buildTestApp, createTestAccount } from '../helper/app.js'
import { failuresBefore, insertFailedAuth, insertRollups, perMinute, scenarioClock } from '../helper/synthetic-usage.js'
import { JobScheduler, type SchedulerLog } from '../../src/jobs/scheduler.js'
import type { Job, JobContext } from '../../src/jobs/job.js'
import { ALERT_DETECTORS_JOB } from '../../src/alerts/detectors.js'
import { alerts, events } from '../../src/db/schema/index.js'
import { rowsOf } from '../../src/db/rows.js'

interface LogLine { level: string; obj: object; msg?: string | undefined }

function capturingLog(): SchedulerLog & { lines: LogLine[] } {
  const lines: LogLine[] = []
  const at = (level: string) => (obj: object, msg?: string) => { lines.push({ level, obj, msg }) }
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function deferred() {
  let resolve!: () => void
  const promise = new Promise<void>((done) => { resolve = done })
  return { promise, resolve }
}

let nextLockId = 990_000 + Math.floor(Math.random() * 9_000)
function testJob(name: string, run: (context: JobContext) => Promise<void>, intervalMs = 86_400_000): Job {
  return { name, lockId: nextLockId++, intervalMs, run }
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await sleep(10)
  }
}

t.test('the job scheduler', async (t) => {
  const { app } = await buildTestApp(t)
  const { db } = app.database

  t.test('the app registers the detectors, the retention and the idempotency pruning jobs, and a run reports that it ran', async (t) => {
    t.same(app.scheduler.jobNames.sort(), [ALERT_DETECTORS_JOB, 'calls-due', 'calls-sweeper', 'contact-imports-resume', 'idempotency-prune', 'usage-retention'].sort())
    t.equal(await app.scheduler.runNow(ALERT_DETECTORS_JOB), true)
    await t.rejects(app.scheduler.runNow('nope'), /no job named nope/)
  })

  t.test('runNow runs inside a transaction holding the job’s advisory lock, with the given now', async (t) => {
    const scheduler = new JobScheduler(db, capturingLog())
    const seen: { now: Date; locked: boolean }[] = []
    const job = testJob('probe', async ({ db, now }) => {
      const [row] = rowsOf<{ locked: boolean }>(await db.execute(sql`
        select exists (select 1 from pg_locks where locktype = 'advisory' and objid = ${job.lockId} and granted) as locked`))
      seen.push({ now, locked: row?.locked === true })
    })
    scheduler.register(job)
    const now = new Date('2040-02-03T04:05:00.000Z')
    t.equal(await scheduler.runNow('probe', { now }), true)
    t.same(seen, [{ now, locked: true }])
    const [after] = rowsOf<{ held: number }>(await db.execute(sql`
      select count(*)::int as held from pg_locks where locktype = 'advisory' and objid = ${job.lockId}`))
    t.equal(after?.held, 0, 'released with the transaction')
    t.throws(() => scheduler.register(job), /already registered/)
    t.throws(() => scheduler.register({ ...job, name: 'other' }), /share the advisory lock id/)
    await scheduler.stop()
    await t.rejects(scheduler.runNow('probe'), /stopped/)
  })

  t.test('a job never overlaps itself', async (t) => {
    const scheduler = new JobScheduler(db, capturingLog())
    let running = 0
    let most = 0
    let runs = 0
    scheduler.register(testJob('slow', async () => {
      running++
      most = Math.max(most, running)
      await sleep(30)
      running--
      runs++
    }))
    const results = await Promise.all([1, 2, 3].map(() => scheduler.runNow('slow')))
    t.same(results, [true, true, true])
    t.equal(runs, 3)
    t.equal(most, 1)
    await scheduler.stop()
  })

  t.test('a failing run rolls back, is logged, and the schedule goes on', async (t) => {
    const log = capturingLog()
    const scheduler = new JobScheduler(db, log)
    const account = await createTestAccount(app)
    let attempts = 0
    scheduler.register(testJob('flaky', async ({ db }) => {
      attempts++
      await db.insert(events).values({ id: `evt_flaky${attempts}`, accountId: account.accountId, type: 'test.flaky', payload: {} })
      throw new Error('boom')
    }, 40))
    await t.rejects(scheduler.runNow('flaky'), /boom/, 'runNow reports the failure to its caller')
    scheduler.start()
    await waitFor(() => log.lines.filter((line) => line.level === 'error').length >= 2)
    await scheduler.stop()
    t.ok(attempts >= 3)
    t.match(log.lines.find((line) => line.level === 'error'), { obj: { job: 'flaky', err: { message: 'boom' } } })
    const written = await db.select().from(events).where(eq(events.accountId, account.accountId))
    t.same(written.filter((row) => row.type === 'test.flaky'), [], 'every failed run was rolled back')
  })

  t.test('stop waits for the run in progress and ends the schedule', async (t) => {
    const scheduler = new JobScheduler(db, capturingLog())
    const gate = deferred()
    let finished = false
    let runs = 0
    scheduler.register(testJob('gated', async () => {
      runs++
      await gate.promise
      finished = true
    }, 20))
    scheduler.start()
    await waitFor(() => runs === 1)
    let stopped = false
    const stopping = scheduler.stop().then(() => { stopped = true })
    await sleep(50)
    t.notOk(stopped, 'still waiting for the run')
    gate.resolve()
    await stopping
    t.ok(finished, 'the run completed before stop resolved')
    await sleep(60)
    t.equal(runs, 1, 'no run after stop')
  })

  t.test('app.close stops the jobs before the database closes', async (t) => {
    const { app: other } = await buildTestApp(t)
    const gate = deferred()
    let committed = false
    other.scheduler.register(testJob('closing', async ({ db }) => {
      await gate.promise
      await db.execute(sql`select 1`)
      committed = true
    }))
    const running = other.scheduler.runNow('closing')
    const closing = other.close()
    await sleep(30)
    gate.resolve()
    await closing
    t.equal(await running, true)
    t.ok(committed)
  })
})

t.test('several instances on one PostgreSQL', { skip: process.env.DATABASE_URL ? false : 'needs DATABASE_URL (PGlite is one process)' }, async (t) => {
  const one = await buildTestApp(t)
  const { app: first } = one
  const { app: second } = await buildTestApp(t, {}, { sharedWith: one })

  t.test('while one instance holds a job’s lock, another skips the run', async (t) => {
    const gate = deferred()
    let entered = false
    const lockId = nextLockId++
    first.scheduler.register({ name: 'contended', lockId, intervalMs: 86_400_000, run: async () => { entered = true; await gate.promise } })
    let secondRan = false
    second.scheduler.register({ name: 'contended', lockId, intervalMs: 86_400_000, run: async () => { secondRan = true } })
    const holding = first.scheduler.runNow('contended')
    await waitFor(() => entered)
    t.equal(await second.scheduler.runNow('contended'), false, 'skipped: the other instance holds the lock')
    t.notOk(secondRan)
    gate.resolve()
    t.equal(await holding, true)
    t.equal(await second.scheduler.runNow('contended'), true, 'runs once the lock is free')
  })

  t.test('concurrent detector runs raise each alert once, with one event each', async (t) => {
    const now = scenarioClock()()
    const account = await createTestAccount(first)
    await insertRollups(first, perMinute({ keyId: account.keyId, accountId: account.accountId }, now, 5, 1, 40, 30))
    await insertFailedAuth(first, failuresBefore(now, 30, { ip: '203.0.113.8', keyPrefix: account.key.slice(0, 12) }))
    const ran = await Promise.all([first, second, first, second].map((app) => app.scheduler.runNow(ALERT_DETECTORS_JOB, { now })))
    t.ok(ran.includes(true), `at least one instance ran the window (${ran.join(', ')})`)
    const raised = await first.database.db.select().from(alerts).where(eq(alerts.accountId, account.accountId))
    t.same(raised.map((alert) => alert.type).sort(), ['failed_auth_burst', 'rate_limit_storm', 'request_spike'])
    t.equal(new Set(raised.map((alert) => alert.dedupeKey)).size, raised.length)
    const outbox = await first.database.db.select().from(events).where(eq(events.accountId, account.accountId))
    t.equal(outbox.length, raised.length, 'one alert.created event per alert')
  })
})
