import t from 'tap'
import { buildTestApp, call, createTestAccount } from '../helper/app.js'
import { agentBody, createAgent, createKey, validFlow } from '../helper/factories.js'
import { expectProblem } from '../helper/problem.js'

t.test('agents API', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app)
  const post = (body: Record<string, unknown>, key = owner.key) => call(app, { method: 'POST', url: '/api/v1/agents', key, payload: body })

  t.test('create fills the defaults, canonicalises the language, starts at version 1', async (t) => {
    const created = await post(agentBody({ language: 'en-us', flow: validFlow(), metadata: { team: 'front' } }))
    t.equal(created.statusCode, 201)
    t.match(created.json(), {
      id: /^agt_[0-9A-Za-z]{22}$/, name: 'Reminder', language: 'en-US', max_duration_seconds: 600, voicemail: { action: 'hangup' },
      variables: [{ name: 'first_name', default: 'there' }], metadata: { team: 'front' }, version: 1,
    })
    t.equal(created.json().flow.start_node_id, 'greet')
    const fetched = await call(app, { url: `/api/v1/agents/${created.json().id}`, key: owner.key })
    t.same(fetched.json(), created.json(), 'GET answers what POST did')
    const listed = await call(app, { url: '/api/v1/agents', key: owner.key })
    t.ok(listed.json().data.some((agent: { id: string }) => agent.id === created.json().id))
  })

  t.test('shape errors are 400s naming the field; limits hold', async (t) => {
    const tooLong = expectProblem(t, await post(agentBody({ system_prompt: 'x'.repeat(20_001) })), 400, 'validation_failed')
    t.match(tooLong.errors, [{ field: '/body/system_prompt' }])
    for (const [field, value] of [
      ['max_duration_seconds', 29], ['max_duration_seconds', 7_201], ['language', 'english!'], ['voicemail', { action: 'sing' }],
      ['metadata', Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v']))], ['metadata', { k: 'v'.repeat(501) }],
      ['name', 'bad\u001bname'], ['unknown_field', 1],
    ] as const) {
      const problem = expectProblem(t, await post(agentBody({ [field]: value })), 400, 'validation_failed', `${field}=${JSON.stringify(value).slice(0, 30)}`)
      t.ok(problem.errors?.some((error) => error.field.startsWith(`/body/${field}`)), `names /body/${field}`)
    }
    const accepted = await post(agentBody({ max_duration_seconds: 7_200, system_prompt: 'x'.repeat(20_000) }))
    t.equal(accepted.statusCode, 201, 'the bounds themselves are fine')
  })

  t.test('every {{placeholder}} must name a declared variable', async (t) => {
    const problem = expectProblem(t, await post(agentBody({
      first_message: 'Hi {{ first_name }} and {{unknown}}',
      system_prompt: 'Use {{missing}}.',
      voicemail: { action: 'leave_message', message: 'Call {{nobody}}' },
      variables: [{ name: 'first_name' }, { name: 'first_name' }],
    })), 400, 'validation_failed')
    t.same(problem.errors, [
      { field: '/body/variables/1/name', message: 'duplicate variable "first_name"' },
      { field: '/body/first_message', message: '{{unknown}} names no declared variable' },
      { field: '/body/system_prompt', message: '{{missing}} names no declared variable' },
      { field: '/body/voicemail/message', message: '{{nobody}} names no declared variable' },
    ], 'every problem, each with its pointer; spaces inside the braces are fine')
    expectProblem(t, await post(agentBody({ voicemail: { action: 'leave_message' } })), 400, 'validation_failed', 'leave_message needs a message')
  })

  t.test('PATCH: configuration changes make versions, labels do not; old versions stay readable', async (t) => {
    const agent = await createAgent(app, owner.key)
    const patch = (body: Record<string, unknown>) => call(app, { method: 'PATCH', url: `/api/v1/agents/${agent.id}`, key: owner.key, payload: body })
    const renamed = await patch({ name: 'Renamed', metadata: { a: '1' } })
    t.equal(renamed.json().version, 1, 'name and metadata are labels: same version')
    t.equal(renamed.json().name, 'Renamed')
    const v2 = await patch({ max_duration_seconds: 300 })
    t.equal(v2.json().version, 2)
    const same = await patch({ max_duration_seconds: 300 })
    t.equal(same.json().version, 2, 'a PATCH that changes nothing makes no version')
    const v3 = await patch({ first_message: 'Hey {{first_name}}' })
    t.equal(v3.json().version, 3)
    const bad = expectProblem(t, await patch({ first_message: 'Hey {{ghost}}' }), 400, 'validation_failed')
    t.match(bad.errors, [{ field: '/body/first_message' }])
    t.equal((await call(app, { url: `/api/v1/agents/${agent.id}`, key: owner.key })).json().version, 3, 'a refused PATCH changes nothing')

    const versions = (await call(app, { url: `/api/v1/agents/${agent.id}/versions`, key: owner.key })).json()
    t.same(versions.data.map((version: { version: number }) => version.version), [3, 2, 1], 'newest first, the current one included')
    const first = (await call(app, { url: `/api/v1/agents/${agent.id}/versions/1`, key: owner.key })).json()
    t.match(first, { agent_id: agent.id, version: 1, max_duration_seconds: 600, first_message: 'Hello {{first_name}}, this is a reminder.', created_by: owner.keyId })
    t.equal((await call(app, { url: `/api/v1/agents/${agent.id}/versions/2`, key: owner.key })).json().max_duration_seconds, 300)
    expectProblem(t, await call(app, { url: `/api/v1/agents/${agent.id}/versions/4`, key: owner.key }), 404, 'not_found')
    const paged = (await call(app, { url: `/api/v1/agents/${agent.id}/versions?limit=2`, key: owner.key })).json()
    const rest = (await call(app, { url: `/api/v1/agents/${agent.id}/versions?limit=2&cursor=${paged.next_cursor}`, key: owner.key })).json()
    t.same([...paged.data, ...rest.data].map((version: { version: number }) => version.version), [3, 2, 1], 'pages walk every version once')
  })

  t.test('DELETE: gone from the API, audited', async (t) => {
    const agent = await createAgent(app, owner.key)
    const deleted = await call(app, { method: 'DELETE', url: `/api/v1/agents/${agent.id}`, key: owner.key })
    t.equal(deleted.statusCode, 204)
    t.equal(deleted.body, '')
    expectProblem(t, await call(app, { url: `/api/v1/agents/${agent.id}`, key: owner.key }), 404, 'not_found')
    expectProblem(t, await call(app, { method: 'DELETE', url: `/api/v1/agents/${agent.id}`, key: owner.key }), 404, 'not_found', 'a second delete')
    const listed = (await call(app, { url: '/api/v1/agents?limit=100', key: owner.key })).json()
    t.notOk(listed.data.some((item: { id: string }) => item.id === agent.id))
    const audit = (await call(app, { url: '/api/v1/audit-log?limit=100', key: owner.key })).json().data
    t.same(audit.filter((entry: { target_id: string }) => entry.target_id === agent.id).map((entry: { action: string }) => entry.action), ['agent.deleted', 'agent.created'])
  })

  t.test('scopes: agents:read reads, cannot write; agents:write implies read', async (t) => {
    const reader = await createKey(app, owner.key, ['agents:read'])
    const writer = await createKey(app, owner.key, ['agents:write'])
    expectProblem(t, await post(agentBody(), reader.key), 403, 'insufficient_scope')
    t.equal((await call(app, { url: '/api/v1/agents', key: reader.key })).statusCode, 200)
    t.equal((await post(agentBody(), writer.key)).statusCode, 201)
    t.equal((await call(app, { url: '/api/v1/agents', key: writer.key })).statusCode, 200, 'write implies read')
  })
})
