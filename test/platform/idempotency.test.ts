import t from 'tap'
import { eq, sql } from 'drizzle-orm'
import { buildTestApp, call, createTestAccount } from '../helper/app.js'
import { agentBody } from '../helper/factories.js'
import { expectProblem } from '../helper/problem.js'
import { ManualClock } from '../../src/clock.js'
import { accounts, idempotencyKeys } from '../../src/db/schema/index.js'
import { fingerprint } from '../../src/idempotency/store.js'

const HOUR = 3_600_000

t.test('Idempotency-Key on creates: replay, reuse, bad keys, secrets sealed', async (t) => {
  const { app } = await buildTestApp(t)
  const account = await createTestAccount(app)
  const post = (key: string | undefined, body: Record<string, unknown>, url = '/api/v1/agents') =>
    call(app, { method: 'POST', url, key: account.key, headers: key === undefined ? {} : { 'idempotency-key': key }, payload: body })
  const agentCount = async () => (await call(app, { url: '/api/v1/agents?limit=100', key: account.key })).json().data.length as number

  t.test('the same key and request replays the first response, once created', async (t) => {
    const first = await post('create-1', agentBody({ name: 'Once' }))
    t.equal(first.statusCode, 201)
    t.notOk(first.headers['idempotent-replayed'])
    const again = await post('create-1', agentBody({ name: 'Once' }))
    t.equal(again.statusCode, 201)
    t.equal(again.headers['idempotent-replayed'], 'true')
    t.equal(again.body, first.body, 'the very same body')
    t.not(again.headers['x-request-id'], first.headers['x-request-id'], 'the retry has its own request id')
    t.ok(again.headers['x-ratelimit-remaining'], 'and its own rate-limit headers')
    t.equal(await agentCount(), 1, 'one agent, not two')
    const fresh = await post('create-2', agentBody({ name: 'Once' }))
    t.not(fresh.json().id, first.json().id, 'another key is another create')
  })

  t.test('the same key with another request is a 422', async (t) => {
    await post('reused', agentBody({ name: 'First' }))
    expectProblem(t, await post('reused', agentBody({ name: 'Second' })), 422, 'idempotency_key_reused')
    expectProblem(t, await post('reused', { phone: '+14155550123' }, '/api/v1/contacts'), 422, 'idempotency_key_reused', 'another path is another request')
  })

  t.test('a key must be 1 to 255 printable ASCII characters', async (t) => {
    for (const key of ['', 'k'.repeat(256), 'ünicode', 'tab\tkey']) {
      const response = await post(key, agentBody())
      expectProblem(t, response, 400, 'invalid_idempotency_key', JSON.stringify(key.slice(0, 10)))
    }
    t.equal((await post('k'.repeat(255), agentBody({ name: 'Long key' }))).statusCode, 201, '255 characters are fine')
  })

  t.test('while the first request runs, the same key is a 409 with Retry-After', async (t) => {
    const now = new Date()
    // As a request still being handled (on this instance or another) has left it.
    await app.database.db.insert(idempotencyKeys).values({
      accountId: account.accountId, key: 'running', fingerprint: fingerprint('POST', '/api/v1/agents', agentBody()), status: 'in_progress', lockedAt: now, expiresAt: new Date(now.getTime() + 24 * HOUR),
    })
    const response = await post('running', agentBody())
    expectProblem(t, response, 409, 'idempotency_in_progress')
    t.equal(response.headers['retry-after'], '1')
  })

  t.test('concurrent requests with one key create exactly once', async (t) => {
    const before = await agentCount()
    const responses = await Promise.all(Array.from({ length: 6 }, () => post('racing', agentBody({ name: 'Racing' }))))
    const created = responses.filter((response) => response.statusCode === 201 && !response.headers['idempotent-replayed'])
    t.equal(created.length, 1, 'one request created')
    for (const response of responses) t.ok([201, 409].includes(response.statusCode), `each is the create, a replay, or a 409 (got ${response.statusCode})`)
    t.equal(await agentCount(), before + 1)
  })

  t.test('a 5xx is not kept: the client may retry with the same key', async (t) => {
    // A stored setting the key service cannot use makes the create fail on our side.
    await app.database.db.update(accounts).set({ securitySettings: sql`'{"max_key_lifetime_days": "abc"}'::jsonb` }).where(eq(accounts.id, account.accountId))
    const failed = await post('after-failure', { name: 'k', scopes: ['calls:read'] }, '/api/v1/keys')
    t.equal(failed.statusCode, 500)
    await app.database.db.update(accounts).set({ securitySettings: {} }).where(eq(accounts.id, account.accountId))
    const retried = await post('after-failure', { name: 'k', scopes: ['calls:read'] }, '/api/v1/keys')
    t.equal(retried.statusCode, 201, 'the retry runs, it does not replay the 500')
    t.notOk(retried.headers['idempotent-replayed'])
  })

  t.test('a create that returns a secret replays it, and the database holds it only sealed', async (t) => {
    const first = await post('secret', { name: 'sealed', scopes: ['calls:read'] }, '/api/v1/keys')
    const replay = await post('secret', { name: 'sealed', scopes: ['calls:read'] }, '/api/v1/keys')
    t.equal(replay.json().key, first.json().key, 'the retry gets the secret it lost')
    const rows = await app.database.db.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, 'secret'))
    t.equal(rows.length, 1)
    t.notMatch(JSON.stringify(rows), first.json().key.slice(4, 30), 'no part of the secret in the row')
    t.notMatch(JSON.stringify(rows), 'sealed', 'nor the rest of the body')
  })
})

t.test('kept 24 hours, then pruned: the key is free again', async (t) => {
  const clock = new ManualClock(Date.parse('2026-12-01T12:00:00Z'))
  const { app } = await buildTestApp(t, {}, { clock })
  const account = await createTestAccount(app)
  const post = () => call(app, { method: 'POST', url: '/api/v1/agents', key: account.key, headers: { 'idempotency-key': 'day' }, payload: agentBody() })
  const first = await post()
  clock.advance(23 * HOUR)
  t.equal((await post()).headers['idempotent-replayed'], 'true', 'replayed within 24 h')
  clock.advance(2 * HOUR)
  t.equal(await app.scheduler.runNow('idempotency-prune', { now: clock.now() }), true)
  t.same(await app.database.db.select().from(idempotencyKeys), [], 'the expired row was pruned')
  const later = await post()
  t.equal(later.statusCode, 201)
  t.notOk(later.headers['idempotent-replayed'])
  t.not(later.json().id, first.json().id, 'a new create')
})

t.test('two instances on one PostgreSQL see each other’s keys', { skip: !process.env.DATABASE_URL && 'needs DATABASE_URL (PGlite is one process)' }, async (t) => {
  const one = await buildTestApp(t)
  const { app: other } = await buildTestApp(t, {}, { sharedWith: one })
  const account = await createTestAccount(one.app)
  const post = (app: typeof other, key: string, name = 'Shared') =>
    call(app, { method: 'POST', url: '/api/v1/agents', key: account.key, headers: { 'idempotency-key': key }, payload: agentBody({ name }) })
  const first = await post(one.app, 'cross')
  const replay = await post(other, 'cross')
  t.equal(replay.headers['idempotent-replayed'], 'true', 'the other instance replays')
  t.equal(replay.body, first.body)
  expectProblem(t, await post(other, 'cross', 'Different'), 422, 'idempotency_key_reused')
  const raced = await Promise.all([post(one.app, 'raced'), post(other, 'raced'), post(one.app, 'raced'), post(other, 'raced')])
  t.equal(raced.filter((response) => response.statusCode === 201 && !response.headers['idempotent-replayed']).length, 1, 'across instances, one create')
})
