import t from 'tap'
import { TcpProxy } from '../helper/tcp-proxy.js'
import { buildTestApp, call, createTestAccount } from '../helper/app.js'

const DATABASE_URL = process.env.DATABASE_URL
process.on('uncaughtExceptionMonitor', (e) => console.error('UNCAUGHT', e.stack, Object.keys(e), (e as any).syscall))

/**
 * PostgreSQL goes away under a running service, both ways a network loses it. While it is gone,
 * requests that need it get a prompt 503 `database_unavailable` with Retry-After; requests served
 * from the key cache and Redis keep working; /ready says 503 at once. When it returns, requests
 * succeed again within a second.
 */
t.test('PostgreSQL unreachable: prompt 503s, cached keys keep working, recovery within a second', { skip: !DATABASE_URL && 'needs DATABASE_URL (PGlite runs in process: nothing to lose)' }, async (t) => {
  const target = new URL(DATABASE_URL!)
  const proxy = new TcpProxy(target.hostname, Number(target.port || 5432))
  await proxy.start()
  t.teardown(() => proxy.stop())
  const viaProxy = new URL(DATABASE_URL!)
  viaProxy.hostname = '127.0.0.1'
  viaProxy.port = String(proxy.port)
  const { app } = await buildTestApp(t, { DATABASE_URL: viaProxy.toString() })
  const account = await createTestAccount(app)
  t.equal((await call(app, { url: '/api/v1/keys/current', key: account.key })).statusCode, 200, 'the key is now cached')

  const timed = async (url: string) => {
    const started = performance.now()
    const response = await call(app, { url, key: account.key })
    return { response, ms: performance.now() - started }
  }

  for (const [how, cut, mend] of [
    ['a partition (no packet answers)', () => proxy.blackhole(), async () => proxy.restore()],
    ['a refusing server (connections reset)', () => proxy.stop(), () => proxy.start()],
  ] as const) {
    t.equal((await call(app, { url: '/api/v1/credits/balance', key: account.key })).statusCode, 200, `${how}: up before`)
    await cut()
    const first = await timed('/api/v1/credits/balance')
    t.equal(first.response.statusCode, 503, `${how}: a request needing the database is a 503`)
    t.equal(first.response.json().code, 'database_unavailable')
    t.match(String(first.response.headers['content-type']), /^application\/problem\+json/)
    t.equal(first.response.headers['retry-after'], '1')
    t.ok(first.ms <= 1_000, `${how}: answered in ${Math.round(first.ms)} ms (≤ 1 s), not hung`)
    const next = await timed('/api/v1/credits/transactions')
    t.equal(next.response.statusCode, 503)
    t.ok(next.ms <= 200, `${how}: later requests fail at once (${Math.round(next.ms)} ms)`)
    const cached = await timed('/api/v1/keys/current')
    t.equal(cached.response.statusCode, 200, `${how}: a cached key and Redis need no database`)
    const ready = await timed('/ready')
    t.equal(ready.response.statusCode, 503)
    t.equal(ready.response.json().checks.database, 'error')
    t.ok(ready.ms <= 200, `${how}: /ready answers at once (${Math.round(ready.ms)} ms)`)

    await mend()
    const back = performance.now()
    let recovered = -1
    while (performance.now() - back < 5_000) {
      if ((await call(app, { url: '/api/v1/credits/balance', key: account.key })).statusCode === 200) {
        recovered = performance.now() - back
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
    t.ok(recovered >= 0 && recovered <= 1_000, `${how}: serving again ${Math.round(recovered)} ms after the database returned (≤ 1 s)`)
    t.equal((await call(app, { url: '/ready' })).statusCode, 200)
  }
})
