import t from 'tap'
import { buildTestApp, createTestAccount, call } from '../helper/app.js'

const shared = process.env.DATABASE_URL && process.env.REDIS_URL
const skip = shared ? false : 'needs a shared PostgreSQL and Redis (DATABASE_URL and REDIS_URL, as CI sets them): skipped on the embedded default'

t.test('two instances on one Redis admit exactly the limit between them', { skip }, async (t) => {
  const first = await buildTestApp(t)
  const { app: a } = first
  const { app: b } = await buildTestApp(t, {}, { sharedWith: first })
  const account = await createTestAccount(a, { plan: 'free_trial' })
  const responses = await Promise.all(Array.from({ length: 150 }, (_, i) =>
    call(i % 2 === 0 ? a : b, { url: '/api/v1/keys/current', key: account.key })))
  const statuses = responses.map((r) => r.statusCode)
  t.equal(statuses.filter((s) => s === 200).length, 100, 'exactly 100 in total')
  t.equal(statuses.filter((s) => s === 429).length, 50)
})

t.test('revocation on one instance takes effect on the other within 1 s', { skip }, async (t) => {
  const first = await buildTestApp(t)
  const { app: a } = first
  const { app: b } = await buildTestApp(t, {}, { sharedWith: first })
  const owner = await createTestAccount(a)
  const victim = (await call(a, { method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name: 'shared', scopes: ['credits:read'] } })).json()
  t.equal((await call(b, { url: '/api/v1/credits/balance', key: victim.key })).statusCode, 200, 'B has the key cached')

  const revoked = await call(a, { method: 'DELETE', url: `/api/v1/keys/${victim.id}`, key: owner.key })
  t.equal(revoked.statusCode, 200)
  const started = Date.now()
  let status = 200
  while (status === 200 && Date.now() - started < 3_000) {
    status = (await call(b, { url: '/api/v1/credits/balance', key: victim.key })).statusCode
    if (status === 200) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const elapsed = Date.now() - started
  t.equal(status, 401, 'B refuses the revoked key')
  t.ok(elapsed <= 1_000, `within 1 s (took ${elapsed} ms)`)
})

t.test('allowlist and scope changes reach the other instance too', { skip }, async (t) => {
  const first = await buildTestApp(t)
  const { app: a } = first
  const { app: b } = await buildTestApp(t, {}, { sharedWith: first })
  const owner = await createTestAccount(a)
  const key = (await call(a, { method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name: 'k', scopes: ['credits:read'] } })).json()
  t.equal((await call(b, { url: '/api/v1/credits/balance', key: key.key })).statusCode, 200)
  await call(a, { method: 'PATCH', url: `/api/v1/keys/${key.id}`, key: owner.key, payload: { scopes: ['calls:read'] } })
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal((await call(b, { url: '/api/v1/credits/balance', key: key.key })).statusCode, 403)
  await call(a, { method: 'PATCH', url: `/api/v1/keys/${key.id}`, key: owner.key, payload: { scopes: ['credits:read'], ip_allowlist: ['192.0.2.0/24'] } })
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal((await call(b, { url: '/api/v1/credits/balance', key: key.key })).statusCode, 403)
  t.equal((await call(b, { url: '/api/v1/credits/balance', key: key.key, remoteAddress: '192.0.2.9' })).statusCode, 200)
})
