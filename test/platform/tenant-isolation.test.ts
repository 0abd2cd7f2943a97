import t from 'tap'
import { buildTestApp, createTestAccount, call } from '../helper/app.js'

t.test("account B's key sees none of A's keys, ledger or audit entries", async (t) => {
  const { app } = await buildTestApp(t)
  const a = await createTestAccount(app, { plan: 'free_trial' })
  const b = await createTestAccount(app, { plan: 'starter' })
  const aKey = (await call(app, { method: 'POST', url: '/api/v1/keys', key: a.key, payload: { name: 'A secret project', scopes: ['calls:read'] } })).json()

  const bKeys = await call(app, { url: '/api/v1/keys?limit=100', key: b.key })
  t.equal(bKeys.statusCode, 200)
  t.same(bKeys.json().data.map((k: { id: string }) => k.id), [b.keyId])
  t.notMatch(bKeys.body, 'A secret project')

  for (const [method, url, payload] of [
    ['GET', `/api/v1/keys/${aKey.id}`, undefined],
    ['PATCH', `/api/v1/keys/${aKey.id}`, { name: 'hijacked' }],
    ['DELETE', `/api/v1/keys/${aKey.id}`, undefined],
    ['POST', `/api/v1/keys/${aKey.id}/rotate`, {}],
  ] as const) {
    const response = await call(app, { method, url, key: b.key, payload })
    t.equal(response.statusCode, 404, `${method} ${url} is a 404, never a 403`)
    t.equal(response.json().code, 'not_found')
  }
  const stillThere = await call(app, { url: `/api/v1/keys/${aKey.id}`, key: a.key })
  t.equal(stillThere.json().name, 'A secret project')
  t.equal(stillThere.json().status, 'active')

  const bLedger = await call(app, { url: '/api/v1/credits/transactions', key: b.key })
  t.same(bLedger.json().data, [], 'a starter account has no free-trial grant and never sees A’s')
  const bBalance = await call(app, { url: '/api/v1/credits/balance', key: b.key })
  t.equal(bBalance.json().balance, 0)
  const aLedger = await call(app, { url: '/api/v1/credits/transactions', key: a.key })
  t.match(aLedger.json().data, [{ type: 'grant', amount: 1000, balance_after: 1000, currency: 'usd', id: /^ctx_/ }])

  const bAudit = await call(app, { url: '/api/v1/audit-log?limit=100', key: b.key })
  t.ok(bAudit.json().data.length > 0)
  for (const entry of bAudit.json().data) {
    t.not(entry.target_id, aKey.id)
    t.not(entry.target_id, a.accountId)
  }
})
