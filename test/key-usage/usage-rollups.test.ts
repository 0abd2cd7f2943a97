import t from 'tap'
import { performance } from 'node:perf_hooks'
import { and, count, eq, inArray, sql } from 'drizzle-orm'
import { buildTestApp, call, createTestAccount } from '../helper/app.js'
import { usageEvents, usageRollups } from '../../src/db/schema/index.js'
import { writeUsageBatch, type UsageEntry } from '../../src/usage/writer.js'

const TOTAL = 100_000
/** The plugin's default USAGE_BUFFER_SIZE: what one flush writes at most under load. */
const BATCH = 5_000
const DAY = 86_400_000
const SPAN = 30 * DAY

/**
 * The measurement: 100,000 requests over 30 days, written through the real writer, and a
 * 30-day `granularity=day` query that answers from the rollups alone — proven by deleting every
 * raw row first and getting the same totals.
 */
t.test('100,000 usage rows: the 30-day day series is answered from rollups, not raw rows', async (t) => {
  // The app's own request logging is off: only the entries written below are in the account's rows.
  const { app } = await buildTestApp(t, { USAGE_LOG_ENABLED: false })
  const { db } = app.database
  const owner = await createTestAccount(app, { plan: 'enterprise', hourlyLimit: 1_000_000, burstLimit: 100_000 })
  const keyIds = [owner.keyId]
  for (const name of ['worker', 'cron']) {
    const created = await call(app, { method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name, scopes: ['calls:read'] } })
    keyIds.push(created.json().id)
  }

  // The 30 days up to now, an hour short of the retention cutoff so that a retention run
  // (another test file's, on a shared PostgreSQL) cannot touch these rows mid-test.
  const to = Date.now() - 60_000
  const from = Date.now() - SPAN + 3_600_000
  const expected = { requests: 0, errors: 0, rateLimited: 0 }
  const entries: UsageEntry[] = []
  for (let i = 0; i < TOTAL; i++) {
    // Latency mix per block of 100: 60 fast (3 ms → ≤5 bucket), 38 medium (40 ms → ≤50), 2 slow
    // (1.5 s → ≤2000). Every whole day holds ~3,300 consecutive requests, so its p50 is 5 and
    // its p99 (cumulative 98 % at ≤50) is 2000 — per key too (~1,100 a day each).
    const slot = i % 100
    const latencyMs = slot < 60 ? 3 : slot < 98 ? 40 : 1_500
    const status = i % 50 === 0 ? 429 : i % 50 <= 3 ? (i % 2 ? 404 : 500) : 200
    expected.requests++
    if (status >= 400) expected.errors++
    if (status === 429) expected.rateLimited++
    entries.push({
      id: `req_rollup_${owner.accountId.slice(5)}_${i}`,
      accountId: owner.accountId,
      keyId: keyIds[i % keyIds.length]!,
      method: i % 7 === 0 ? 'POST' : 'GET',
      route: '/api/v1/calls',
      status,
      latencyMs,
      clientIp: `198.51.100.${i % 200}`,
      userAgent: 'load-generator/1.0',
      rateLimit: status === 429 ? 'limited' : 'allowed',
      createdAt: new Date(from + Math.floor((i * (to - from)) / TOTAL)),
    })
  }

  const writeStarted = performance.now()
  for (let i = 0; i < entries.length; i += BATCH) await writeUsageBatch(app.database, entries.slice(i, i + BATCH))
  const writeMs = performance.now() - writeStarted

  const [raw] = await db.select({ n: count() }).from(usageEvents).where(eq(usageEvents.accountId, owner.accountId))
  t.equal(raw!.n, TOTAL, 'every raw row was written')
  const [rollupRows] = await db.select({ n: count(), requests: sql<number>`sum(${usageRollups.requests})`.mapWith(Number) })
    .from(usageRollups).where(eq(usageRollups.accountId, owner.accountId))
  t.equal(rollupRows!.requests, TOTAL, 'the rollups count every request once')

  // The proof: no raw row left, same answer.
  await db.delete(usageEvents).where(and(eq(usageEvents.accountId, owner.accountId), inArray(usageEvents.keyId, keyIds)))
  const [left] = await db.select({ n: count() }).from(usageEvents).where(eq(usageEvents.accountId, owner.accountId))
  t.equal(left!.n, 0, 'all raw rows deleted before querying')

  // The 30-day view exactly as a client asks for it: `granularity=day`, default window.
  const queryStarted = performance.now()
  const series = await Promise.all(keyIds.map(async (keyId) => {
    const response = await call(app, { url: `/api/v1/keys/${keyId}/usage?granularity=day`, key: owner.key })
    t.equal(response.statusCode, 200)
    return response.json() as { from: string; data: { start: string; requests: number; errors: number; rate_limited: number; p50_ms: number; p99_ms: number }[] }
  }))
  const queryMs = performance.now() - queryStarted

  const totals = { requests: 0, errors: 0, rateLimited: 0 }
  for (const { from: seriesFrom, data } of series) {
    t.equal(data.length, 31, 'thirty days back from now, from the start of that day: 31 day buckets')
    t.equal(seriesFrom, new Date(Math.floor((Date.now() - SPAN) / DAY) * DAY).toISOString())
    for (const bucket of data) {
      totals.requests += bucket.requests
      totals.errors += bucket.errors
      totals.rateLimited += bucket.rate_limited
    }
    const wholeDays = data.slice(1, -1)
    t.ok(wholeDays.every((bucket) => bucket.requests > 1_000), 'each whole day holds this key’s ~1,100 requests')
    t.ok(wholeDays.every((bucket) => bucket.p50_ms === 5), 'p50 of every whole day is the ≤5 ms bucket bound')
    t.ok(wholeDays.every((bucket) => bucket.p99_ms === 2000), 'p99 of every whole day is the ≤2000 ms bucket bound')
  }
  t.same(totals, expected, `series totals after deleting the raw rows: ${JSON.stringify(expected)}`)
  t.equal(totals.requests, TOTAL)

  t.comment(`wrote ${TOTAL} entries in ${TOTAL / BATCH} batches (${rollupRows!.n} rollup rows) in ${writeMs.toFixed(0)} ms `
    + `(${((TOTAL / writeMs) * 1000).toFixed(0)} entries/s) on ${app.database.kind}; `
    + `three 30-day day series in ${queryMs.toFixed(0)} ms`)
})
