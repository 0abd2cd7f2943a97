import t from 'tap'
import { buildTestApp } from '../helper/app.js'

t.test('liveness and readiness are public and outside /api/v1', async (t) => {
  const { app } = await buildTestApp(t)
  const health = await app.inject({ url: '/health' })
  t.equal(health.statusCode, 200)
  t.same(health.json(), { status: 'ok' })
  t.notOk(health.headers['x-ratelimit-limit'], 'probes are not rate limited per key')

  const ready = await app.inject({ url: '/ready' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready', checks: { database: 'ok', redis: process.env.REDIS_URL ? 'ok' : 'not_configured' } })

  const docs = await app.inject({ url: '/docs' })
  t.ok([200, 302].includes(docs.statusCode), 'Swagger UI is served')
  const spec = await app.inject({ url: '/openapi.json' })
  t.equal(spec.statusCode, 200)
  t.equal(spec.json().openapi, '3.1.0')
})

t.test('readiness reports an unreachable database as 503', async (t) => {
  const { app } = await buildTestApp(t)
  await app.database.close()
  const ready = await app.inject({ url: '/ready' })
  t.equal(ready.statusCode, 503)
  t.equal(ready.json().checks.database, 'error')
})
