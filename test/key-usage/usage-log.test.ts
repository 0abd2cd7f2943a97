import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { eq } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { FULL_KEY_PATTERN, TEST_PEPPER, buildTestApp, call, createTestAccount, randomClientIp } from '../helper/app.js'
import { failedAuthEvents, usageEvents } from '../../src/db/schema/index.js'
import { displayPrefix, generateApiKey } from '../../src/keys/format.js'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { openDatabase } from '../../src/db/client.js'
import { writeUsageBatch, type UsageEntry } from '../../src/usage/writer.js'

/** Nothing reaches the database until the test flushes: what is asserted is what the hook buffered. */
const HELD = { USAGE_FLUSH_INTERVAL_MS: 60_000, USAGE_BUFFER_SIZE: 10_000 }

async function eventsOf(app: FastifyInstance, keyId: string) {
  await app.usageLog.flush()
  return app.database.db.select().from(usageEvents).where(eq(usageEvents.keyId, keyId))
}

async function failuresFrom(app: FastifyInstance, clientIp: string) {
  await app.usageLog.flush()
  return app.database.db.select().from(failedAuthEvents).where(eq(failedAuthEvents.clientIp, clientIp))
}

async function createKey(app: FastifyInstance, ownerKey: string, body: Record<string, unknown>) {
  const response = await call(app, { method: 'POST', url: '/api/v1/keys', key: ownerKey, payload: body })
  if (response.statusCode !== 201) throw new Error(`key creation failed: ${response.body}`)
  return response.json() as { id: string; key: string; prefix: string }
}

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** One app for the API-level tests: building one costs seconds, and they share nothing but it. */
t.test('usage log through the API', async (t) => {
  const { app } = await buildTestApp(t, HELD)

  t.test('every admitted request is logged: route pattern, status, latency, address, agent, outcome', async (t) => {
    const owner = await createTestAccount(app)
    const reader = await createKey(app, owner.key, { name: 'reader', scopes: ['credits:read'] })
    const started = Date.now()
    const agent = `integration-test/1.0 ${'x'.repeat(400)}`

    const ok = await call(app, { url: `/api/v1/keys/${reader.id}?x=secret`, key: owner.key, remoteAddress: '::ffff:203.0.113.9', headers: { 'user-agent': agent } })
    t.equal(ok.statusCode, 200)
    const forbidden = await call(app, { url: '/api/v1/keys?limit=5', key: reader.key, remoteAddress: '2001:db8:abcd:12::7' })
    t.equal(forbidden.statusCode, 403, 'insufficient scope is still the key’s own (admitted) use')
    const missing = await call(app, { url: '/api/v1/no-such-thing/42?token=hunter2', key: reader.key })
    t.equal(missing.statusCode, 404)
    const invalid = await call(app, { url: '/api/v1/credits/transactions?limit=0', key: reader.key })
    t.equal(invalid.statusCode, 400)

    t.equal(app.usageLog.stats().usage.pending, 5, 'buffered (the key creation and these four), not yet written')
    const written = await app.database.db.select().from(usageEvents).where(eq(usageEvents.accountId, owner.accountId))
    t.equal(written.length, 0, 'the request path wrote nothing itself')

    const ownerRows = await eventsOf(app, owner.keyId)
    t.same(ownerRows.map((row) => row.route).sort(), ['/api/v1/keys', '/api/v1/keys/:id'], 'the key creation and the read')
    const ownerRow = ownerRows.find((row) => row.id === ok.headers['x-request-id'])
    t.match(ownerRow, {
      id: ok.headers['x-request-id'],
      accountId: owner.accountId,
      method: 'GET',
      route: '/api/v1/keys/:id',
      status: 200,
      clientIp: '203.0.113.9',
      clientNetwork: '203.0.113.0/24',
      rateLimit: 'allowed',
    })
    t.ok(Number.isInteger(ownerRow!.latencyMs) && ownerRow!.latencyMs >= 0, 'latency in whole milliseconds')
    t.equal(ownerRow!.userAgent, agent.slice(0, 256), 'the user agent is cut at 256 characters')
    t.ok(ownerRow!.createdAt.getTime() >= started - 5 && ownerRow!.createdAt.getTime() <= Date.now(), 'created_at is when the request arrived')

    const readerRows = await eventsOf(app, reader.id)
    const byStatus = new Map(readerRows.map((row) => [row.status, row]))
    t.match(byStatus.get(403), { route: '/api/v1/keys', clientIp: '2001:db8:abcd:12::7', clientNetwork: '2001:db8:abcd::/48' })
    t.match(byStatus.get(404), { route: '(not found)' })
    t.match(byStatus.get(400), { route: '/api/v1/credits/transactions' })
    const everything = JSON.stringify(await app.database.db.select().from(usageEvents).where(eq(usageEvents.accountId, owner.accountId)))
    t.notMatch(everything, '?', 'no raw URL or query string is stored')
    t.notMatch(everything, 'secret')
    t.notMatch(everything, 'hunter2')
  })

  t.test('a request refused by the key’s rate limit is logged as limited', async (t) => {
    const tiny = await createTestAccount(app, { plan: 'enterprise', hourlyLimit: 100, burstLimit: 1 })
    t.equal((await call(app, { url: '/api/v1/keys/current', key: tiny.key })).statusCode, 200)
    t.equal((await call(app, { url: '/api/v1/keys/current', key: tiny.key })).statusCode, 429)
    const rows = await eventsOf(app, tiny.keyId)
    t.same(rows.map((row) => [row.status, row.rateLimit]).sort(), [[200, 'allowed'], [429, 'limited']])
    t.ok(rows.every((row) => row.route === '/api/v1/keys/current'))
  })

  t.test('failed authentication is recorded with the display prefix when the key parsed, never the key', async (t) => {
    const owner = await createTestAccount(app)
    const revoked = await createKey(app, owner.key, { name: 'revoked', scopes: ['credits:read'] })
    t.equal((await call(app, { method: 'DELETE', url: `/api/v1/keys/${revoked.id}`, key: owner.key })).statusCode, 200)
    const fenced = await createKey(app, owner.key, { name: 'fenced', scopes: ['credits:read'], ip_allowlist: ['192.0.2.0/24'] })
    const unknown = generateApiKey()
    const client = randomClientIp()
    const attempts = [
      [401, 'missing_api_key', {}],
      [401, 'invalid_api_key', { authorization: 'Bearer not-a-key-at-all' }],
      [401, 'invalid_api_key', { 'x-api-key': unknown }],
      [401, 'revoked_api_key', { authorization: `Bearer ${revoked.key}` }],
      [403, 'ip_not_allowed', { authorization: `Bearer ${fenced.key}` }],
    ] as const
    for (const [status, code, headers] of attempts) {
      const response = await call(app, { url: '/api/v1/credits/balance', headers, remoteAddress: client })
      t.equal(response.statusCode, status)
      t.equal(response.json().code, code)
    }

    const rows = await failuresFrom(app, client)
    const simplified = rows.map((row) => ({ reason: row.reason, keyPrefix: row.keyPrefix, accountId: row.accountId, keyId: row.keyId }))
    t.same(simplified.sort((a, b) => `${a.reason}${a.keyPrefix}`.localeCompare(`${b.reason}${b.keyPrefix}`)), [
      { reason: 'invalid_api_key', keyPrefix: null, accountId: null, keyId: null },
      { reason: 'invalid_api_key', keyPrefix: displayPrefix(unknown), accountId: null, keyId: null },
      { reason: 'ip_not_allowed', keyPrefix: fenced.prefix, accountId: owner.accountId, keyId: fenced.id },
      { reason: 'missing_api_key', keyPrefix: null, accountId: null, keyId: null },
      { reason: 'revoked_api_key', keyPrefix: displayPrefix(revoked.key), accountId: owner.accountId, keyId: revoked.id },
    ].sort((a, b) => `${a.reason}${a.keyPrefix}`.localeCompare(`${b.reason}${b.keyPrefix}`)))
    t.ok(rows.every((row) => row.createdAt.getTime() <= Date.now() && row.createdAt.getTime() > Date.now() - 60_000))

    t.same(await eventsOf(app, revoked.id), [], 'refused requests are not usage')
    t.same(await eventsOf(app, fenced.id), [], 'a request outside the allowlist is not the key’s use')
    const allRows = JSON.stringify([
      ...await app.database.db.select().from(failedAuthEvents),
      ...await app.database.db.select().from(usageEvents),
    ])
    t.notMatch(allRows, FULL_KEY_PATTERN, 'no full key in any usage or failed-auth row')
    t.notMatch(allRows, unknown.slice(12), 'not even the secret part of an unknown key')
  })

  t.test('GET /keys/{id}/logs: newest first, keyset pages, filters', async (t) => {
    const owner = await createTestAccount(app)
    const subject = await createKey(app, owner.key, { name: 'subject', scopes: ['credits:read'] })
    const early = randomClientIp()
    const late = randomClientIp()
    const expected: string[] = []
    const send = async (url: string, remoteAddress: string) => {
      const response = await call(app, { url, key: subject.key, remoteAddress })
      expected.push(String(response.headers['x-request-id']))
      await sleep(2) // distinct timestamps, so "newest first" is observable
    }
    for (let i = 0; i < 3; i++) await send('/api/v1/credits/balance', early)
    await send('/api/v1/keys', early) // 403
    await sleep(10)
    const boundary = new Date()
    await sleep(10)
    await send('/api/v1/keys', late) // 403
    await send('/api/v1/credits/balance', late)
    await send('/api/v1/nowhere', late) // 404
    await app.usageLog.flush()

    const list = (query: string) => call(app, { url: `/api/v1/keys/${subject.id}/logs${query}`, key: owner.key })
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const response = await list(`?limit=3${cursor ? `&cursor=${cursor}` : ''}`)
      t.equal(response.statusCode, 200)
      const page = response.json()
      seen.push(...page.data.map((entry: { id: string }) => entry.id))
      cursor = page.next_cursor
      t.equal(page.has_more, cursor !== null)
      pages++
    } while (cursor)
    t.equal(pages, 3, '7 entries in pages of 3')
    t.same(seen, [...expected].reverse(), 'every entry once, newest first')

    const first = (await list('?limit=1')).json().data[0]
    t.same(Object.keys(first).sort(), ['client_ip', 'created_at', 'id', 'latency_ms', 'method', 'rate_limit', 'route', 'status', 'user_agent'])
    t.match(first, { route: '(not found)', status: 404, method: 'GET', client_ip: late, rate_limit: 'allowed' })

    const forbidden = (await list('?status=403')).json().data
    t.same(forbidden.map((entry: { status: number }) => entry.status), [403, 403])
    t.equal((await list(`?ip=${late}`)).json().data.length, 3)
    t.equal((await list(`?ip=${early}&status=200`)).json().data.length, 3)
    t.equal((await list(`?ip=::ffff:${early}`)).json().data.length, 4, 'an IPv4-mapped spelling finds the IPv4 rows')
    const after = (await list(`?created_after=${boundary.toISOString()}`)).json().data
    t.same(after.map((entry: { id: string }) => entry.id), expected.slice(4).reverse())
    const before = (await list(`?created_before=${boundary.toISOString()}&limit=100`)).json().data
    t.same(before.map((entry: { id: string }) => entry.id), expected.slice(0, 4).reverse())
    const filteredPage = (await list(`?created_before=${boundary.toISOString()}&limit=2`)).json()
    const filteredNext = (await list(`?created_before=${boundary.toISOString()}&limit=2&cursor=${filteredPage.next_cursor}`)).json()
    t.same([...filteredPage.data, ...filteredNext.data].map((entry: { id: string }) => entry.id), expected.slice(0, 4).reverse(), 'filters hold across pages')
    t.equal(filteredNext.has_more, false)

    for (const bad of ['?status=99', '?status=600', '?created_after=yesterday', `?ip=${'1'.repeat(65)}`, '?limit=0', '?verbose=true']) {
      const response = await list(bad)
      t.equal(response.statusCode, 400, bad)
      t.equal(response.json().code, 'validation_failed', bad)
    }
    t.equal((await list('?cursor=bm90LWEtY3Vyc29y')).json().code, 'invalid_cursor')
    const readerTries = await call(app, { url: `/api/v1/keys/${subject.id}/logs`, key: subject.key })
    t.equal(readerTries.statusCode, 403, 'keys:manage is required')
  })


  t.test('GET /keys/{id}/usage: minute, hour and day series from the rollups', async (t) => {
    const owner = await createTestAccount(app)
    const subject = await createKey(app, owner.key, { name: 'subject', scopes: ['credits:read'] })
    // Anchored mid-minute, mid-hour and mid-day so no group of entries straddles a bucket edge.
    const now = Date.now()
    const anchor = Math.floor(now / DAY) * DAY - DAY + 12 * HOUR + 30 * MINUTE + 30_000 // yesterday 12:30:30 UTC
    let n = 0
    const entry = (at: number, status: number, latencyMs: number, rateLimit: 'allowed' | 'limited' = 'allowed'): UsageEntry => ({
      id: `req_usage_${subject.id.slice(4)}_${n++}`, accountId: owner.accountId, keyId: subject.id, method: 'GET', route: '/api/v1/credits/balance',
      status, latencyMs, clientIp: '192.0.2.1', userAgent: null, rateLimit, createdAt: new Date(at),
    })
    // Two batches into the same minute: the second is added to the first rollup row, histograms element-wise.
    await writeUsageBatch(app.database, [entry(anchor, 200, 3), entry(anchor + 1_000, 404, 40)])
    await writeUsageBatch(app.database, [entry(anchor + 2_000, 429, 1, 'limited'), entry(anchor + MINUTE, 200, 150)])
    await writeUsageBatch(app.database, [entry(anchor - 2 * HOUR, 500, 700), entry(anchor - 3 * DAY, 200, 12)])
    const to = anchor + 30 * MINUTE
    const usage = (query: string) => call(app, { url: `/api/v1/keys/${subject.id}/usage${query}`, key: owner.key })

    const minutes = await usage(`?granularity=minute&to=${new Date(to).toISOString()}`)
    t.equal(minutes.statusCode, 200)
    const minuteSeries = minutes.json()
    t.equal(minuteSeries.granularity, 'minute')
    t.equal(minuteSeries.data.length, 61, 'the default hour, zero-filled minute by minute (plus the partial minute at each end)')
    t.equal(minuteSeries.from, new Date(Math.floor((to - HOUR) / MINUTE) * MINUTE).toISOString())
    const busy = minuteSeries.data.find((bucket: { start: string }) => bucket.start === new Date(anchor - 30_000).toISOString())
    t.same(busy, { start: new Date(anchor - 30_000).toISOString(), requests: 3, errors: 2, rate_limited: 1, p50_ms: 5, p99_ms: 50 },
      'latencies 1, 3, 40 ms: the median is in the ≤5 ms bucket, p99 in the ≤50 ms bucket')
    const next = minuteSeries.data.find((bucket: { start: string }) => bucket.start === new Date(anchor - 30_000 + MINUTE).toISOString())
    t.match(next, { requests: 1, errors: 0, p50_ms: 200, p99_ms: 200 })
    const quiet = minuteSeries.data.filter((bucket: { requests: number }) => bucket.requests === 0)
    t.equal(quiet.length, 59)
    t.same(quiet[0], { start: quiet[0].start, requests: 0, errors: 0, rate_limited: 0, p50_ms: null, p99_ms: null })

    const hours = (await usage(`?granularity=hour&to=${new Date(to).toISOString()}`)).json()
    t.equal(hours.data.length, 25)
    const hourOf = (at: number) => hours.data.find((bucket: { start: string }) => bucket.start === new Date(Math.floor(at / HOUR) * HOUR).toISOString())
    t.same(hourOf(anchor), { start: new Date(Math.floor(anchor / HOUR) * HOUR).toISOString(), requests: 4, errors: 2, rate_limited: 1, p50_ms: 5, p99_ms: 200 })
    t.match(hourOf(anchor - 2 * HOUR), { requests: 1, errors: 1, p50_ms: 1000, p99_ms: 1000 })
    t.equal(hours.data.reduce((sum: number, bucket: { requests: number }) => sum + bucket.requests, 0), 5, 'the 3-day-old request is outside 24 h')

    const days = (await usage(`?granularity=day&to=${new Date(to).toISOString()}`)).json()
    t.equal(days.data.length, 31, '30 days back, from the start of that day')
    t.same(days.data.map((bucket: { requests: number }) => bucket.requests).filter((count: number) => count > 0), [1, 5])
    t.match(days.data.find((bucket: { requests: number }) => bucket.requests === 5), { errors: 3, rate_limited: 1, p50_ms: 50, p99_ms: 1000 })

    const window = (await usage(`?granularity=hour&from=${new Date(anchor - 3 * HOUR).toISOString()}&to=${new Date(anchor + HOUR).toISOString()}`)).json()
    t.same(window.data.map((bucket: { requests: number }) => bucket.requests), [0, 1, 0, 4, 0], '09:00 to 13:00, both partial hours included')

    const defaults = (await usage('')).json()
    t.equal(defaults.granularity, 'hour', 'hour by default')
    t.equal(defaults.data.length, 25, 'the last 24 hours from the start of the first hour')
    t.ok(Math.abs(Date.parse(defaults.to) - Date.now()) < 60_000, 'to defaults to now')

    const refused = [
      `?granularity=minute&from=${new Date(to - DAY - MINUTE).toISOString()}&to=${new Date(to).toISOString()}`,
      `?granularity=hour&from=${new Date(to - 32 * DAY).toISOString()}&to=${new Date(to).toISOString()}`,
      `?granularity=day&from=${new Date(to - 401 * DAY).toISOString()}&to=${new Date(to).toISOString()}`,
      `?from=${new Date(to).toISOString()}&to=${new Date(to).toISOString()}`,
      `?from=${new Date(to).toISOString()}&to=${new Date(to - HOUR).toISOString()}`,
      '?granularity=week',
      '?from=last-tuesday',
      '?granularity=day&bucket=1',
    ]
    for (const query of refused) {
      const response = await usage(query)
      t.equal(response.statusCode, 400, query)
      t.equal(response.json().code, 'validation_failed', query)
    }
    t.equal((await usage(`?granularity=day&from=${new Date(to - 400 * DAY).toISOString()}&to=${new Date(to).toISOString()}`)).statusCode, 200, '400 days is within bounds')
    const fullDay = await usage(`?granularity=minute&from=${new Date(to - DAY).toISOString()}&to=${new Date(to).toISOString()}`)
    t.equal(fullDay.statusCode, 200, 'exactly 24 hours of minutes, unaligned')
    t.equal(fullDay.json().data.length, 1441)
  })

  t.test('real traffic reaches the rollups too', async (t) => {
    const owner = await createTestAccount(app)
    for (let i = 0; i < 5; i++) await call(app, { url: '/api/v1/credits/balance', key: owner.key })
    await call(app, { url: '/api/v1/nowhere', key: owner.key })
    await app.usageLog.flush()
    const series = (await call(app, { url: `/api/v1/keys/${owner.keyId}/usage?granularity=minute`, key: owner.key })).json()
    const totals = series.data.reduce((sum: { requests: number; errors: number }, bucket: { requests: number; errors: number }) =>
      ({ requests: sum.requests + bucket.requests, errors: sum.errors + bucket.errors }), { requests: 0, errors: 0 })
    t.same(totals, { requests: 6, errors: 1 })
  })

  t.test('values that COPY treats specially are stored as sent', async (t) => {
    const owner = await createTestAccount(app)
    const agents = ['tab\there', 'line\nbreak\rreturn', 'back\\slash \\N \\t', '\\N', 'nul\u0000dropped', '']
    await writeUsageBatch(app.database, agents.map((userAgent, i) => ({
      id: `req_copy_${owner.keyId.slice(4)}_${i}`, accountId: owner.accountId, keyId: owner.keyId, method: 'GET', route: '/api/v1/odd\\route',
      status: 200, latencyMs: 1, clientIp: '::ffff:192.0.2.9', userAgent, rateLimit: 'allowed' as const, createdAt: new Date(Date.now() - 1_000 + i),
    })))
    const stored = (await eventsOf(app, owner.keyId)).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
    t.same(stored.map((row) => row.userAgent), agents.map((agent) => agent.replace('\u0000', '')), 'every agent exactly (NUL cannot be stored in text)')
    t.ok(stored.every((row) => row.route === '/api/v1/odd\\route' && row.clientIp === '192.0.2.9' && row.clientNetwork === '192.0.2.0/24'))
  })

  t.test('a batch that fails part-way is rolled back whole, and the next batch is written', async (t) => {
    const owner = await createTestAccount(app)
    let n = 0
    const entry = (overrides: Partial<UsageEntry> = {}): UsageEntry => ({
      id: `req_fail_${owner.keyId.slice(4)}_${n++}`, accountId: owner.accountId, keyId: owner.keyId, method: 'GET', route: '/api/v1/keys/current',
      status: 200, latencyMs: 2, clientIp: '192.0.2.20', userAgent: 'ok', rateLimit: 'allowed', createdAt: new Date(Date.now() - 5_000 + n), ...overrides,
    })
    // 2,500 good rows around a bad one: the server refuses it in the middle of the COPY stream.
    const refused = [...Array.from({ length: 1_500 }, () => entry()), entry({ latencyMs: Number.NaN }), ...Array.from({ length: 1_000 }, () => entry())]
    await t.rejects(writeUsageBatch(app.database, refused), 'the server refusing a row fails the batch')
    // A refused row in a batch small enough to be sent whole: the refusal reaches the client only
    // after it has ended the COPY (porsager/postgres#1173: the driver's stream never settles then).
    for (let i = 0; i < 5; i++) {
      await t.rejects(writeUsageBatch(app.database, [entry(), entry({ latencyMs: Number.NaN })]), 'a refusal after the end of the data fails the batch')
    }
    // Building a row throws (an invalid date) after the first chunk has already been sent.
    const unbuildable = [...Array.from({ length: 1_500 }, () => entry()), entry({ createdAt: new Date(Number.NaN) })]
    await t.rejects(writeUsageBatch(app.database, unbuildable), RangeError, 'a row that cannot be built fails the batch')
    t.equal((await eventsOf(app, owner.keyId)).length, 0, 'nothing of either batch was stored')
    await writeUsageBatch(app.database, [entry(), entry()])
    t.equal((await eventsOf(app, owner.keyId)).length, 2, 'the connection is usable again: the next batch is written')
  })

  t.test('tenant isolation: another account’s key id is a 404 on both endpoints', async (t) => {
    const a = await createTestAccount(app)
    const b = await createTestAccount(app)
    await call(app, { url: '/api/v1/credits/balance', key: a.key })
    await app.usageLog.flush()
    for (const path of ['logs', 'usage']) {
      const foreign = await call(app, { url: `/api/v1/keys/${a.keyId}/${path}`, key: b.key })
      t.equal(foreign.statusCode, 404, `${path}: 404, never a 403`)
      t.equal(foreign.json().code, 'not_found')
      t.notMatch(foreign.body, a.accountId)
      const unknown = await call(app, { url: `/api/v1/keys/key_0000000000000000000000/${path}`, key: a.key })
      t.equal(unknown.statusCode, 404, `${path}: an unknown key looks the same`)
      const own = await call(app, { url: `/api/v1/keys/${a.keyId}/${path}`, key: a.key })
      t.equal(own.statusCode, 200)
    }
    const aLogs = (await call(app, { url: `/api/v1/keys/${a.keyId}/logs`, key: a.key })).json()
    t.ok(aLogs.data.length >= 1)
  })
})

t.test('USAGE_LOG_ENABLED=false records no usage, but failed authentications still', async (t) => {
  const { app } = await buildTestApp(t, { ...HELD, USAGE_LOG_ENABLED: false })
  const owner = await createTestAccount(app)
  t.equal(app.usageLog.enabled, false)
  const client = randomClientIp()
  t.equal((await call(app, { url: '/api/v1/credits/balance', key: owner.key })).statusCode, 200)
  t.equal((await call(app, { url: '/api/v1/credits/balance', remoteAddress: client })).statusCode, 401)
  await app.usageLog.flush()
  t.same(app.usageLog.stats().usage, { pending: 0, dropped: 0, failed: 0, written: 0 })
  t.equal((await app.database.db.select().from(usageEvents).where(eq(usageEvents.accountId, owner.accountId))).length, 0)
  t.equal((await app.database.db.select().from(failedAuthEvents).where(eq(failedAuthEvents.clientIp, client))).length, 1,
    'failed authentications are security records, kept regardless')
  t.equal((await call(app, { url: `/api/v1/keys/${owner.keyId}/logs`, key: owner.key })).json().data.length, 0)
})

/**
 * Shutdown flushes the buffer. The app runs on a database that outlives it — PostgreSQL when
 * DATABASE_URL is set, else PGlite in a data folder (not in memory) — so after `app.close()` a
 * second, independent handle can look. Before close nothing has been written (60 s age, large
 * buffer); after close every request is there.
 */
t.test('shutdown writes everything still buffered before the database closes', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'voxpria-usage-shutdown-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const config = loadConfig({ ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'silent' }, {
    DATA_DIR: dataDir, KEY_PEPPER: TEST_PEPPER, AUTH_FAILURES_PER_MINUTE: 100_000, ...HELD,
  })
  const app = await buildApp(config, { inMemoryDatabase: false })
  await app.ready()
  const owner = await createTestAccount(app)
  const client = randomClientIp()
  for (let i = 0; i < 25; i++) await call(app, { url: '/api/v1/credits/balance', key: owner.key, remoteAddress: client })
  await call(app, { url: '/api/v1/credits/balance', remoteAddress: client })
  t.equal(app.usageLog.stats().usage.pending, 25)
  t.equal((await app.database.db.select().from(usageEvents).where(eq(usageEvents.keyId, owner.keyId))).length, 0, 'nothing written before close')
  await app.close()

  const database = await openDatabase({ DATABASE_URL: config.DATABASE_URL, DATA_DIR: dataDir })
  t.teardown(() => database.close())
  const rows = await database.db.select().from(usageEvents).where(eq(usageEvents.keyId, owner.keyId))
  t.equal(rows.length, 25, 'every buffered request was written at shutdown')
  const failures = await database.db.select().from(failedAuthEvents).where(eq(failedAuthEvents.clientIp, client))
  t.equal(failures.length, 1, 'and the failed authentication')
})
