import t from 'tap'
import { buildTestApp, createTestAccount, call } from '../helper/app.js'
import { isAllowed, parseCidr, parseClientAddress, validateAllowlist, type CidrRange } from '../../src/cidr.js'

t.test('CIDR parsing and matching', async (t) => {
  const ranges = ['10.0.0.0/8', '192.0.2.7', '2001:db8::/32'].map((entry) => parseCidr(entry) as CidrRange)
  t.ok(isAllowed(ranges, parseClientAddress('10.200.3.4')))
  t.ok(isAllowed(ranges, parseClientAddress('192.0.2.7')))
  t.notOk(isAllowed(ranges, parseClientAddress('192.0.2.8')))
  t.ok(isAllowed(ranges, parseClientAddress('2001:db8:1::5')))
  t.notOk(isAllowed(ranges, parseClientAddress('2001:db9::1')))
  t.ok(isAllowed(ranges, parseClientAddress('::ffff:10.1.1.1')), 'IPv4-mapped IPv6 matches IPv4 rules')
  t.notOk(isAllowed(ranges, parseClientAddress('not-an-ip')), 'an unparseable client never matches')
  t.ok(isAllowed([], parseClientAddress('203.0.113.9')), 'empty list allows any address')

  const checked = validateAllowlist(['10.0.0.0/8', '::ffff:192.0.2.0/120', '10.0.0.7/24', '0x7f.1', '2130706433', '1.2.3.4/33', 'fe80::/10', '10.0.0.0/8'])
  t.same(checked.entries, ['10.0.0.0/8', '192.0.2.0/24', 'fe80::/10'])
  t.same(checked.invalid.map((i) => i.entry), ['10.0.0.7/24', '0x7f.1', '2130706433', '1.2.3.4/33'])
})

t.test('allowlist enforcement on requests', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app)
  const create = async (ipAllowlist: string[]) => (await call(app, {
    method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name: 'fenced', scopes: ['credits:read'], ip_allowlist: ipAllowlist },
  })).json()

  const fenced = await create(['198.51.100.0/24', '2001:db8::/48'])
  const balance = (remoteAddress: string, headers: Record<string, string> = {}) =>
    call(app, { url: '/api/v1/credits/balance', key: fenced.key, remoteAddress, headers })

  t.equal((await balance('198.51.100.20')).statusCode, 200)
  t.equal((await balance('::ffff:198.51.100.20')).statusCode, 200, 'IPv4-mapped client')
  t.equal((await balance('2001:db8:0:1::9')).statusCode, 200)
  const outside = await balance('203.0.113.5')
  t.equal(outside.statusCode, 403)
  t.equal(outside.json().code, 'ip_not_allowed')
  t.notOk(outside.headers['x-ratelimit-remaining'] === undefined, 'carries the per-IP limiter headers')
  t.equal(outside.headers['ratelimit-policy'], '"auth_failures";q=100000;w=60')

  const spoofed = await balance('203.0.113.5', { 'x-forwarded-for': '198.51.100.20' })
  t.equal(spoofed.statusCode, 403, 'X-Forwarded-For is ignored without TRUST_PROXY')

  // Updating the allowlist takes effect on the next request (cache invalidated).
  const widened = await call(app, { method: 'PATCH', url: `/api/v1/keys/${fenced.id}`, key: owner.key, payload: { ip_allowlist: ['203.0.113.0/24'] } })
  t.equal(widened.statusCode, 200)
  t.equal((await balance('203.0.113.5')).statusCode, 200)
  t.equal((await balance('198.51.100.20')).statusCode, 403)
  const cleared = await call(app, { method: 'PATCH', url: `/api/v1/keys/${fenced.id}`, key: owner.key, payload: { ip_allowlist: [] } })
  t.same(cleared.json().ip_allowlist, [])
  t.equal((await balance('192.0.2.200')).statusCode, 200)

  const invalid = await call(app, { method: 'PATCH', url: `/api/v1/keys/${fenced.id}`, key: owner.key, payload: { ip_allowlist: ['10.0.0.0/8', 'bogus'] } })
  t.equal(invalid.statusCode, 400)
  t.match(invalid.json().detail, 'bogus')
})

t.test('TRUST_PROXY: the forwarded address counts only from a trusted proxy', async (t) => {
  const { app } = await buildTestApp(t, { TRUST_PROXY: '127.0.0.1' })
  const owner = await createTestAccount(app)
  const fenced = (await call(app, {
    method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name: 'behind proxy', scopes: ['credits:read'], ip_allowlist: ['198.51.100.20'] },
  })).json()
  const viaProxy = await call(app, { url: '/api/v1/credits/balance', key: fenced.key, remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '198.51.100.20' } })
  t.equal(viaProxy.statusCode, 200)
  const viaStranger = await call(app, { url: '/api/v1/credits/balance', key: fenced.key, remoteAddress: '192.0.2.1', headers: { 'x-forwarded-for': '198.51.100.20' } })
  t.equal(viaStranger.statusCode, 403, 'an untrusted hop cannot claim an allowed address')
  const chained = await call(app, { url: '/api/v1/credits/balance', key: fenced.key, remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '198.51.100.20, 192.0.2.1' } })
  t.equal(chained.statusCode, 403, 'only the hop the trusted proxy saw counts')
})

t.test('TRUST_PROXY as a hop count believes exactly that many hops', async (t) => {
  const { app } = await buildTestApp(t, { TRUST_PROXY: '1' })
  const owner = await createTestAccount(app)
  const fenced = (await call(app, {
    method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name: 'one hop', scopes: ['credits:read'], ip_allowlist: ['198.51.100.20'] },
  })).json()
  const viaProxy = await call(app, { url: '/api/v1/credits/balance', key: fenced.key, remoteAddress: '10.0.0.5', headers: { 'x-forwarded-for': '198.51.100.20' } })
  t.equal(viaProxy.statusCode, 200, 'the client address the one proxy saw')
  const spoofedDeeper = await call(app, { url: '/api/v1/credits/balance', key: fenced.key, remoteAddress: '10.0.0.5', headers: { 'x-forwarded-for': '198.51.100.20, 192.0.2.1' } })
  t.equal(spoofedDeeper.statusCode, 403, 'a client-supplied hop beyond the trusted one is not believed')
})
