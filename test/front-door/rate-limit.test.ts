import t from 'tap'
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { buildTestApp, createTestAccount, call, randomClientIp, type TestLike } from '../helper/app.js'
import { planWindows } from '../../plugins/rate-limit.js'
import { MemoryStore } from '../../src/ratelimit/memory-store.js'
import { RedisStore } from '../../src/ratelimit/redis-store.js'
import type { RateLimitStore } from '../../src/ratelimit/store.js'
import { displayPrefix } from '../../src/keys/format.js'

const REDIS_URL = process.env.REDIS_URL

/** The stores under test: always the in-process one, and Redis's Lua script when Redis is there. */
function stores(t: TestLike): [string, RateLimitStore][] {
  const list: [string, RateLimitStore][] = [['memory', new MemoryStore()]]
  if (REDIS_URL) {
    const redis = new Redis(REDIS_URL)
    t.teardown(() => redis.quit())
    list.push(['redis', new RedisStore(redis, `test-${randomBytes(4).toString('hex')}`)])
  }
  return list
}

const MINUTE_START = 1_900_000_020_000 - (1_900_000_020_000 % 60_000)

t.test('sliding, not fixed: requests late in one minute still count early in the next', async (t) => {
  for (const [name, store] of stores(t)) {
    const specs = [{ name: 'minute', windowMs: 60_000, limit: 10 }]
    const late = MINUTE_START + 50_000
    for (let i = 0; i < 10; i++) t.ok((await store.consume('sliding', specs, late)).allowed, `${name}: request ${i + 1} admitted`)
    const refusedLate = await store.consume('sliding', specs, late)
    t.notOk(refusedLate.allowed, `${name}: 11th refused`)
    t.equal(refusedLate.retryAfterSeconds, 16, `${name}: the current minute alone is full: 10 s to its end + 6 s of decay`)
    // 15 s into the next minute the previous minute still weighs 75 %: 10 × 0.75 = 7.5 → 2 more fit.
    const early = MINUTE_START + 75_000
    const admitted = []
    for (let i = 0; i < 5; i++) admitted.push((await store.consume('sliding', specs, early)).allowed)
    t.same(admitted, [true, true, false, false, false], `${name}: a fixed window would have admitted all 5`)
    // Retry-After is when the estimate really drops under the limit: 10 × (1 − f) + 2 ≤ 9 at f = 0.3, i.e. 18 s in.
    const refused = await store.consume('sliding', specs, early)
    t.equal(refused.retryAfterSeconds, 3, `${name}: retry after 3 s, not a whole window`)
    t.equal(refused.blockedBy, 'minute')
    t.ok((await store.consume('sliding', specs, MINUTE_START + 78_001)).allowed, `${name}: admitted once the estimate has decayed`)
  }
})

t.test('refused requests are not counted; every store makes the expected decision at every step', async (t) => {
  const specs = [{ name: 'minute', windowMs: 60_000, limit: 3 }, { name: 'hour', windowMs: 3_600_000, limit: 5 }]
  // [offset ms, admitted, minute remaining, hour remaining, blocked by, retry after s]: the sliding
  // estimate worked by hand. At +61 s the previous minute still weighs 59/60 (2.95 + 1 > 3); it
  // decays under the limit 19 s later; the hour then runs out after 5 admissions.
  const expected = [
    [0, true, 2, 4, undefined, undefined], [1_000, true, 1, 3, undefined, undefined], [2_000, true, 0, 2, undefined, undefined],
    [3_000, false, 0, 2, 'minute', 77], [61_000, false, 0, 2, 'minute', 19], [62_000, false, 0, 2, 'minute', 18],
    [125_000, true, 2, 1, undefined, undefined], [126_000, true, 1, 0, undefined, undefined], [127_000, false, 1, 0, 'hour', 1373],
  ] as const
  for (const [name, store] of stores(t)) {
    const id = `agree-${randomBytes(4).toString('hex')}`
    for (const [offset, allowed, minute, hour, blockedBy, retryAfter] of expected) {
      const decision = await store.consume(id, specs, MINUTE_START + offset)
      t.same([decision.allowed, decision.windows[0]!.remaining, decision.windows[1]!.remaining, decision.blockedBy, decision.retryAfterSeconds],
        [allowed, minute, hour, blockedBy, retryAfter], `${name} at +${offset} ms`)
    }
  }
})

t.test('exactly at the limit: admitted when the estimate plus one equals it, refused a millisecond earlier', async (t) => {
  const specs = [{ name: 'minute', windowMs: 60_000, limit: 3 }]
  for (const [name, store] of stores(t)) {
    const id = `exact-${randomBytes(4).toString('hex')}`
    for (let i = 0; i < 3; i++) t.ok((await store.consume(id, specs, MINUTE_START + 1_000)).allowed, `${name}: request ${i + 1} of 3`)
    // 20 s into the next minute the previous one weighs 40/60: 3 × 2/3 = 2 exactly, and 2 + 1 = 3.
    const early = await store.consume(id, specs, MINUTE_START + 79_999)
    t.equal(early.allowed, false, `${name}: at +79.999 s the estimate is a hair above 2`)
    t.equal(early.retryAfterSeconds, 1, `${name}: retry in a second`)
    const exact = await store.consume(id, specs, MINUTE_START + 80_000)
    t.equal(exact.allowed, true, `${name}: at +80 s exactly 2 + 1 = 3 is within the limit`)
    t.equal(exact.windows[0]!.remaining, 0, `${name}: and none is left`)
    t.equal((await store.consume(id, specs, MINUTE_START + 80_000)).allowed, false, `${name}: the next is refused`)
  }
})

t.test('requests arriving together are decided one by one in arrival order, per id', async (t) => {
  for (const [name, store] of stores(t)) {
    const specs = [{ name: 'minute', windowMs: 60_000, limit: 5 }, { name: 'hour', windowMs: 3_600_000, limit: 100 }]
    const id = `together-${randomBytes(4).toString('hex')}`
    const other = `${id}-other`
    const now = MINUTE_START + 30_000
    // One event-loop turn: the Redis store sends these as one script call per id.
    const [first, second, peeked] = await Promise.all([
      Promise.all(Array.from({ length: 8 }, () => store.consume(id, specs, now))),
      Promise.all(Array.from({ length: 2 }, () => store.consume(other, specs, now))),
      store.peek(id, specs, now),
    ])
    t.same(first.map((decision) => decision.allowed), [true, true, true, true, true, false, false, false], `${name}: exactly the limit, in order`)
    t.same(first.map((decision) => decision.windows[0]!.remaining), [4, 3, 2, 1, 0, 0, 0, 0], `${name}: each sees those admitted before it`)
    t.same(first.slice(5).map((decision) => decision.blockedBy), ['minute', 'minute', 'minute'])
    t.ok(first.slice(5).every((decision) => (decision.retryAfterSeconds ?? 0) >= 1), `${name}: refusals carry a retry-after`)
    t.same(second.map((decision) => decision.windows[0]!.remaining), [4, 3], `${name}: another id in the same turn is counted on its own`)
    t.equal(peeked.allowed, false, `${name}: a peek after them in the same turn sees the minute full`)
    const after = await store.peek(id, specs, now)
    t.equal(after.windows[1]!.remaining, 95, `${name}: the hour counted the 5 admitted, not the 3 refused`)
  }
})

t.test('exactly the limit is admitted under concurrency; the hour is untouched by refusals', async (t) => {
  const { app } = await buildTestApp(t)
  const account = await createTestAccount(app, { plan: 'free_trial' })
  const responses = await Promise.all(Array.from({ length: 150 }, () => call(app, { url: '/api/v1/keys/current', key: account.key })))
  const statuses = responses.map((r) => r.statusCode)
  t.equal(statuses.filter((s) => s === 200).length, 100, 'exactly the burst of 100')
  t.equal(statuses.filter((s) => s === 429).length, 50)
  const refused = responses.find((r) => r.statusCode === 429)!
  t.match(refused.json(), { code: 'rate_limited', window: 'minute' })
  t.match(refused.json().detail, /100 requests per minute/)
  t.match(String(refused.headers['retry-after']), /^\d+$/)
  t.ok(Number(refused.headers['retry-after']) >= 1 && Number(refused.headers['retry-after']) <= 120)
  t.equal(refused.headers['x-ratelimit-remaining'], '0')

  const state = await app.rateLimitStore.peek(`key:${account.keyId}`, planWindows({ hourly: 1000, burst: 100 }))
  t.equal(state.windows[1]!.name, 'hour')
  t.equal(state.windows[1]!.remaining, 900, 'the hour counted the 100 admitted requests, not the 50 refusals')
})

t.test('headers on 200, 400, 403, 404 and 429 are present and consistent', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app, { plan: 'starter' })
  const readOnly = (await call(app, { method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name: 'ro', scopes: ['credits:read'] } })).json()
  const cases = [
    [200, { url: '/api/v1/credits/balance', key: readOnly.key }],
    [400, { url: '/api/v1/credits/transactions?limit=0', key: readOnly.key }],
    [403, { url: '/api/v1/keys', key: readOnly.key }],
    [404, { url: '/api/v1/no-such-route', key: readOnly.key }],
  ] as const
  let previousRemaining = 500
  for (const [status, options] of cases) {
    const response = await call(app, options)
    t.equal(response.statusCode, status)
    t.equal(response.headers['x-ratelimit-limit'], '500', `${status}: limit is the tighter (minute) window`)
    const remaining = Number(response.headers['x-ratelimit-remaining'])
    t.equal(remaining, previousRemaining - 1, `${status}: each request counted once`)
    previousRemaining = remaining
    const reset = Number(response.headers['x-ratelimit-reset'])
    const now = Date.now() / 1000
    t.ok(reset > now && reset <= now + 61, `${status}: reset is Unix epoch seconds within the minute`)
    t.equal(response.headers['ratelimit-policy'], '"minute";q=500;w=60, "hour";q=5000;w=3600')
  }
  // Exhaust the key's minute (enterprise limits keep this quick) and check the 429.
  const tiny = await createTestAccount(app, { plan: 'enterprise', hourlyLimit: 100, burstLimit: 2 })
  await call(app, { url: '/api/v1/credits/balance', key: tiny.key })
  await call(app, { url: '/api/v1/credits/balance', key: tiny.key })
  const limited = await call(app, { url: '/api/v1/credits/balance', key: tiny.key })
  t.equal(limited.statusCode, 429)
  t.equal(limited.headers['x-ratelimit-limit'], '2')
  t.equal(limited.headers['x-ratelimit-remaining'], '0')
  t.ok(Number(limited.headers['retry-after']) >= 1)
  t.equal(limited.headers['ratelimit-policy'], '"minute";q=2;w=60, "hour";q=100;w=3600')
})

t.test('failed authentication is limited per client address and never spends a key’s quota', async (t) => {
  const { app } = await buildTestApp(t, { AUTH_FAILURES_PER_MINUTE: 30 })
  const victim = await createTestAccount(app, { plan: 'starter' })
  const attacker = randomClientIp()
  const bystander = randomClientIp()
  const prefix = displayPrefix(victim.key)
  const forged = (i: number) => `${prefix}${String(i).padStart(4, '0')}${victim.key.slice(prefix.length + 4)}`

  for (let i = 0; i < 30; i++) {
    const response = await call(app, { url: '/api/v1/credits/balance', key: forged(i), remoteAddress: attacker })
    t.equal(response.statusCode, 401, `attempt ${i + 1}`)
    if (i === 29) {
      t.equal(response.headers['x-ratelimit-limit'], '30')
      t.equal(response.headers['x-ratelimit-remaining'], '0')
    }
  }
  const blocked = await call(app, { url: '/api/v1/credits/balance', key: forged(31), remoteAddress: attacker })
  t.equal(blocked.statusCode, 429, 'the 31st bad key in a minute is refused outright')
  t.equal(blocked.json().code, 'too_many_failed_attempts')
  t.ok(Number(blocked.headers['retry-after']) >= 1)
  const blockedValid = await call(app, { url: '/api/v1/credits/balance', key: victim.key, remoteAddress: attacker })
  t.equal(blockedValid.statusCode, 429, 'every authentication attempt from that address is refused until it decays')

  const elsewhere = await call(app, { url: '/api/v1/credits/balance', key: victim.key, remoteAddress: bystander })
  t.equal(elsewhere.statusCode, 200, 'a valid key from another address is unaffected')
  t.equal(elsewhere.headers['x-ratelimit-remaining'], '499', 'the victim key spent one request: its own')
})

t.test('a key used from outside its allowlist spends none of its quota', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app, { plan: 'starter' })
  const fenced = (await call(app, { method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name: 'f', scopes: ['credits:read'], ip_allowlist: ['192.0.2.1'] } })).json()
  for (let i = 0; i < 5; i++) {
    t.equal((await call(app, { url: '/api/v1/credits/balance', key: fenced.key, remoteAddress: '198.51.100.1' })).statusCode, 403)
  }
  const ok = await call(app, { url: '/api/v1/credits/balance', key: fenced.key, remoteAddress: '192.0.2.1' })
  t.equal(ok.statusCode, 200)
  t.equal(ok.headers['x-ratelimit-remaining'], '499')
})

t.test('steady state: an authenticated request makes no database query', async (t) => {
  const { app } = await buildTestApp(t)
  const account = await createTestAccount(app)
  await call(app, { url: '/api/v1/keys/current', key: account.key })
  const loads = app.verifier.databaseLoads
  for (let i = 0; i < 50; i++) t.equal((await call(app, { url: '/api/v1/keys/current', key: account.key })).statusCode, 200)
  t.equal(app.verifier.databaseLoads, loads, 'all 50 served from the key cache')
})
