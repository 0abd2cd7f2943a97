import t from 'tap'
import { buildTestApp, call } from '../helper/app.js'
import { bootstrapDemoAccount, bootstrapBanner } from '../../src/bootstrap.js'

t.test('the Demo account is created only on an empty embedded database, once', async (t) => {
  const { app } = await buildTestApp(t)
  if (process.env.DATABASE_URL) {
    t.equal(await bootstrapDemoAccount(app), null, 'with DATABASE_URL, accounts come only from the CLI')
    return
  }
  const first = await bootstrapDemoAccount(app)
  t.ok(first, 'an empty embedded database gets a Demo account')
  const current = await call(app, { url: '/api/v1/keys/current', key: first!.key })
  t.match(current.json(), { account: { name: 'Demo', plan: 'free_trial' }, key: { created_by: 'bootstrap' } })
  t.equal(current.json().key.scopes.length, 13)
  t.equal((await call(app, { url: '/api/v1/credits/balance', key: first!.key })).json().balance, 1000)
  t.equal(await bootstrapDemoAccount(app), null, 'never twice')
  t.match(bootstrapBanner(first!.accountId, first!.key, 'http://127.0.0.1:3000'), /shown ONCE[\s\S]*Authorization: Bearer vxp_/)
})

t.test('never in production, whose stdout is a log stream', async (t) => {
  const { app } = await buildTestApp(t, { NODE_ENV: 'production' })
  t.equal(await bootstrapDemoAccount(app), null)
})
