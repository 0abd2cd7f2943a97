import t from 'tap'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import { buildTestApp, createTestAccount, call } from '../helper/app.js'
import scopes from '../../plugins/scopes.js'
import { effectiveScopes, hasScope, normaliseScopes } from '../../src/scopes.js'

t.test('write implies read; nothing else is implied', async (t) => {
  t.same([...effectiveScopes(['calls:write'])].sort(), ['calls:read', 'calls:write'])
  t.ok(hasScope(['contacts:write'], 'contacts:read'))
  t.notOk(hasScope(['contacts:read'], 'contacts:write'))
  t.notOk(hasScope(['keys:manage'], 'credits:read'))
  t.notOk(hasScope(['calls:write'], 'campaigns:read'))
  t.same([...effectiveScopes(['bogus:scope'])], [])
  t.same(normaliseScopes(['keys:manage', 'calls:read', 'calls:read']), ['calls:read', 'keys:manage'])
})

t.test('scope enforcement on routes', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app)
  const mint = async (scopeList: string[]) =>
    (await call(app, { method: 'POST', url: '/api/v1/keys', key: owner.key, payload: { name: 'scoped', scopes: scopeList } })).json().key as string

  const noCredits = await mint(['calls:read'])
  const denied = await call(app, { url: '/api/v1/credits/balance', key: noCredits })
  t.equal(denied.statusCode, 403)
  t.equal(denied.json().code, 'insufficient_scope')
  t.equal(denied.json().required_scope, 'credits:read')
  t.match(denied.json().detail, 'credits:read')

  const noManage = await mint(['credits:read'])
  for (const [method, url] of [['GET', '/api/v1/keys'], ['POST', '/api/v1/keys'], ['GET', '/api/v1/audit-log'], ['DELETE', `/api/v1/keys/${owner.keyId}`]] as const) {
    const response = await call(app, { method, url, key: noManage, payload: method === 'POST' ? { name: 'x', scopes: ['calls:read'] } : undefined })
    t.equal(response.statusCode, 403, `${method} ${url}`)
    t.equal(response.json().code, 'insufficient_scope')
  }
  t.equal((await call(app, { url: '/api/v1/credits/balance', key: noManage })).statusCode, 200)

  // The scope check runs before the body is parsed or validated: no key-less probing of schemas.
  const invalidBodyWithoutScope = await call(app, { method: 'POST', url: '/api/v1/keys', key: noManage, payload: { bogus: 1 } })
  t.equal(invalidBodyWithoutScope.statusCode, 403)
})

t.test('a route inside /api/v1 without a declared scope stops the app from starting', async (t) => {
  const app = Fastify()
  // Stands in for the pipeline step the scopes plugin declares it runs after.
  app.register(fp(async () => {}, { name: 'rate-limit' }))
  app.register(async (v1) => {
    await v1.register(scopes)
    v1.get('/guarded', { config: { scope: 'calls:read' } }, async () => ({ ok: true }))
    v1.get('/unguarded', async () => ({ ok: true }))
  })
  await t.rejects(async () => { await app.ready() }, /GET \/unguarded declares no valid scope/)
})

t.test('routes with a scope start fine and carry it into the OpenAPI operation', async (t) => {
  const { app } = await buildTestApp(t)
  const spec = app.swagger() as { paths: Record<string, Record<string, { security?: unknown; 'x-required-scope'?: string }>> }
  t.same(spec.paths['/api/v1/credits/balance']?.get?.security, [{ bearerAuth: ['credits:read'] }, { apiKeyHeader: ['credits:read'] }])
  t.equal(spec.paths['/api/v1/keys']?.post?.['x-required-scope'], 'keys:manage')
})
