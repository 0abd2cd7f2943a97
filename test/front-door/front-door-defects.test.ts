import t from 'tap'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { eq } from 'drizzle-orm'
import { Redis } from 'ioredis'
import { buildTestApp, call, createTestAccount, randomClientIp } from '../helper/app.js'
import { apiKeys } from '../../src/db/schema/index.js'
import { SCOPES } from '../../src/scopes.js'

/**
 * Regressions for the front-door defects found by an outsider's attack checklist. Each subtest
 * failed on the code before its fix.
 */

const DAY = 86_400_000

t.test('an allowlist entry the verifier cannot read is refused on write and fails closed on read', async (t) => {
  const { app, logs } = await buildTestApp(t)
  const owner = await createTestAccount(app)
  const zone = await call(app, { method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name: 'zoned', scopes: ['credits:read'], ip_allowlist: ['10.0.0.0/8', 'fe80::1%eth0'] } })
  t.equal(zone.statusCode, 400)
  t.equal(zone.json().code, 'invalid_ip_allowlist')
  t.match(zone.json().errors, [{ field: '/ip_allowlist/1' }], 'the entry is named')
  t.match(zone.json().detail, 'fe80::1%eth0')

  const key = (await call(app, { method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name: 'fenced', scopes: ['credits:read'], ip_allowlist: ['127.0.0.1'] } })).json()
  const patched = await call(app, { method: 'PATCH', url: `/api/v1/keys/${key.id}`, key: owner.key, payload: { ip_allowlist: ['fe80::1%25eth0/64'] } })
  t.equal(patched.statusCode, 400, 'PATCH refuses it too')
  t.equal(patched.json().code, 'invalid_ip_allowlist')

  // A row written before the strict parser (or by hand) with an entry it cannot read.
  await app.database.db.update(apiKeys).set({ ipAllowlist: ['fe80::1%eth0/128'] }).where(eq(apiKeys.id, key.id))
  await app.cacheBus.publish({ type: 'key.changed', keyId: key.id, accountId: owner.accountId })
  for (const remoteAddress of ['127.0.0.1', '203.0.113.9', 'fe80::1']) {
    const response = await call(app, { url: '/api/v1/credits/balance', key: key.key, remoteAddress })
    t.equal(response.statusCode, 403, `refused from ${remoteAddress}, never opened to any address`)
    t.equal(response.json().code, 'ip_not_allowed')
  }
  t.ok(logs.some((line) => line.includes('stored IP allowlist has an entry that cannot be parsed') && line.includes(key.id)), 'and logged')
})

t.test('a key can revoke only keys whose scopes it holds', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app)
  const weak = (await call(app, { method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name: 'weak manager', scopes: ['keys:manage', 'calls:read'] } })).json()
  const refused = await call(app, { method: 'DELETE', url: `/api/v1/keys/${owner.keyId}`, key: weak.key })
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().code, 'scope_not_grantable')
  t.equal((await call(app, { url: '/api/v1/keys/current', key: owner.key })).statusCode, 200, 'the stronger key still works')
  const peer = (await call(app, { method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name: 'reader', scopes: ['calls:read'] } })).json()
  const allowed = await call(app, { method: 'DELETE', url: `/api/v1/keys/${peer.id}`, key: weak.key })
  t.equal(allowed.statusCode, 200, 'a key it could have granted, it may revoke')
  t.equal(allowed.json().status, 'revoked')
})

t.test('changing the security settings needs a key holding every scope; reading them needs keys:manage', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app)
  const manager = (await call(app, { method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name: 'manager', scopes: ['keys:manage'] } })).json()
  const read = await call(app, { url: '/api/v1/settings/security', key: manager.key })
  t.equal(read.statusCode, 200)
  const change = await call(app, { method: 'PATCH', url: '/api/v1/settings/security', key: manager.key, payload: { alerts: { failed_auth_burst: { enabled: false } } } })
  t.equal(change.statusCode, 403)
  t.equal(change.json().code, 'owner_key_required')
  t.equal((await call(app, { url: '/api/v1/settings/security', key: owner.key })).json().alerts.failed_auth_burst.enabled, true, 'nothing changed')
  // Every write scope (each implying its read) plus the three standalone scopes is every scope.
  const effective = SCOPES.filter((scope) => !scope.endsWith(':read') || ['credits:read', 'analytics:read'].includes(scope))
  const full = (await call(app, { method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name: 'effective owner', scopes: effective } })).json()
  const allowed = await call(app, { method: 'PATCH', url: '/api/v1/settings/security', key: full.key, payload: { max_key_lifetime_days: 30 } })
  t.equal(allowed.statusCode, 200)
  t.equal(allowed.json().max_key_lifetime_days, 30)
})

t.test('a key in a URL is scrubbed from logs percent-encoded too, and from stored user agents', async (t) => {
  const { app, logs } = await buildTestApp(t, { LOG_LEVEL: 'info' })
  const owner = await createTestAccount(app)
  const secretPart = owner.key.slice(4)
  for (const url of [`/health?api_key=vxp%5F${secretPart}`, `/health?api_key=%76%78%70%5f${secretPart}`, `/api/v1/nope?k=vxp%255F${secretPart}`]) {
    await call(app, { url })
  }
  await call(app, { url: '/api/v1/keys/current', key: owner.key, headers: { 'user-agent': `curl/8 (key ${owner.key})` } })
  t.notOk(logs.some((line) => line.includes(secretPart.slice(0, 20))), 'no part of the key in any log line')
  await app.usageLog.flush()
  const stored = await call(app, { url: `/api/v1/keys/${owner.keyId}/logs?limit=5`, key: owner.key })
  const agents = stored.json().data.map((entry: { user_agent: string | null }) => entry.user_agent)
  t.ok(agents.includes('curl/8 (key vxp_[REDACTED])'), 'the user agent is stored with the key scrubbed')
  t.notMatch(stored.body, secretPart.slice(0, 20))
})

t.test('names are labels: control, bidi-override and line-separator characters are refused', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app)
  for (const name of ['red\u001b[31m', 'fake\nline', 'txt\u202Eexe', 'a\u2028b', 'c1\u0085', '\u2066isolate']) {
    const response = await call(app, { method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name, scopes: ['calls:read'] } })
    const shown = JSON.stringify(name).replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`)
    t.equal(response.statusCode, 400, shown)
    t.match(response.json().errors, [{ field: '/body/name', message: /visible character/ }])
  }
  const fine = await call(app, { method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name: 'Ünïcode – fine ✓', scopes: ['calls:read'] } })
  t.equal(fine.statusCode, 201)
})

t.test('behind a trusted proxy, a client address in a legacy spelling is no address', async (t) => {
  const { app } = await buildTestApp(t, { TRUST_PROXY: '127.0.0.1' })
  const owner = await createTestAccount(app)
  const fenced = (await call(app, { method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name: 'ten', scopes: ['credits:read'], ip_allowlist: ['10.0.0.1'] } })).json()
  const via = (forwarded: string) => call(app, { url: '/api/v1/credits/balance', key: fenced.key, remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': forwarded } })
  t.equal((await via('10.0.0.1')).statusCode, 200)
  for (const legacy of ['012.0.0.1', '167772161', '0x0a.0.0.1', '10.1', '::ffff:010.0.0.1', 'fe80::1%eth0']) {
    const response = await via(legacy)
    t.equal(response.statusCode, 403, `${legacy} is not 10.0.0.1`)
    t.equal(response.json().code, 'ip_not_allowed')
  }
})

t.test('more than 100 request headers is a 431, so a second credential cannot hide beyond what Node keeps', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app)
  const other = await createTestAccount(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const padding = Array.from({ length: 2_100 }, (_, i) => `X-Pad-${i}: ${i}\r\n`).join('')
  const raw = await rawRequest(port, `GET /api/v1/keys/current HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${owner.key}\r\n${padding}X-API-Key: ${other.key}\r\nConnection: close\r\n\r\n`)
  t.match(raw, /^HTTP\/1\.1 431 /, 'not a 200 for the first key')
  t.match(raw, /content-type: application\/problem\+json/i)
  t.match(raw, /"code":"request_header_fields_too_large"/)
  t.match(raw, /x-request-id: req_/i)

  const headers = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-pad-${i}`, String(i)]))
  t.equal((await call(app, { url: '/api/v1/keys/current', key: owner.key, headers: headers(90) })).statusCode, 200, '90 padding headers are fine')
  const many = await call(app, { url: '/api/v1/keys/current', key: owner.key, headers: headers(101) })
  t.equal(many.statusCode, 431)
  t.equal(many.json().code, 'request_header_fields_too_large')
})

t.test('deployments sharing one Redis keep their own counters, blocks and events (REDIS_PREFIX)', { skip: !process.env.REDIS_URL && 'needs REDIS_URL' }, async (t) => {
  const suffix = Math.random().toString(36).slice(2, 8)
  const limits = { AUTH_FAILURES_PER_MINUTE: 3 }
  const { app: first } = await buildTestApp(t, { ...limits, REDIS_PREFIX: `test-a-${suffix}` })
  const { app: sibling } = await buildTestApp(t, { ...limits, REDIS_PREFIX: `test-a-${suffix}` })
  const { app: stranger } = await buildTestApp(t, { ...limits, REDIS_PREFIX: `test-b-${suffix}` })
  const ip = randomClientIp()
  const bad = `vxp_${'A'.repeat(49)}`
  for (let i = 0; i < 4; i++) await call(first, { url: '/api/v1/keys/current', key: bad, remoteAddress: ip })
  const account = await createTestAccount(stranger)
  const other = await call(stranger, { url: '/api/v1/keys/current', key: account.key, remoteAddress: ip })
  t.equal(other.statusCode, 200, 'another deployment does not honour the block')
  const siblingAccount = await createTestAccount(sibling)
  const eventually = async () => {
    for (let i = 0; i < 50; i++) {
      const response = await call(sibling, { url: '/api/v1/keys/current', key: siblingAccount.key, remoteAddress: ip })
      if (response.statusCode === 429) return response
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    return undefined
  }
  t.equal((await eventually())?.json().code, 'too_many_failed_attempts', 'the same deployment’s other instance does')
  const redis = new Redis(process.env.REDIS_URL!)
  t.teardown(() => redis.quit())
  const keys = await redis.keys(`{test-a-${suffix}:rl:*`)
  t.ok(keys.length > 0, 'counters live under the prefix')
  t.same(await redis.keys(`{rl:*authfail*${ip}*`), [], 'and nowhere unprefixed')
})

t.test('a JSON content type with an empty body means "no body"', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app)
  const key = (await call(app, { method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name: 'r', scopes: ['calls:read'] } })).json()
  const rotated = await call(app, { method: 'POST', url: `/api/v1/keys/${key.id}/rotate`, key: owner.key, headers: { 'content-type': 'application/json' }, payload: '' })
  t.equal(rotated.statusCode, 201, 'the defaults')
  const sunset = Date.parse(rotated.json().previous_key.expires_at) - Date.now()
  t.ok(sunset > 86_000_000 && sunset <= 86_400_000)
  const create = await call(app, { method: 'POST', url: '/api/v1/keys', key: owner.key, headers: { 'content-type': 'application/json' }, payload: '' })
  t.equal(create.statusCode, 400, 'where a body is required, its absence is a validation error naming it')
  t.equal(create.json().code, 'validation_failed')
})

t.test('framework and HTTP-parser errors are problem+json from the catalogue, with a request id', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app)
  const badUrl = await call(app, { url: '/api/v1/keys/%FF', key: owner.key })
  t.equal(badUrl.statusCode, 400)
  t.match(String(badUrl.headers['content-type']), /^application\/problem\+json/)
  t.match(badUrl.json(), { code: 'bad_request', request_id: /^req_/ })
  t.match(String(badUrl.headers['x-request-id']), /^req_/)

  const longParam = await call(app, { url: `/api/v1/keys/${'k'.repeat(200)}`, key: owner.key })
  t.ok([400, 414].includes(longParam.statusCode))
  t.match(String(longParam.headers['content-type']), /^application\/problem\+json/)

  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const huge = await rawRequest(port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
  t.match(huge, /^HTTP\/1\.1 431 /)
  t.match(huge, /Content-Type: application\/problem\+json/)
  t.match(huge, /X-Request-Id: req_/)
  t.match(huge, /"code":"request_header_fields_too_large"/)
  const garbage = await rawRequest(port, 'NOT HTTP AT ALL\r\n\r\n')
  t.match(garbage, /^HTTP\/1\.1 400 /)
  t.match(garbage, /"code":"bad_request"/)
})

t.test('needs_attention judges the effective scopes: every write plus the standalone scopes is all 13', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app)
  const effective = SCOPES.filter((scope) => !scope.endsWith(':read') || ['credits:read', 'analytics:read'].includes(scope))
  const expires = new Date(Date.now() + 30 * DAY).toISOString()
  const create = async (name: string, scopes: readonly string[]) => {
    const key = (await call(app, { method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name, scopes, ip_allowlist: ['127.0.0.1'], expires_at: expires } })).json()
    await call(app, { url: '/api/v1/keys/current', key: key.key })
    return key
  }
  const strong = await create('effectively all', effective)
  const almost = await create('all but keys:manage', effective.filter((scope) => scope !== 'keys:manage'))
  await app.verifier.flushLastUsed()
  t.same((await call(app, { url: `/api/v1/keys/${strong.id}`, key: owner.key })).json().attention, ['all_scopes'])
  t.same((await call(app, { url: `/api/v1/keys/${almost.id}`, key: owner.key })).json().attention, [])
  const listed = (await call(app, { url: '/api/v1/keys?needs_attention=true&limit=100', key: owner.key })).json().data.map((key: { id: string }) => key.id)
  t.ok(listed.includes(strong.id), 'the SQL filter agrees')
  t.notOk(listed.includes(almost.id))
})

function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text))
    let received = ''
    socket.on('data', (chunk) => { received += chunk.toString() })
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? resolve(received) : reject(error)))
    socket.on('close', () => resolve(received))
  })
}
