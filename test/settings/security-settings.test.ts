import t from 'tap'
import { and, eq } from 'drizzle-orm'
import { buildTestApp, call, createTestAccount } from '../helper/app.js'
import { accounts, auditLog } from '../../src/db/schema/index.js'
import { resolveSettings } from '../../src/settings/settings.js'
import { CLI_ACTOR } from '../../src/audit/record.js'

t.test('security settings API', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app)
  const other = await createTestAccount(app)
  const defaults = resolveSettings({})

  const get = (key = owner.key) => call(app, { url: '/api/v1/settings/security', key })
  const patch = (payload: unknown, key = owner.key) =>
    call(app, { method: 'PATCH', url: '/api/v1/settings/security', key, payload: payload as Record<string, unknown> })
  const stored = async (accountId = owner.accountId) =>
    (await app.database.db.select({ s: accounts.securitySettings }).from(accounts).where(eq(accounts.id, accountId)))[0]?.s
  const settingsAudit = () => app.database.db.select().from(auditLog)
    .where(and(eq(auditLog.accountId, owner.accountId), eq(auditLog.action, 'settings.updated')))
    .orderBy(auditLog.createdAt)

  t.test('GET returns every setting, defaults filled in', async (t) => {
    const response = await get()
    t.equal(response.statusCode, 200)
    t.same(response.json(), defaults)
    t.match(response.json(), {
      max_key_lifetime_days: null,
      alerts: {
        request_spike: { enabled: true, factor: 5, min_requests: 100 },
        failed_auth_burst: { enabled: true, threshold: 20 },
        new_network: { enabled: true },
        rate_limit_storm: { enabled: true, threshold: 50 },
        quota_threshold: { enabled: true },
      },
    })
  })

  t.test('PATCH merges deeply, stores only the overrides, and is audited with before/after', async (t) => {
    const raised = await patch({ alerts: { failed_auth_burst: { threshold: 50 } } })
    t.equal(raised.statusCode, 200)
    t.same(raised.json().alerts.failed_auth_burst, { enabled: true, threshold: 50 })
    t.same(raised.json().alerts.request_spike, defaults.alerts.request_spike, 'untouched settings keep their defaults')

    const disabled = await patch({ alerts: { request_spike: { enabled: false } }, max_key_lifetime_days: 90 })
    t.equal(disabled.statusCode, 200)
    t.equal(disabled.json().alerts.failed_auth_burst.threshold, 50, 'the earlier change survives a later PATCH')
    t.equal(disabled.json().alerts.request_spike.enabled, false)
    t.equal(disabled.json().alerts.request_spike.factor, 5)
    t.equal(disabled.json().max_key_lifetime_days, 90)
    t.same((await get()).json(), disabled.json())
    t.same(await stored(), {
      alerts: { failed_auth_burst: { threshold: 50 }, request_spike: { enabled: false } },
      max_key_lifetime_days: 90,
    }, 'no defaults were written into the account')

    const entries = await settingsAudit()
    t.equal(entries.length, 2)
    t.match(entries[0], {
      actor: owner.keyId, actorIp: '127.0.0.1', targetType: 'account', targetId: owner.accountId,
      before: { alerts: { failed_auth_burst: { threshold: 20 } } },
      after: { alerts: { failed_auth_burst: { threshold: 50 } } },
    })
    t.same(entries[0]?.before, defaults, 'before: the full settings in effect')
    t.same(entries[1]?.after, disabled.json(), 'after: the full settings in effect')

    const cleared = await patch({ max_key_lifetime_days: null })
    t.equal(cleared.json().max_key_lifetime_days, null)

    const through = await call(app, { url: '/api/v1/audit-log?limit=100', key: owner.key })
    t.ok(through.json().data.some((entry: { action: string }) => entry.action === 'settings.updated'), 'visible in GET /audit-log')
  })

  t.test('a PATCH that changes nothing writes nothing', async (t) => {
    const before = (await settingsAudit()).length
    t.equal((await patch({})).statusCode, 200)
    t.equal((await patch({ alerts: { failed_auth_burst: { threshold: 50 } } })).statusCode, 200)
    t.equal((await settingsAudit()).length, before)
  })

  t.test('unknown fields, wrong types and out-of-range values are a 400 and change nothing', async (t) => {
    const before = await stored()
    for (const [payload, field] of [
      [{ alerts: { failed_auth_burst: { threshold: 10 } }, admin: true }, '/body/admin'],
      [{ alerts: { port_scan: { enabled: true } } }, '/body/alerts/port_scan'],
      [{ alerts: { request_spike: { factr: 3 } } }, '/body/alerts/request_spike/factr'],
    ] as const) {
      const response = await patch(payload)
      t.equal(response.statusCode, 400, JSON.stringify(payload))
      t.equal(response.json().code, 'validation_failed')
      t.match(response.json().errors, [{ field }])
    }
    for (const payload of [
      { alerts: { request_spike: { factor: 1 } } },
      { alerts: { failed_auth_burst: { threshold: 0 } } },
      { alerts: { new_network: { enabled: 'maybe' } } },
      { alerts: { rate_limit_storm: { threshold: 2.5 } } },
      { max_key_lifetime_days: 0 },
      { alerts: null },
      [],
    ]) {
      t.equal((await patch(payload)).statusCode, 400, JSON.stringify(payload))
    }
    const noBody = await call(app, { method: 'PATCH', url: '/api/v1/settings/security', key: owner.key })
    t.equal(noBody.statusCode, 400)
    t.same(await stored(), before)
  })

  t.test('tenancy and scope', async (t) => {
    t.same((await get(other.key)).json(), defaults, 'another account keeps its own settings')
    const reader = await app.services.keys.create(owner.accountId, { name: 'reader', scopes: ['calls:read'] }, CLI_ACTOR)
    t.equal((await get(reader.key)).statusCode, 403)
    t.equal((await patch({ alerts: { new_network: { enabled: false } } }, reader.key)).statusCode, 403)
    t.equal((await get()).json().alerts.new_network.enabled, true)
  })

  t.test('a change reaches the cached account of every key at once', async (t) => {
    const key = await app.services.keys.create(owner.accountId, { name: 'cached', scopes: ['calls:read'] }, CLI_ACTOR)
    await call(app, { url: '/api/v1/keys/current', key: key.key })
    await patch({ alerts: { quota_threshold: { enabled: false } } })
    const verified = await app.verifier.verify(key.key)
    t.ok(verified.ok)
    if (verified.ok) t.match(verified.principal.account.securitySettings, { alerts: { quota_threshold: { enabled: false } } })
  })
})
