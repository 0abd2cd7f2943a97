import t from 'tap'
import { buildTestApp, call, createTestAccount } from '../helper/app.js'
import { createAgent, validFlow } from '../helper/factories.js'
import { expectProblem } from '../helper/problem.js'

t.test('export → import → export is the same document, byte for byte', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app)
  const other = await createTestAccount(app)
  const agent = await createAgent(app, owner.key, {
    language: 'pt-br', flow: validFlow(), metadata: { zeta: '1', alpha: '2' },
    voicemail: { action: 'leave_message', message: 'Call back, {{first_name}}' },
  })
  const exported = await call(app, { url: `/api/v1/agents/${agent.id}/export`, key: owner.key })
  t.equal(exported.statusCode, 200)
  const document = exported.json()
  t.equal(document.schema_version, 1)
  t.notMatch(exported.body, /agt_|acct_|key_|created_at|updated_at|"version"/, 'no ids of this account, no timestamps, no version')
  t.equal(document.agent.language, 'pt-BR')
  t.same(Object.keys(document.agent.metadata), ['alpha', 'zeta'], 'keys in a fixed order')

  const imported = await call(app, { method: 'POST', url: '/api/v1/agents/import', key: other.key, payload: document })
  t.equal(imported.statusCode, 201, 'into another account')
  t.not(imported.json().id, agent.id)
  t.equal(imported.json().version, 1)
  const again = await call(app, { url: `/api/v1/agents/${imported.json().id}/export`, key: other.key })
  t.equal(again.body, exported.body, 'the same bytes')

  // A client may send the document with its keys in any order: the export is canonical all the same.
  const shuffled = { flow: document.flow, agent: Object.fromEntries(Object.entries(document.agent).reverse()), schema_version: 1 }
  const fromShuffled = await call(app, { method: 'POST', url: '/api/v1/agents/import', key: other.key, payload: shuffled })
  t.equal((await call(app, { url: `/api/v1/agents/${fromShuffled.json().id}/export`, key: other.key })).body, exported.body)
})

t.test('dry runs report every problem with its pointer and write nothing; unknown versions are refused', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app)
  const agent = await createAgent(app, owner.key, { flow: validFlow() })
  const document = (await call(app, { url: `/api/v1/agents/${agent.id}/export`, key: owner.key })).json()
  const count = async () => (await call(app, { url: '/api/v1/agents?limit=100', key: owner.key })).json().data.length

  const ok = await call(app, { method: 'POST', url: '/api/v1/agents/import?dry_run=true', key: owner.key, payload: document })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { dry_run: true, valid: true, errors: [] })

  const broken = structuredClone(document)
  broken.flow.edges[0].target = 'ghost'
  broken.agent.first_message = 'Hi {{who}}'
  const checked = await call(app, { method: 'POST', url: '/api/v1/agents/import?dry_run=true', key: owner.key, payload: broken })
  t.equal(checked.statusCode, 200)
  t.equal(checked.json().valid, false)
  const fields: string[] = checked.json().errors.map((error: { field: string }) => error.field)
  t.ok(fields.includes('/agent/first_message') && fields.includes('/flow/edges/0/target'), 'pointers into the document')
  t.ok(fields.every((field) => /^\/(agent|flow)(\/|$)/.test(field)), 'every pointer is into the document')

  const shapeless = structuredClone(document)
  delete shapeless.agent.voice
  shapeless.agent.extra = 1
  const shape = await call(app, { method: 'POST', url: '/api/v1/agents/import?dry_run=true', key: owner.key, payload: shapeless })
  t.equal(shape.statusCode, 200, 'shape problems are reported in the answer too')
  t.same(shape.json().errors.map((error: { field: string }) => error.field).sort(), ['/agent/extra', '/agent/voice'])
  t.equal(await count(), 1, 'no dry run wrote anything')

  const real = await call(app, { method: 'POST', url: '/api/v1/agents/import', key: owner.key, payload: broken })
  const problem = expectProblem(t, real, 400, 'validation_failed')
  t.same(problem.errors?.map((error) => error.field).sort(), fields.map((field) => `/body${field}`).sort(), 'the same problems, in the 400')
  expectProblem(t, await call(app, { method: 'POST', url: '/api/v1/agents/import', key: owner.key, payload: shapeless }), 400, 'validation_failed')

  for (const version of [0, 2, 99]) {
    const future = { ...document, schema_version: version }
    const refused = expectProblem(t, await call(app, { method: 'POST', url: '/api/v1/agents/import', key: owner.key, payload: future }), 400, 'unsupported_schema_version', `schema_version ${version}`)
    t.match(refused.errors, [{ field: '/body/schema_version' }])
  }
  t.equal(await count(), 1)
})
