import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, call, createTestAccount, type TestAccount } from '../helper/app.js'
import { createAgent, createCall, createContact, createKey, fund, importContacts } from '../helper/factories.js'
import { expectProblem } from '../helper/problem.js'
import { raiseAlert } from '../../src/alerts/raise.js'
import { SCOPES, type Scope } from '../../src/scopes.js'

/**
 * Tests generated from the app's route table, so a route added later is covered the day it is
 * added: every route with an id answers 404 to another account, every route refuses a key without
 * its scope (and a write scope serves its read routes), every POST that creates is idempotent.
 */

/** Account A's resources, one per kind of id a route can take. */
async function resourcesOf(app: FastifyInstance, account: TestAccount) {
  const agent = await createAgent(app, account.key)
  const contact = await createContact(app, account.key)
  const imported = await importContacts(app, account.key, `phone\n+14155550199\n`)
  const alert = await app.database.db.transaction((tx) => raiseAlert(tx, {
    accountId: account.accountId, type: 'new_network', severity: 'info', keyId: account.keyId, details: {}, dedupeKey: `route-table-${Date.now()}`,
  }, new Date()))
  await fund(app, account.accountId, 1_000)
  const placed = await createCall(app, account.key, { agent_id: agent.id, contact_id: contact.id })
  return {
    '/api/v1/keys/': { id: account.keyId },
    '/api/v1/calls/': { id: placed.id },
    '/api/v1/alerts/': { id: alert!.id },
    '/api/v1/agents/': { id: agent.id, version: '1' },
    '/api/v1/contacts/imports/': { id: imported.id as string },
    '/api/v1/contacts/': { id: contact.id },
  } as Record<string, Record<string, string>>
}

/** The ids a route's parameters take, from the resources of the kind its path names. */
function paramsFor(url: string, resources: Record<string, Record<string, string>>): Record<string, string> | undefined {
  const prefix = Object.keys(resources).sort((a, b) => b.length - a.length).find((candidate) => url.startsWith(candidate) && /^:id\b/.test(url.slice(candidate.length)))
  return prefix ? resources[prefix] : undefined
}

t.test('every route with an id: another account’s id is a 404, never data, never a change', async (t) => {
  const { app } = await buildTestApp(t)
  const a = await createTestAccount(app)
  const b = await createTestAccount(app)
  const resources = await resourcesOf(app, a)
  const routes = app.routeTable.filter((route) => route.url.startsWith('/api/v1/') && route.url.includes(':'))
  t.ok(routes.length >= 15, `${routes.length} routes take an id`)
  for (const route of routes) {
    const params = paramsFor(route.url, resources)
    if (!params) {
      t.fail(`${route.method} ${route.url}: no factory makes its id — add one to resourcesOf so the route is covered`)
      continue
    }
    const url = route.url.replace(/:(\w+)/g, (_, name: string) => params[name] ?? 'x')
    const response = await call(app, { method: route.method as never, url, key: b.key, ...(route.schema?.body ? { payload: {} } : {}) })
    expectProblem(t, response, 404, 'not_found', `${route.method} ${route.url} with account A's id, as account B`)
    t.notMatch(response.body, /Reminder|Dana|\+1415|new_network/, 'and nothing of the resource itself')
  }
  // A's things are all still there, unchanged by B's attempts.
  t.equal((await call(app, { url: '/api/v1/keys/current', key: a.key })).statusCode, 200, 'A’s key was not revoked or rotated')
  for (const url of [`/api/v1/agents/${resources['/api/v1/agents/']!.id}`, `/api/v1/contacts/${resources['/api/v1/contacts/']!.id}`, `/api/v1/calls/${resources['/api/v1/calls/']!.id}`]) {
    const still = await call(app, { url, key: a.key })
    t.equal(still.statusCode, 200, `${url} still there for A`)
  }
  t.equal((await call(app, { url: `/api/v1/agents/${resources['/api/v1/agents/']!.id}`, key: a.key })).json().version, 1, 'A’s agent unchanged')
  t.not((await call(app, { url: `/api/v1/calls/${resources['/api/v1/calls/']!.id}`, key: a.key })).json().end_reason, 'canceled', 'A’s call was not hung up by B')
})

t.test('every route refuses a key without its scope; a write scope serves the read routes', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app)
  const routes = app.routeTable.filter((route) => route.url.startsWith('/api/v1/') && route.config?.scope && route.config.scope !== 'authenticated')
  const needed = [...new Set(routes.map((route) => route.config!.scope as Scope))]
  const without = new Map<Scope, string>()
  for (const scope of needed) {
    // Without the scope itself, and without the write scope that would imply it.
    const held = SCOPES.filter((other) => other !== scope && other !== scope.replace(/:read$/, ':write'))
    without.set(scope, (await createKey(app, owner.key, held, `without ${scope}`)).key)
  }
  for (const route of routes) {
    const scope = route.config!.scope as Scope
    const url = route.url.replace(/:(\w+)/g, 'x_placeholder')
    const response = await call(app, { method: route.method as never, url, key: without.get(scope)!, ...(route.schema?.body ? { payload: {} } : {}) })
    const body = expectProblem(t, response, 403, 'insufficient_scope', `${route.method} ${route.url} without ${scope}`) as { required_scope?: string }
    t.equal(body.required_scope, scope)
  }
  for (const group of ['agents', 'contacts', 'calls', 'campaigns', 'webhooks']) {
    const readRoutes = routes.filter((route) => route.config!.scope === `${group}:read`)
    if (readRoutes.length === 0) continue
    const writer = (await createKey(app, owner.key, [`${group}:write`], `${group} writer`)).key
    for (const route of readRoutes) {
      const response = await call(app, { method: route.method as never, url: route.url.replace(/:(\w+)/g, 'x_placeholder'), key: writer })
      t.not(response.statusCode, 403, `${route.method} ${route.url}: ${group}:write implies ${group}:read`)
    }
  }
})

t.test('every POST that creates something declares idempotency', async (t) => {
  const { app } = await buildTestApp(t)
  // POSTs that change something existing rather than create: retrying them is harmless already.
  const notCreates = new Set(['POST /api/v1/alerts/:id/acknowledge'])
  const posts = app.routeTable.filter((route) => route.method === 'POST' && route.url.startsWith('/api/v1/') && !notCreates.has(`POST ${route.url}`))
  t.ok(posts.length >= 6, `${posts.length} creating POSTs`)
  for (const route of posts) t.ok(route.config?.idempotent, `POST ${route.url} takes an Idempotency-Key`)
})
