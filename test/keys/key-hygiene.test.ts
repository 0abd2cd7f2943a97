import t from 'tap'
import { eq } from 'drizzle-orm'
import { buildTestApp, createTestAccount, call } from '../helper/app.js'
import { accounts, apiKeys, type ApiKeyRow } from '../../src/db/schema/index.js'
import { attentionReasons } from '../../src/keys/hygiene.js'
import { SCOPES } from '../../src/scopes.js'

const DAY = 24 * 3600 * 1000

t.test('attention reasons', async (t) => {
  const now = new Date('2027-06-01T00:00:00Z')
  const healthy: ApiKeyRow = {
    id: 'key_x', accountId: 'acct_x', name: 'n', digest: 'd', displayPrefix: 'vxp_abcdefgh', lastFour: 'wxyz',
    scopes: ['calls:read'], ipAllowlist: ['192.0.2.0/24'], createdAt: new Date(now.getTime() - 10 * DAY),
    expiresAt: new Date(now.getTime() + 30 * DAY), lastUsedAt: new Date(now.getTime() - DAY), revokedAt: null,
    rotatedFrom: null, replacedBy: null, replacedAt: null, createdBy: 'cli',
  }
  t.same(attentionReasons(healthy, now), [])
  t.same(attentionReasons({ ...healthy, createdAt: new Date(now.getTime() - 76 * DAY) }, now), ['rotation_due'], 'within 14 days of 90')
  t.same(attentionReasons({ ...healthy, createdAt: new Date(now.getTime() - 75 * DAY) }, now), [], 'not yet')
  t.same(attentionReasons({ ...healthy, createdAt: new Date(now.getTime() - 120 * DAY) }, now), ['rotation_due'], 'overdue')
  t.same(attentionReasons({ ...healthy, lastUsedAt: null }, now), ['never_used'])
  t.same(attentionReasons({ ...healthy, lastUsedAt: new Date(now.getTime() - 91 * DAY) }, now), ['idle'])
  t.same(attentionReasons({ ...healthy, ipAllowlist: [] }, now), ['no_ip_allowlist'])
  t.same(attentionReasons({ ...healthy, scopes: [...SCOPES] }, now), ['all_scopes'])
  t.same(attentionReasons({ ...healthy, expiresAt: null }, now), ['no_expiry'])
  t.same(attentionReasons({ ...healthy, expiresAt: null, revokedAt: new Date(now.getTime() - DAY) }, now), [], 'revoked keys need nothing')
})

t.test('GET /keys?needs_attention=true lists exactly the keys that need attention', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app)
  const create = async (payload: Record<string, unknown>) =>
    (await call(app, { method: 'POST', url: '/api/v1/keys', key: owner.key, payload })).json()
  const expiry = new Date(Date.now() + 30 * DAY).toISOString()
  const healthy = await create({ name: 'healthy', scopes: ['calls:read'], ip_allowlist: ['127.0.0.1'], expires_at: expiry })
  await call(app, { url: '/api/v1/keys/current', key: healthy.key })
  await app.verifier.flushLastUsed()
  const unrestricted = await create({ name: 'unrestricted', scopes: ['calls:read'], expires_at: expiry })
  await call(app, { url: '/api/v1/keys/current', key: unrestricted.key })
  await app.verifier.flushLastUsed()
  const old = await create({ name: 'old', scopes: ['calls:read'], ip_allowlist: ['127.0.0.1'], expires_at: expiry })
  await app.database.db.update(apiKeys).set({ createdAt: new Date(Date.now() - 80 * DAY), lastUsedAt: new Date(Date.now() - 95 * DAY) }).where(eq(apiKeys.id, old.id))
  const revoked = await create({ name: 'revoked', scopes: [...SCOPES] })
  await call(app, { method: 'DELETE', url: `/api/v1/keys/${revoked.id}`, key: owner.key })

  const response = await call(app, { url: '/api/v1/keys?needs_attention=true&limit=100', key: owner.key })
  t.equal(response.statusCode, 200)
  const byName = Object.fromEntries(response.json().data.map((k: { name: string; attention: string[] }) => [k.name, k.attention]))
  t.same(Object.keys(byName).sort(), ['Default key', 'old', 'unrestricted'])
  t.same(byName.unrestricted, ['no_ip_allowlist'])
  t.same(byName.old, ['rotation_due', 'idle'])
  t.same(byName['Default key'], ['no_ip_allowlist', 'all_scopes', 'no_expiry'])

  const all = await call(app, { url: '/api/v1/keys?limit=100', key: owner.key })
  t.equal(all.json().data.length, 5, 'without the filter every key is listed')
  t.same(all.json().data.find((k: { name: string }) => k.name === 'healthy').attention, [])

  const paged = await call(app, { url: '/api/v1/keys?needs_attention=true&limit=2', key: owner.key })
  t.equal(paged.json().data.length, 2)
  const rest = await call(app, { url: `/api/v1/keys?needs_attention=true&limit=2&cursor=${paged.json().next_cursor}`, key: owner.key })
  t.equal(rest.json().data.length, 1, 'the filter paginates')
})

t.test('responses made with a key near rotation carry a header saying so', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app)
  const aging = (await call(app, { method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name: 'aging', scopes: ['credits:read'] } })).json()
  const createdAt = new Date(Date.now() - 80 * DAY)
  await app.database.db.update(apiKeys).set({ createdAt }).where(eq(apiKeys.id, aging.id))
  const near = await call(app, { url: '/api/v1/credits/balance', key: aging.key })
  t.equal(near.statusCode, 200)
  t.equal(near.headers['x-api-key-rotation-due'], new Date(createdAt.getTime() + 90 * DAY).toISOString())
  const fresh = await call(app, { url: '/api/v1/credits/balance', key: owner.key })
  t.notOk(fresh.headers['x-api-key-rotation-due'])
})

t.test('an account maximum key lifetime bounds new keys', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app)
  await app.database.db.update(accounts).set({ securitySettings: { max_key_lifetime_days: 30 } }).where(eq(accounts.id, owner.accountId))

  const defaulted = await call(app, { method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name: 'bounded', scopes: ['calls:read'] } })
  t.equal(defaulted.statusCode, 201)
  const lifetime = Date.parse(defaulted.json().expires_at) - Date.parse(defaulted.json().created_at)
  t.ok(Math.abs(lifetime - 30 * DAY) < 5_000, 'expires_at defaults to creation + 30 days')

  const tooLong = await call(app, { method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name: 'x', scopes: ['calls:read'], expires_at: new Date(Date.now() + 60 * DAY).toISOString() } })
  t.equal(tooLong.statusCode, 400)
  t.match(tooLong.json().errors, [{ field: '/expires_at' }])

  const removeExpiry = await call(app, { method: 'PATCH', url: `/api/v1/keys/${defaulted.json().id}`, key: owner.key, payload: { expires_at: null } })
  t.equal(removeExpiry.statusCode, 400)
  const rename = await call(app, { method: 'PATCH', url: `/api/v1/keys/${defaulted.json().id}`, key: owner.key, payload: { name: 'renamed' } })
  t.equal(rename.statusCode, 200, 'other changes are unaffected')

  const rotated = await call(app, { method: 'POST', url: `/api/v1/keys/${defaulted.json().id}/rotate`, key: owner.key, payload: {} })
  t.equal(rotated.statusCode, 201)
  const successorLifetime = Date.parse(rotated.json().expires_at) - Date.parse(rotated.json().created_at)
  t.ok(Math.abs(successorLifetime - 30 * DAY) < 5_000, 'the successor gets a full lifetime of its own')
})
