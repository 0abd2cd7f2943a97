import t from 'tap'
import { buildTestApp, createTestAccount, call } from '../helper/app.js'

t.test('key management API', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app)

  const createKey = (body: Record<string, unknown>, key = owner.key) =>
    call(app, { method: 'POST', url: '/api/v1/keys', key, payload: body })

  t.test('create returns the secret once; reads never do', async (t) => {
    const created = await createKey({ name: 'reporting', scopes: ['calls:read', 'analytics:read'] })
    t.equal(created.statusCode, 201)
    const body = created.json()
    t.match(body, { id: /^key_/, name: 'reporting', scopes: ['calls:read', 'analytics:read'], status: 'active', key: /^vxp_[0-9A-Za-z]{49}$/ })
    t.equal(body.prefix, body.key.slice(0, 12))
    t.equal(body.last_four, body.key.slice(-4))
    t.equal(body.created_by, owner.keyId)

    const fetched = await call(app, { url: `/api/v1/keys/${body.id}`, key: owner.key })
    t.equal(fetched.statusCode, 200)
    t.notOk('key' in fetched.json(), 'GET never returns the secret')
    t.notMatch(fetched.body, body.key)

    const listed = await call(app, { url: '/api/v1/keys?limit=100', key: owner.key })
    t.equal(listed.statusCode, 200)
    t.notMatch(listed.body, /vxp_[0-9A-Za-z]{49}/)
    t.ok(listed.json().data.some((k: { id: string }) => k.id === body.id))

    const works = await call(app, { url: '/api/v1/keys/current', key: body.key })
    t.equal(works.statusCode, 200)
    t.equal(works.json().key.id, body.id)
  })

  t.test('validation: unknown fields, unknown scopes, empty scopes, past expiry, bad CIDR', async (t) => {
    const unknownField = await createKey({ name: 'x', scopes: ['calls:read'], admin: true })
    t.equal(unknownField.statusCode, 400)
    t.equal(unknownField.json().code, 'validation_failed')
    t.match(unknownField.json().errors, [{ field: '/body/admin' }])

    t.equal((await createKey({ name: 'x', scopes: ['calls:admin'] })).statusCode, 400)
    t.equal((await createKey({ name: 'x', scopes: [] })).statusCode, 400)
    t.equal((await createKey({ scopes: ['calls:read'] })).json().code, 'validation_failed')

    const past = await createKey({ name: 'x', scopes: ['calls:read'], expires_at: '2001-01-01T00:00:00Z' })
    t.equal(past.statusCode, 400)
    t.match(past.json().errors, [{ field: '/expires_at' }])

    const badCidr = await createKey({ name: 'x', scopes: ['calls:read'], ip_allowlist: ['10.0.0.0/8', '10.0.0.300'] })
    t.equal(badCidr.statusCode, 400)
    t.equal(badCidr.json().code, 'invalid_ip_allowlist')
    t.match(badCidr.json().detail, '10.0.0.300')
    t.match(badCidr.json().errors, [{ field: '/ip_allowlist/1' }])

    const tooMany = await createKey({ name: 'x', scopes: ['calls:read'], ip_allowlist: Array.from({ length: 101 }, (_, i) => `10.0.${i}.1`) })
    t.equal(tooMany.statusCode, 400)
  })

  t.test('a key cannot grant scopes it does not hold', async (t) => {
    const limited = (await createKey({ name: 'limited manager', scopes: ['keys:manage', 'calls:write'] })).json()
    const escalate = await createKey({ name: 'x', scopes: ['contacts:read'] }, limited.key)
    t.equal(escalate.statusCode, 403)
    t.equal(escalate.json().code, 'scope_not_grantable')
    t.same(escalate.json().scopes, ['contacts:read'])
    // calls:write implies calls:read, so granting calls:read is fine.
    const implied = await createKey({ name: 'reader', scopes: ['calls:read'] }, limited.key)
    t.equal(implied.statusCode, 201)
    const patchEscalate = await call(app, { method: 'PATCH', url: `/api/v1/keys/${implied.json().id}`, key: limited.key, payload: { scopes: ['credits:read'] } })
    t.equal(patchEscalate.statusCode, 403)

    // Nor can it mint or loosen a stronger key by rotating or editing it.
    const rotateStronger = await call(app, { method: 'POST', url: `/api/v1/keys/${owner.keyId}/rotate`, key: limited.key, payload: {} })
    t.equal(rotateStronger.statusCode, 403, 'rotating the all-scope key would mint an all-scope secret')
    t.equal(rotateStronger.json().code, 'scope_not_grantable')
    t.notMatch(rotateStronger.body, /vxp_[0-9A-Za-z]{49}/)
    const loosenStronger = await call(app, { method: 'PATCH', url: `/api/v1/keys/${owner.keyId}`, key: limited.key, payload: { ip_allowlist: [] } })
    t.equal(loosenStronger.statusCode, 403)
    const still = await call(app, { url: `/api/v1/keys/${owner.keyId}`, key: owner.key })
    t.equal(still.json().replaced_by, null, 'the stronger key was not rotated')
    const rotateOwn = await call(app, { method: 'POST', url: `/api/v1/keys/${implied.json().id}/rotate`, key: limited.key, payload: {} })
    t.equal(rotateOwn.statusCode, 201, 'a key it could have granted, it may rotate')
  })

  t.test('PATCH updates name, scopes, allowlist and expiry; unknown fields → 400', async (t) => {
    const key = (await createKey({ name: 'before', scopes: ['calls:read'] })).json()
    const expires = new Date(Date.now() + 3600_000).toISOString()
    const patched = await call(app, {
      method: 'PATCH', url: `/api/v1/keys/${key.id}`, key: owner.key,
      payload: { name: 'after', scopes: ['calls:write', 'calls:read'], ip_allowlist: ['192.0.2.0/24', '2001:db8::/32'], expires_at: expires },
    })
    t.equal(patched.statusCode, 200)
    t.match(patched.json(), { name: 'after', scopes: ['calls:read', 'calls:write'], ip_allowlist: ['192.0.2.0/24', '2001:db8::/32'], expires_at: expires })
    const unknown = await call(app, { method: 'PATCH', url: `/api/v1/keys/${key.id}`, key: owner.key, payload: { revoked_at: null } })
    t.equal(unknown.statusCode, 400)
    const cleared = await call(app, { method: 'PATCH', url: `/api/v1/keys/${key.id}`, key: owner.key, payload: { expires_at: null } })
    t.equal(cleared.json().expires_at, null)
  })

  t.test('DELETE revokes at once', async (t) => {
    const key = (await createKey({ name: 'doomed', scopes: ['credits:read'] })).json()
    t.equal((await call(app, { url: '/api/v1/credits/balance', key: key.key })).statusCode, 200)
    const revoked = await call(app, { method: 'DELETE', url: `/api/v1/keys/${key.id}`, key: owner.key })
    t.equal(revoked.statusCode, 200)
    t.equal(revoked.json().status, 'revoked')
    const refused = await call(app, { url: '/api/v1/credits/balance', key: key.key })
    t.equal(refused.statusCode, 401)
    t.equal(refused.json().code, 'revoked_api_key')
    const patchRevoked = await call(app, { method: 'PATCH', url: `/api/v1/keys/${key.id}`, key: owner.key, payload: { name: 'zombie' } })
    t.equal(patchRevoked.statusCode, 409)
  })

  t.test('expired keys → 401 expired_api_key', async (t) => {
    const key = (await createKey({ name: 'short-lived', scopes: ['credits:read'], expires_at: new Date(Date.now() + 1500).toISOString() })).json()
    t.equal((await call(app, { url: '/api/v1/credits/balance', key: key.key })).statusCode, 200)
    await new Promise((resolve) => setTimeout(resolve, 1600))
    const expired = await call(app, { url: '/api/v1/credits/balance', key: key.key })
    t.equal(expired.statusCode, 401)
    t.equal(expired.json().code, 'expired_api_key')
  })

  t.test('rotation: overlap with Deprecation/Sunset, then the old key stops; second rotation → 409', async (t) => {
    const old = (await createKey({ name: 'rotating', scopes: ['credits:read', 'calls:read'], ip_allowlist: ['127.0.0.1'] })).json()
    const rotated = await call(app, { method: 'POST', url: `/api/v1/keys/${old.id}/rotate`, key: owner.key, payload: { expire_old_in_seconds: 3600 } })
    t.equal(rotated.statusCode, 201)
    const successor = rotated.json()
    t.match(successor, { name: 'rotating', scopes: ['calls:read', 'credits:read'], ip_allowlist: ['127.0.0.1/32'], rotated_from: old.id, key: /^vxp_/ })
    t.not(successor.key, old.key)
    t.equal(successor.previous_key.replaced_by, successor.id)
    const sunsetMs = Date.parse(successor.previous_key.expires_at) - Date.now()
    t.ok(sunsetMs > 3500_000 && sunsetMs <= 3600_000, 'old key expires after the overlap')

    const oldStillWorks = await call(app, { url: '/api/v1/credits/balance', key: old.key })
    t.equal(oldStillWorks.statusCode, 200)
    t.match(oldStillWorks.headers.deprecation, /^@\d+$/)
    t.equal(Date.parse(String(oldStillWorks.headers.sunset)), Math.floor(Date.parse(successor.previous_key.expires_at) / 1000) * 1000)
    const newWorks = await call(app, { url: '/api/v1/credits/balance', key: successor.key })
    t.equal(newWorks.statusCode, 200)
    t.notOk(newWorks.headers.deprecation)

    const extendSunset = await call(app, { method: 'PATCH', url: `/api/v1/keys/${old.id}`, key: owner.key, payload: { expires_at: null } })
    t.equal(extendSunset.statusCode, 409, 'a rotated key cannot cancel its sunset')
    const shorten = await call(app, { method: 'PATCH', url: `/api/v1/keys/${old.id}`, key: owner.key, payload: { expires_at: new Date(Date.now() + 1800_000).toISOString() } })
    t.equal(shorten.statusCode, 200, 'but it may be brought forward')

    const again = await call(app, { method: 'POST', url: `/api/v1/keys/${old.id}/rotate`, key: owner.key })
    t.equal(again.statusCode, 409)
    t.equal(again.json().code, 'key_already_rotated')

    const immediate = await call(app, { method: 'POST', url: `/api/v1/keys/${successor.id}/rotate`, key: owner.key, payload: { expire_old_in_seconds: 0 } })
    t.equal(immediate.statusCode, 201)
    const stopped = await call(app, { url: '/api/v1/credits/balance', key: successor.key })
    t.equal(stopped.statusCode, 401)
    t.equal(stopped.json().code, 'expired_api_key')

    const noBody = await call(app, { method: 'POST', url: `/api/v1/keys/${immediate.json().id}/rotate`, key: owner.key })
    t.equal(noBody.statusCode, 201, 'no body means the default overlap')
    const defaultSunset = Date.parse(noBody.json().previous_key.expires_at) - Date.now()
    t.ok(defaultSunset > 86_300_000 && defaultSunset <= 86_400_000)

    const tooLong = await call(app, { method: 'POST', url: `/api/v1/keys/${noBody.json().id}/rotate`, key: owner.key, payload: { expire_old_in_seconds: 604_801 } })
    t.equal(tooLong.statusCode, 400)
  })

  t.test('concurrent rotations of one key: exactly one wins', async (t) => {
    const key = (await createKey({ name: 'raced', scopes: ['calls:read'] })).json()
    const results = await Promise.all(Array.from({ length: 5 }, () =>
      call(app, { method: 'POST', url: `/api/v1/keys/${key.id}/rotate`, key: owner.key, payload: {} })))
    t.same(results.map((r) => r.statusCode).sort(), [201, 409, 409, 409, 409])
  })

  t.test('GET /keys/current works without any scope and reports limits and rotation due date', async (t) => {
    const bare = (await createKey({ name: 'bare', scopes: ['webhooks:read'] })).json()
    const current = await call(app, { url: '/api/v1/keys/current', key: bare.key })
    t.equal(current.statusCode, 200)
    t.match(current.json(), {
      key: { id: bare.id, scopes: ['webhooks:read'] },
      account: { id: owner.accountId, plan: 'professional' },
      limits: { requests_per_hour: 25_000, burst_per_minute: 2_500 },
    })
    t.equal(Date.parse(current.json().rotation_due_at) - Date.parse(bare.created_at), 90 * 24 * 3600 * 1000)
  })

  t.test('pagination walks every key exactly once', async (t) => {
    const account = await createTestAccount(app)
    for (let i = 0; i < 6; i++) await createKey({ name: `k${i}`, scopes: ['calls:read'] }, account.key)
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const response = await call(app, { url: `/api/v1/keys?limit=3${cursor ? `&cursor=${cursor}` : ''}`, key: account.key })
      t.equal(response.statusCode, 200)
      const page = response.json()
      seen.push(...page.data.map((k: { id: string }) => k.id))
      cursor = page.next_cursor
      t.equal(page.has_more, cursor !== null)
      pages++
    } while (cursor)
    t.equal(seen.length, 7)
    t.equal(new Set(seen).size, 7)
    t.equal(pages, 3)
    const bad = await call(app, { url: '/api/v1/keys?cursor=garbage', key: account.key })
    t.equal(bad.statusCode, 400)
    t.equal(bad.json().code, 'invalid_cursor')
    t.equal((await call(app, { url: '/api/v1/keys?limit=0', key: account.key })).statusCode, 400)
    t.equal((await call(app, { url: '/api/v1/keys?limit=101', key: account.key })).statusCode, 400)
  })

  t.test('every key change is in the audit log with actor, IP, before/after', async (t) => {
    const account = await createTestAccount(app)
    const key = (await createKey({ name: 'audited', scopes: ['calls:read'] }, account.key)).json()
    await call(app, { method: 'PATCH', url: `/api/v1/keys/${key.id}`, key: account.key, payload: { name: 'audited-2' }, remoteAddress: '127.0.0.1' })
    await call(app, { method: 'POST', url: `/api/v1/keys/${key.id}/rotate`, key: account.key, payload: {} })
    await call(app, { method: 'DELETE', url: `/api/v1/keys/${key.id}`, key: account.key })
    const audit = await call(app, { url: '/api/v1/audit-log?limit=100', key: account.key })
    t.equal(audit.statusCode, 200)
    const entries = audit.json().data as { action: string; target_id: string; actor: string; actor_ip: string | null; before: any; after: any }[]
    const forKey = entries.filter((e) => e.target_id === key.id).map((e) => e.action)
    t.same(forKey, ['key.revoked', 'key.rotated', 'key.updated', 'key.created'])
    const update = entries.find((e) => e.action === 'key.updated' && e.target_id === key.id)!
    t.equal(update.actor, account.keyId)
    t.equal(update.actor_ip, '127.0.0.1')
    t.equal(update.before.name, 'audited')
    t.equal(update.after.name, 'audited-2')
    t.ok(entries.some((e) => e.action === 'account.created'))
    t.notMatch(audit.body, /vxp_[0-9A-Za-z]{49}/, 'no secret in the audit log')
    t.notMatch(audit.body, /digest/)
  })

  t.test('the first key holds all 13 documented scopes; an unknown scope is refused', async (t) => {
    const current = await call(app, { url: '/api/v1/keys/current', key: owner.key })
    t.same(current.json().key.scopes, [
      'calls:read', 'calls:write', 'campaigns:read', 'campaigns:write', 'agents:read', 'agents:write',
      'contacts:read', 'contacts:write', 'credits:read', 'webhooks:read', 'webhooks:write', 'analytics:read', 'keys:manage',
    ], 'exactly the 13 of the product page, in its order')
    t.equal((await createKey({ name: 'x', scopes: ['credits:write'] })).statusCode, 400, 'credits are read-only: no such scope')
  })

  t.test('rotating a key that already expires: the old key stops at the earlier of its expiry and the overlap', async (t) => {
    for (const [expiresInS, overlapS] of [[3_600, 7_200], [10_800, 7_200]] as const) {
      const expires = new Date(Date.now() + expiresInS * 1000)
      const key = (await createKey({ name: 'expiring', scopes: ['calls:read'], expires_at: expires.toISOString() })).json()
      const rotated = await call(app, { method: 'POST', url: `/api/v1/keys/${key.id}/rotate`, key: owner.key, payload: { expire_old_in_seconds: overlapS } })
      t.equal(rotated.statusCode, 201)
      const sunset = Date.parse(rotated.json().previous_key.expires_at)
      const expected = Math.min(expires.getTime(), Date.now() + overlapS * 1000)
      t.ok(Math.abs(sunset - expected) < 5_000, `expires in ${expiresInS} s, overlap ${overlapS} s: sunset at the earlier (${new Date(sunset).toISOString()})`)
      t.ok(sunset <= expires.getTime(), 'never later than the key’s own expiry')
    }
  })
})
