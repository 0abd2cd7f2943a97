import t, { type Test } from 'tap'
import { and, eq, inArray } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, call, createTestAccount, FULL_KEY_PATTERN, type TestAccount } from '../helper/app.js'
import {
  failuresBefore, insertFailedAuth, insertRollups, insertUsageEvents, minutesBefore, perMinute, scenarioClock,
} from '../helper/synthetic-usage.js'
import { alerts, auditLog, detectorWatermarks, events, keyNetworks } from '../../src/db/schema/index.js'
import { runAlertDetectors, ALERT_DETECTORS_JOB } from '../../src/alerts/detectors.js'
import type { PublicAlert } from '../../src/alerts/service.js'
import { CLI_ACTOR } from '../../src/audit/record.js'

const prefixOf = (account: TestAccount) => account.key.slice(0, 12)

t.test('alert detectors and the alerts API', async (t) => {
  const { app } = await buildTestApp(t)
  const nextNow = scenarioClock()

  async function detect(now: Date) {
    const result = await runAlertDetectors(app.database.db, now)
    if (result.failed.length > 0) throw new Error(`detectors failed: ${result.failed.join(', ')}`)
    return result.raised
  }

  async function listed(account: TestAccount, query = ''): Promise<PublicAlert[]> {
    const response = await call(app, { url: `/api/v1/alerts?limit=100${query}`, key: account.key })
    t.equal(response.statusCode, 200)
    return response.json().data
  }

  async function outboxOf(accountId: string) {
    return app.database.db.select().from(events).where(eq(events.accountId, accountId))
  }

  /** Every alert the account has, as the API shows it, is exactly one outbox event's payload. */
  async function assertOutboxMatches(t: Test, account: TestAccount) {
    const shown = await listed(account)
    const outbox = await outboxOf(account.accountId)
    t.equal(outbox.length, shown.length, 'one alert.created event per alert')
    for (const alert of shown) {
      const event = outbox.filter((row) => (row.payload as PublicAlert).id === alert.id)
      t.equal(event.length, 1, `one event for ${alert.id}`)
      t.equal(event[0]?.type, 'alert.created')
      t.same(event[0]?.payload, alert, 'the payload is the alert exactly as GET /alerts shows it')
      t.match(event[0]?.id, /^evt_[0-9A-Za-z]{22}$/)
    }
  }

  async function newKey(account: TestAccount, name: string) {
    const created = await app.services.keys.create(account.accountId, { name, scopes: ['calls:read'] }, CLI_ACTOR)
    return { keyId: created.id, accountId: account.accountId, prefix: created.prefix }
  }

  t.test('request_spike: fires on a spike, silent on steady traffic and on a small new key; raised once', async (t) => {
    const account = await createTestAccount(app)
    const spiky = { keyId: account.keyId, accountId: account.accountId }
    const steady = await newKey(account, 'steady')
    const small = await newKey(account, 'small and new')
    const now = nextNow()
    await insertRollups(app, [
      ...perMinute(spiky, now, 65, 6, 10), // baseline: 50 per 5 minutes
      ...perMinute(spiky, now, 5, 1, 100), // window: 500 > 5 × 50
      ...perMinute(steady, now, 65, 1, 10),
      ...perMinute(small, now, 5, 1, 6), // 30 > 0 × 5, but below min_requests
    ])
    // Rows outside [now − 65 min, now) are not read: the current minute and older history.
    await insertRollups(app, [{ ...steady, minute: now, requests: 5000 }, { ...small, minute: minutesBefore(now, 66), requests: 1 }])

    const raised = await detect(now)
    t.same(raised.map((alert) => [alert.type, alert.key_id]), [['request_spike', account.keyId]])
    const [alert] = await listed(account, '&type=request_spike')
    t.match(alert, {
      id: /^alert_[0-9A-Za-z]{22}$/,
      type: 'request_spike',
      severity: 'warning',
      key_id: account.keyId,
      details: {
        requests: 500, baseline_per_5_minutes: 50, factor: 5, min_requests: 100,
        window_start: minutesBefore(now, 5).toISOString(), window_end: now.toISOString(),
      },
      created_at: now.toISOString(),
      acknowledged_at: null,
      acknowledged_by: null,
    })

    t.same(await detect(now), [], 'the same window again raises nothing')
    const nextMinute = await detect(new Date(now.getTime() + 60_000))
    t.notOk(nextMinute.some((alert) => alert.key_id === account.keyId), 'nor does the next minute’s run (same 15-minute bucket)')
    t.same(nextMinute.map((alert) => alert.key_id), [steady.keyId], 'where the row at `now` now counts')
    t.equal((await listed(account)).length, 2)
    await assertOutboxMatches(t, account)
  })

  t.test('failed_auth_burst: per address and account-wide, attributed by prefix or account; silent below threshold', async (t) => {
    const target = await createTestAccount(app)
    const quiet = await createTestAccount(app)
    const distributed = await createTestAccount(app)
    const bystander = await createTestAccount(app)
    const now = nextNow()
    await insertFailedAuth(app, [
      // 20 guesses of the target's key from one address (prefix only: the key did not verify)…
      ...failuresBefore(now, 20, { ip: '203.0.113.7', keyPrefix: prefixOf(target) }),
      // …after 40 more, before the window, which do not count.
      ...failuresBefore(minutesBefore(now, 6), 40, { ip: '203.0.113.7', keyPrefix: prefixOf(target) }),
      // 19 uses of a revoked key from one address: identified by account, one short of 20.
      ...failuresBefore(now, 19, { ip: '198.51.100.9', accountId: quiet.accountId, keyId: quiet.keyId, keyPrefix: prefixOf(quiet), reason: 'revoked_api_key' }),
      // 25 addresses, one attempt each, at the same account's key.
      ...Array.from({ length: 25 }, (_, i) => failuresBefore(now, 1, { ip: `192.0.2.${i + 1}`, keyPrefix: prefixOf(distributed) })).flat(),
      // Nobody's key, or no key at all: no account to tell.
      ...failuresBefore(now, 30, { ip: '203.0.113.99', keyPrefix: 'vxp_unknown0' }),
      ...failuresBefore(now, 30, { ip: '203.0.113.99', reason: 'missing_api_key' }),
      // A few stray failures against the bystander: normal noise.
      ...failuresBefore(now, 3, { ip: '198.51.100.1', keyPrefix: prefixOf(bystander) }),
      ...failuresBefore(now, 2, { ip: '198.51.100.2', keyPrefix: prefixOf(bystander) }),
    ])

    const raised = await detect(now)
    t.equal(raised.filter((alert) => alert.type === 'failed_auth_burst').length, 2)

    const [perIp, ...others] = await listed(target, '&type=failed_auth_burst')
    t.equal(others.length, 0, 'one address: no separate account-wide alert')
    t.match(perIp, {
      type: 'failed_auth_burst', severity: 'critical', key_id: target.keyId,
      details: { scope: 'ip', ip: '203.0.113.7', failures: 20, key_prefixes: [prefixOf(target)], reasons: ['invalid_api_key'], threshold: 20 },
    })
    t.same(await listed(quiet), [], '19 failures stay silent')
    t.same(await listed(bystander), [], 'scattered failures stay silent')

    const [accountWide, ...more] = await listed(distributed, '&type=failed_auth_burst')
    t.equal(more.length, 0)
    t.match(accountWide, {
      type: 'failed_auth_burst', severity: 'critical', key_id: distributed.keyId,
      details: { scope: 'account', failures: 25, ip_count: 25, key_prefixes: [prefixOf(distributed)] },
    })
    t.equal((accountWide?.details.ips as unknown[]).length, 10, 'the busiest 10 addresses are listed')
    t.notOk('ip' in (accountWide?.details ?? {}))

    t.same(await detect(now), [], 'raised once')
    await assertOutboxMatches(t, target)
    await assertOutboxMatches(t, distributed)

    t.test('settings: a higher threshold silences the same pattern; a disabled detector stays silent', async (t) => {
      const raise = await call(app, { method: 'PATCH', url: '/api/v1/settings/security', key: target.key, payload: { alerts: { failed_auth_burst: { threshold: 50 } } } })
      t.equal(raise.statusCode, 200)
      const disable = await call(app, { method: 'PATCH', url: '/api/v1/settings/security', key: distributed.key, payload: { alerts: { failed_auth_burst: { enabled: false } } } })
      t.equal(disable.statusCode, 200)
      const later = nextNow()
      await insertFailedAuth(app, [
        ...failuresBefore(later, 20, { ip: '203.0.113.7', keyPrefix: prefixOf(target) }),
        ...Array.from({ length: 25 }, (_, i) => failuresBefore(later, 1, { ip: `192.0.2.${i + 1}`, keyPrefix: prefixOf(distributed) })).flat(),
      ])
      t.same(await detect(later), [])
      await insertFailedAuth(app, failuresBefore(later, 30, { ip: '203.0.113.7', keyPrefix: prefixOf(target) }))
      const [louder] = await detect(later)
      t.match(louder, { type: 'failed_auth_burst', details: { failures: 50, threshold: 50 } }, '50 reach the raised threshold')
    })
  })

  t.test('new_network: first use is remembered silently; a second network alerts once', async (t) => {
    const account = await createTestAccount(app)
    const established = await newKey(account, 'established')
    const fresh = await newKey(account, 'fresh')
    const hopping = await newKey(account, 'hopping')
    const first = nextNow()
    await insertUsageEvents(app, [
      { ...established, at: minutesBefore(first, 4), ip: '198.51.100.23', network: '198.51.100.0/24' },
      { ...established, at: minutesBefore(first, 2), ip: '198.51.100.23', network: '198.51.100.0/24' },
    ])
    t.same(await detect(first), [], 'a key’s first network ever is not an alert')
    const remembered = await app.database.db.select().from(keyNetworks).where(eq(keyNetworks.keyId, established.keyId))
    t.same(remembered.map((row) => [row.network, row.firstSeenAt.toISOString()]), [['198.51.100.0/24', minutesBefore(first, 4).toISOString()]])

    const second = new Date(first.getTime() + 3_600_000)
    await insertUsageEvents(app, [
      { ...established, at: minutesBefore(second, 4), ip: '198.51.100.77', network: '198.51.100.0/24' },
      { ...established, at: minutesBefore(second, 3), ip: '203.0.113.5', network: '203.0.113.0/24', userAgent: 'curl/8.5.0' },
      { ...established, at: minutesBefore(second, 1), ip: '203.0.113.6', network: '203.0.113.0/24', userAgent: 'other' },
      { ...fresh, at: minutesBefore(second, 2), ip: '2001:db8:1::1', network: '2001:db8:1::/48' },
      // A brand-new key seen from two networks within one window: the second one is new.
      { ...hopping, at: minutesBefore(second, 4), ip: '192.0.2.10', network: '192.0.2.0/24' },
      { ...hopping, at: minutesBefore(second, 2), ip: '100.64.0.1', network: '100.64.0.0/24' },
    ])
    const raised = await detect(second)
    t.same(raised.map((alert) => [alert.key_id, alert.details.network]).sort(), [
      [established.keyId, '203.0.113.0/24'],
      [hopping.keyId, '100.64.0.0/24'],
    ].sort())
    const shown = (await listed(account, '&type=new_network')).find((alert) => alert.key_id === established.keyId)
    t.match(shown, {
      type: 'new_network', severity: 'warning',
      details: { network: '203.0.113.0/24', ip: '203.0.113.5', user_agent: 'curl/8.5.0', first_seen_at: minutesBefore(second, 3).toISOString() },
    })
    t.same(await detect(second), [], 'raised once')
    t.same(await detect(new Date(second.getTime() + 60_000)), [], 'the known network stays quiet in the next window')
    await assertOutboxMatches(t, account)

    t.test('disabled: networks are still remembered, nothing is raised', async (t) => {
      const muted = await createTestAccount(app)
      await call(app, { method: 'PATCH', url: '/api/v1/settings/security', key: muted.key, payload: { alerts: { new_network: { enabled: false } } } })
      const key = { keyId: muted.keyId, accountId: muted.accountId }
      const now = nextNow()
      await insertUsageEvents(app, [
        { ...key, at: minutesBefore(now, 4), ip: '198.51.100.1', network: '198.51.100.0/24' },
        { ...key, at: minutesBefore(now, 2), ip: '203.0.113.1', network: '203.0.113.0/24' },
      ])
      t.same(await detect(now), [])
      const rows = await app.database.db.select().from(keyNetworks).where(eq(keyNetworks.keyId, muted.keyId))
      t.equal(rows.length, 2)
    })
  })

  t.test('new_network: a pause between runs longer than the window still examines every request', async (t) => {
    const account = await createTestAccount(app)
    const key = await newKey(account, 'paused detectors')
    const start = nextNow()
    const watermark = async () => (await app.database.db.select().from(detectorWatermarks)
      .where(eq(detectorWatermarks.detector, 'new_network')))[0]?.evaluatedUntil.toISOString()
    // This file alone runs the detectors at these clocks; a database reused from an earlier run may
    // hold a later mark, so the scenario starts from its own.
    await app.database.db.insert(detectorWatermarks).values({ detector: 'new_network', evaluatedUntil: start })
      .onConflictDoUpdate({ target: detectorWatermarks.detector, set: { evaluatedUntil: start } })
    await insertUsageEvents(app, [{ ...key, at: minutesBefore(start, 1), ip: '198.51.100.9', network: '198.51.100.0/24' }])
    t.same(await detect(start), [], 'the first network is remembered')

    // No run for an hour (every instance down, or a long ALERT_INTERVAL_SECONDS); the key showed
    // up from a new network in the first minutes of it, long before the next run's 5 minutes.
    const later = new Date(start.getTime() + 3_600_000)
    await insertUsageEvents(app, [{ ...key, at: new Date(start.getTime() + 60_000), ip: '203.0.113.9', network: '203.0.113.0/24' }])
    const raised = await detect(later)
    t.same(raised.map((alert) => [alert.key_id, alert.details.network]), [[key.keyId, '203.0.113.0/24']], 'found, 59 minutes before the run')
    t.equal(await watermark(), later.toISOString(), 'the next run starts from here')
    t.same(await detect(start), [], 'a run with an earlier clock raises nothing again')
    t.equal(await watermark(), later.toISOString(), 'and does not move the mark back')
  })

  t.test('rate_limit_storm: sustained 429s alert; a one-minute blip or a trickle does not', async (t) => {
    const account = await createTestAccount(app)
    const stormy = await newKey(account, 'stormy')
    const blip = await newKey(account, 'blip')
    const trickle = await newKey(account, 'trickle')
    const now = nextNow()
    await insertRollups(app, [
      ...perMinute(stormy, now, 4, 1, 25, 20), // 80 429s over 4 minutes
      ...perMinute(blip, now, 2, 2, 250, 200), // 200 429s in one minute
      ...perMinute(trickle, now, 5, 1, 12, 9), // 45 429s over 5 minutes: under 50
    ])
    const raised = await detect(now)
    t.same(raised.filter((alert) => alert.type === 'rate_limit_storm').map((alert) => alert.key_id), [stormy.keyId])
    const [storm] = await listed(account, '&type=rate_limit_storm')
    t.match(storm, { severity: 'info', key_id: stormy.keyId, details: { rate_limited: 80, minutes: 4, threshold: 50 } })
    t.same(await detect(now), [])
  })

  t.test('quota_threshold: 80 % and 100 % of the hourly limit, once per hour; 429s do not count', async (t) => {
    const account = await createTestAccount(app, { plan: 'free_trial' }) // 1,000 requests per hour
    const eighty = await newKey(account, '85 percent')
    const full = await newKey(account, 'full')
    const half = await newKey(account, 'half')
    const refused = await newKey(account, 'mostly refused')
    const custom = await createTestAccount(app, { plan: 'enterprise', hourlyLimit: 100 })
    const now = nextNow()
    // Outside the last 5 minutes, so no spike: this is only about the hour.
    await insertRollups(app, [
      ...perMinute(eighty, now, 55, 46, 85),
      ...perMinute(full, now, 55, 46, 100),
      ...perMinute(half, now, 55, 46, 50),
      ...perMinute(refused, now, 55, 46, 90, 20), // 900 requests, 200 refused: 700 counted
      ...perMinute(eighty, now, 70, 61, 100), // over an hour ago
      ...perMinute({ keyId: custom.keyId, accountId: custom.accountId }, now, 30, 21, 8), // 80 of a custom 100
    ])
    const raised = await detect(now)
    const summary = raised.filter((alert) => alert.type === 'quota_threshold')
      .map((alert) => [alert.key_id, alert.details.level, alert.severity])
    t.same(summary.sort(), [
      [eighty.keyId, 80, 'info'],
      [full.keyId, 80, 'info'],
      [full.keyId, 100, 'warning'],
      [custom.keyId, 80, 'info'],
    ].sort())
    const fullAlerts = (await listed(account, '&type=quota_threshold')).filter((alert) => alert.key_id === full.keyId)
    t.match(fullAlerts.find((alert) => alert.details.level === 100), { details: { requests: 1000, hourly_limit: 1000 } })
    t.same(await detect(now), [])
    t.same(await detect(new Date(now.getTime() + 60_000)), [], 'the same clock hour raises no second one')
    await assertOutboxMatches(t, account)
  })

  t.test('the alerts API: filters, pagination, acknowledgement, audit, tenancy, scope', async (t) => {
    const owner = await createTestAccount(app)
    const other = await createTestAccount(app)
    const now = nextNow()
    const keys = await Promise.all(['a', 'b', 'c'].map((name) => newKey(owner, name)))
    await insertRollups(app, keys.flatMap((key) => perMinute(key, now, 5, 1, 30, 25)))
    // Each key: a request_spike (150 from nothing) and a rate_limit_storm (125 429s over 5 minutes).
    t.equal((await detect(now)).length, 6)
    const all = await listed(owner)
    t.equal(all.length, 6)

    const seen: string[] = []
    let cursor: string | null = null
    do {
      const response = await call(app, { url: `/api/v1/alerts?limit=4${cursor ? `&cursor=${cursor}` : ''}`, key: owner.key })
      const page = response.json()
      seen.push(...page.data.map((alert: PublicAlert) => alert.id))
      cursor = page.next_cursor
    } while (cursor)
    t.same(seen, all.map((alert) => alert.id), 'pages walk every alert once, newest first')
    t.equal((await listed(owner, '&type=rate_limit_storm')).length, 3)

    const target = all[0]!
    const acknowledge = (id: string, key = owner.key) => call(app, { method: 'POST', url: `/api/v1/alerts/${id}/acknowledge`, key })
    const first = await acknowledge(target.id)
    t.equal(first.statusCode, 200)
    t.match(first.json(), { id: target.id, acknowledged_by: owner.keyId, acknowledged_at: /^\d{4}-/ })
    const again = await acknowledge(target.id)
    t.equal(again.statusCode, 200)
    t.same(again.json(), first.json(), 'acknowledging again changes nothing')

    t.same((await listed(owner, '&acknowledged=true')).map((alert) => alert.id), [target.id])
    t.equal((await listed(owner, '&acknowledged=false')).length, 5)

    const audit = await app.database.db.select().from(auditLog)
      .where(and(eq(auditLog.accountId, owner.accountId), eq(auditLog.action, 'alert.acknowledged')))
    t.equal(audit.length, 1, 'audited once')
    t.match(audit[0], {
      actor: owner.keyId, actorIp: '127.0.0.1', targetType: 'alert', targetId: target.id,
      before: { acknowledged_at: null }, after: { acknowledged_at: first.json().acknowledged_at },
    })

    t.same(await listed(other), [], 'another account sees none of them')
    const foreign = await acknowledge(target.id, other.key)
    t.equal(foreign.statusCode, 404)
    t.equal(foreign.json().code, 'not_found')
    t.equal((await acknowledge('alert_doesnotexist0000000000')).statusCode, 404)

    const badType = await call(app, { url: '/api/v1/alerts?type=everything', key: owner.key })
    t.equal(badType.statusCode, 400)
    t.equal((await call(app, { url: '/api/v1/alerts?severity=critical', key: owner.key })).statusCode, 400, 'unknown filters are refused')

    const reader = await app.services.keys.create(owner.accountId, { name: 'reader', scopes: ['calls:read'] }, CLI_ACTOR)
    t.equal((await call(app, { url: '/api/v1/alerts', key: reader.key })).statusCode, 403)
    t.equal((await acknowledge(all[1]!.id, reader.key)).statusCode, 403)
  })

  t.test('the scheduler path: jobs.runNow evaluates the window ending at the given instant', async (t) => {
    const account = await createTestAccount(app)
    const now = nextNow()
    await insertFailedAuth(app, failuresBefore(now, 25, { ip: '203.0.113.44', keyPrefix: prefixOf(account) }))
    t.equal(await app.scheduler.runNow(ALERT_DETECTORS_JOB, { now }), true, 'ran (nobody else holds the lock)')
    t.equal(await app.scheduler.runNow(ALERT_DETECTORS_JOB, { now }), true)
    const shown = await listed(account)
    t.equal(shown.length, 1)
    t.match(shown[0], { type: 'failed_auth_burst', details: { ip: '203.0.113.44', failures: 25 } })
    await assertOutboxMatches(t, account)
  })

  t.test('no secret in any alert or event', async (t) => {
    const secrets = await secretsIn(app)
    t.same(secrets, [])
  })
})

async function secretsIn(app: FastifyInstance): Promise<string[]> {
  const alertRows = await app.database.db.select().from(alerts)
  const eventRows = await app.database.db.select().from(events)
    .where(inArray(events.accountId, [...new Set(alertRows.map((row) => row.accountId))].concat('none')))
  return [...alertRows, ...eventRows].map((row) => JSON.stringify(row)).filter((json) => FULL_KEY_PATTERN.test(json))
}

