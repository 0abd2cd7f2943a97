import t from 'tap'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { Redis } from 'ioredis'
import { buildTestApp, createTestAccount, call } from '../helper/app.js'
import type { CacheEvent } from '../../src/cache-bus.js'

const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0
const skip = hasRedisServer ? false : 'needs the redis-server binary to run a Redis of its own: not installed here'

/** A Redis server of the test's own on a spare port, so stopping it disturbs nothing else. */
function startRedis(port: number): ChildProcess {
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await condition()) return true
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return false
}

const port = () => 20_000 + Math.floor(Math.random() * 20_000)

t.test('fail-open: serves from the in-process limiter while Redis is away, recovers without double counting', { skip }, async (t) => {
  const redisPort = port()
  let redis = startRedis(redisPort)
  t.teardown(() => { redis.kill('SIGKILL') })
  await new Promise((resolve) => setTimeout(resolve, 300))
  const { app, logs } = await buildTestApp(t, { REDIS_URL: `redis://127.0.0.1:${redisPort}`, RATE_LIMIT_ON_REDIS_ERROR: 'open', REDIS_COMMAND_TIMEOUT_MS: 200 })
  const account = await createTestAccount(app, { plan: 'starter' })
  const hit = () => call(app, { url: '/api/v1/keys/current', key: account.key })

  for (let i = 1; i <= 3; i++) t.equal((await hit()).headers['x-ratelimit-remaining'], String(500 - i), `request ${i} counted in Redis`)

  // Redis hangs (SIGSTOP): commands time out, the limiter falls back instead of hanging requests.
  redis.kill('SIGSTOP')
  for (let i = 0; i < 2; i++) {
    const started = Date.now()
    const response = await hit()
    t.equal(response.statusCode, 200, 'still served')
    t.ok(Date.now() - started < 2_000, 'not hung')
  }
  t.equal(logs.filter((line) => line.includes('redis unavailable')).length, 1, 'one warning per episode, not per request')

  // Redis resumes: the commands queued while it was stopped arrive past their deadline and count nothing.
  redis.kill('SIGCONT')
  await new Promise((resolve) => setTimeout(resolve, 300))
  const after = await hit()
  t.equal(after.headers['x-ratelimit-remaining'], '496', 'Redis holds 3 + this one: fallback requests were not counted twice')
  t.ok(logs.some((line) => line.includes('redis is back')), 'recovery is logged')

  // Redis goes away entirely and comes back empty: serving continues and sharing resumes by itself.
  redis.kill('SIGKILL')
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.equal((await hit()).statusCode, 200, 'served while Redis is down')
  redis = startRedis(redisPort)
  const recovered = await waitUntil(async () => (await hit()).headers['x-ratelimit-remaining'] === '499' || logs.filter((l) => l.includes('redis is back')).length >= 2)
  t.ok(recovered, 'back on Redis after it restarts')
})

t.test('fail-closed: 503 problem+json while Redis is away, then recovers', { skip }, async (t) => {
  const redisPort = port()
  let redis = startRedis(redisPort)
  t.teardown(() => { redis.kill('SIGKILL') })
  await new Promise((resolve) => setTimeout(resolve, 300))
  const { app } = await buildTestApp(t, { REDIS_URL: `redis://127.0.0.1:${redisPort}`, RATE_LIMIT_ON_REDIS_ERROR: 'closed', REDIS_COMMAND_TIMEOUT_MS: 200 })
  const account = await createTestAccount(app, { plan: 'starter' })
  const hit = () => call(app, { url: '/api/v1/keys/current', key: account.key })
  t.equal((await hit()).statusCode, 200)

  redis.kill('SIGKILL')
  await new Promise((resolve) => setTimeout(resolve, 200))
  const refused = await hit()
  t.equal(refused.statusCode, 503)
  t.match(String(refused.headers['content-type']), /application\/problem\+json/)
  t.equal(refused.json().code, 'service_unavailable')
  t.equal(refused.headers['retry-after'], '1')
  const ready = await app.inject({ url: '/ready' })
  t.equal(ready.statusCode, 503)
  t.equal(ready.json().checks.redis, 'error')

  redis = startRedis(redisPort)
  t.ok(await waitUntil(async () => (await hit()).statusCode === 200), 'serves again once Redis is back')
})

t.test('the event channel resubscribes after Redis restarts and drops what may have been missed', { skip }, async (t) => {
  const redisPort = port()
  let redis = startRedis(redisPort)
  t.teardown(() => { redis.kill('SIGKILL') })
  await new Promise((resolve) => setTimeout(resolve, 300))
  const { app } = await buildTestApp(t, { REDIS_URL: `redis://127.0.0.1:${redisPort}` })
  const account = await createTestAccount(app)
  const heard: CacheEvent[] = []
  app.cacheBus.subscribe((event) => { heard.push(event) })
  t.equal((await call(app, { url: '/api/v1/keys/current', key: account.key })).statusCode, 200, 'the key is cached')

  redis.kill('SIGKILL')
  await new Promise((resolve) => setTimeout(resolve, 200))
  redis = startRedis(redisPort)
  t.ok(await waitUntil(async () => heard.some((event) => event.type === 'cache.reset')), 'a reset once the channel is back')
  const loads = app.verifier.databaseLoads
  t.equal((await call(app, { url: '/api/v1/keys/current', key: account.key })).statusCode, 200)
  t.equal(app.verifier.databaseLoads, loads + 1, 'the cached key was dropped: looked up again')

  // Another instance (a plain client here) announces a change: it is heard, so the subscription is live again.
  const other = new Redis(`redis://127.0.0.1:${redisPort}`)
  t.teardown(() => { other.disconnect() })
  const change: CacheEvent = { type: 'key.changed', keyId: account.keyId, accountId: account.accountId }
  t.ok(await waitUntil(async () => {
    await other.publish(`${app.redisPrefix}:cache-events`, JSON.stringify({ origin: 'another-instance', event: change }))
    return heard.some((event) => event.type === 'key.changed')
  }), 'events from other instances arrive after the restart')
})
