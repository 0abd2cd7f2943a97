import t from 'tap'
import { count, eq } from 'drizzle-orm'
import { buildTestApp, createTestAccount, randomClientIp } from '../helper/app.js'
import { failedAuthEvents, usageEvents, usageRollups } from '../../src/db/schema/index.js'
import { writeFailedAuthBatch, writeUsageBatch, type UsageEntry } from '../../src/usage/writer.js'
import { pruneUsage, usageRetentionJob } from '../../src/usage/retention.js'

const DAY = 86_400_000
/**
 * The clock the pruning runs at. Far in the past, so that on a PostgreSQL shared with other test
 * files running at the same time, the only rows past its cutoffs are the ones this test wrote.
 */
const NOW = new Date('2001-06-01T12:00:00Z')

t.test('retention: rows past the cutoff are pruned in bounded batches, newer rows kept', async (t) => {
  const { app, config } = await buildTestApp(t, { USAGE_LOG_ENABLED: false, USAGE_LOG_RETENTION_DAYS: 30, ALERT_INTERVAL_SECONDS: 90 })
  const { db } = app.database
  const owner = await createTestAccount(app)
  const client = randomClientIp()
  let n = 0
  const at = (daysAgo: number, plusMs = 0): UsageEntry => ({
    id: `req_retention_${owner.accountId.slice(5)}_${n++}`, accountId: owner.accountId, keyId: owner.keyId, method: 'GET',
    route: '/api/v1/keys/current', status: 200, latencyMs: 4, clientIp: client, userAgent: null, rateLimit: 'allowed',
    createdAt: new Date(NOW.getTime() - daysAgo * DAY + plusMs),
  })
  // 7 raw rows past 30 days (spread over distinct minutes), 2 within; rollups at 401 and 399 days.
  await writeUsageBatch(app.database, [
    ...Array.from({ length: 5 }, (_, i) => at(31, i * 60_000)),
    at(401), at(399), at(30, 60_000), at(29),
  ])
  const failure = (daysAgo: number) => ({
    clientIp: client, keyPrefix: null, accountId: null, keyId: null, reason: 'invalid_api_key', createdAt: new Date(NOW.getTime() - daysAgo * DAY),
  })
  await writeFailedAuthBatch(db, [failure(45), failure(31), failure(2)])

  const rawLeft = async () => (await db.select({ createdAt: usageEvents.createdAt }).from(usageEvents).where(eq(usageEvents.accountId, owner.accountId)))
    .map((row) => Math.round((NOW.getTime() - row.createdAt.getTime()) / DAY)).sort((a, b) => a - b)
  const rollupsLeft = async () => (await db.select({ n: count() }).from(usageRollups).where(eq(usageRollups.accountId, owner.accountId)))[0]!.n
  const failuresLeft = async () => (await db.select({ createdAt: failedAuthEvents.createdAt }).from(failedAuthEvents).where(eq(failedAuthEvents.clientIp, client)))
    .map((row) => Math.round((NOW.getTime() - row.createdAt.getTime()) / DAY)).sort((a, b) => a - b)
  t.equal((await rawLeft()).length, 9)
  t.equal(await rollupsLeft(), 9)

  // A capped run: batches of 2, at most 2 batches per table → 4 of the 7 old raw rows.
  const capped = await pruneUsage(db, NOW, 30, { batchSize: 2, maxBatches: 2 })
  t.same(capped, { usageEvents: 4, failedAuthEvents: 2, usageRollups: 1 }, 'each table stops at the per-run cap')
  t.equal((await rawLeft()).length, 5, 'the rest waits for the next run')

  const job = usageRetentionJob(config)
  t.match(job, { name: 'usage-retention', lockId: 710_001, intervalMs: 90_000 })
  const logged: object[] = []
  await job.run({ db, now: NOW, log: { info: (obj) => { logged.push(obj) }, warn: () => {} } })
  t.same(await rawLeft(), [29, 30], 'raw rows within 30 days kept, older ones gone')
  t.same(await failuresLeft(), [2], 'failed-auth records follow the same retention')
  t.equal(await rollupsLeft(), 8, 'rollups are kept 400 days: only the 401-day-old one went')
  t.match(logged, [{ deleted: { usageEvents: 3, failedAuthEvents: 0, usageRollups: 0 }, retentionDays: 30 }])

  const again = await pruneUsage(db, NOW, 30)
  t.same(again, { usageEvents: 0, failedAuthEvents: 0, usageRollups: 0 }, 'idempotent: a second run finds nothing')
})
