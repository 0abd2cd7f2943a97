import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { buildTestApp, call, createTestAccount } from '../helper/app.js'
import { createAgent, createCall, createContact, fund } from '../helper/factories.js'
import { expectProblem } from '../helper/problem.js'
import { advanceCalls, settleCalls } from '../helper/calls.js'

t.test('calls API', async (t) => {
  const clock = new ManualClock(Date.parse('2026-06-01T12:00:00.000Z'))
  const { app } = await buildTestApp(t, {}, { clock })
  const owner = await createTestAccount(app, { plan: 'professional' })
  await fund(app, owner.accountId, 10_000)
  const other = await createTestAccount(app, { plan: 'professional' })
  await fund(app, other.accountId, 10_000)
  const agent = await createAgent(app, owner.key, {
    first_message: 'Hi {{first_name}}, about your {{plan}} plan ({{order}}).',
    variables: [{ name: 'first_name' }, { name: 'plan', default: 'basic' }, { name: 'order' }],
  })
  const post = (body: Record<string, unknown>, key = owner.key) => call(app, { method: 'POST', url: '/api/v1/calls', key, payload: body })

  t.test('a call to a contact: queued, pins the agent version, fills variables from the contact and the request', async (t) => {
    const contact = await createContact(app, owner.key, { phone: '+14155550100', first_name: 'Dana', custom_fields: { plan: 'gold' } })
    const created = await post({ agent_id: agent.id, contact_id: contact.id, variables: { order: 'A-1' }, metadata: { crm: '42' } })
    t.equal(created.statusCode, 201)
    t.match(created.json(), {
      id: /^call_[0-9A-Za-z]{22}$/, status: 'queued', agent_id: agent.id, agent_version: 1, contact_id: contact.id, to: '+14155550100',
      from: '+14155550199', direction: 'outbound', rate: 8, cost: null, ended_at: null, metadata: { crm: '42' },
      variables: { first_name: 'Dana', plan: 'gold', order: 'A-1' }, max_duration_seconds: 600,
    })
    // A new agent version does not change the call: it runs what it was created with.
    await call(app, { method: 'PATCH', url: `/api/v1/agents/${agent.id}`, key: owner.key, payload: { first_message: 'Changed {{first_name}} {{plan}} {{order}}' } })
    await settleCalls(app, clock)
    const done = (await call(app, { url: `/api/v1/calls/${created.json().id}`, key: owner.key })).json()
    t.match(done, { status: 'completed', agent_version: 1 })
    t.equal(done.transcript[0].text, 'Hi Dana, about your gold plan (A-1).', 'the pinned version spoke')
  })

  t.test('a call to a number, with its own from and max duration; defaults fill what is missing', async (t) => {
    const created = await post({ agent_id: agent.id, to: '+14155550106', from: '+12125550100', variables: { first_name: 'Sam', order: 'B-2' }, max_duration_seconds: 45 })
    t.equal(created.statusCode, 201)
    t.match(created.json(), { contact_id: null, to: '+14155550106', from: '+12125550100', max_duration_seconds: 45, variables: { first_name: 'Sam', plan: 'basic', order: 'B-2' } })
    await settleCalls(app, clock)
    t.match((await call(app, { url: `/api/v1/calls/${created.json().id}`, key: owner.key })).json(), { end_reason: 'max_duration', billable_seconds: 45, cost: 6 })
  })

  t.test('a scheduled call waits for its time, then runs', async (t) => {
    const at = new Date(clock.now().getTime() + 3_600_000).toISOString()
    const created = await post({ agent_id: agent.id, to: '+14155550105', variables: { first_name: 'Lee', order: 'C' }, scheduled_at: at })
    t.match(created.json(), { status: 'scheduled', scheduled_at: at })
    await app.services.calls.lifecycle.advanceDue()
    t.equal((await call(app, { url: `/api/v1/calls/${created.json().id}`, key: owner.key })).json().status, 'scheduled', 'nothing before its time')
    await settleCalls(app, clock)
    const done = (await call(app, { url: `/api/v1/calls/${created.json().id}`, key: owner.key })).json()
    t.match(done, { status: 'completed', end_reason: 'customer_hangup' })
    t.ok(Date.parse(done.ringing_at) >= Date.parse(at), 'it rang at its time, not before')
  })

  t.test('a listed call parses to exactly what GET shows (keys, their order, values), in every state', async (t) => {
    // Lists send JSON text PostgreSQL built; GET serialises the row through the Call schema.
    // Awkward strings (quotes, backslashes, newlines, astral characters) and every null.
    const awkward = { note: 'say "hi" \\ then\nleave 😀 ü', '': 'empty key' }
    const first = { first_name: 'Zoë "Z"', order: 'E\\1' }
    const scheduled = await createCall(app, owner.key, { agent_id: agent.id, to: '+14155550100', variables: first, metadata: awkward, scheduled_at: new Date(clock.now().getTime() + 86_400_000).toISOString() })
    const ringing = await createCall(app, owner.key, { agent_id: agent.id, to: '+14155550102', variables: first })
    const talking = await createCall(app, owner.key, { agent_id: agent.id, to: '+14155550106', variables: first, metadata: awkward })
    await advanceCalls(app, clock, 5_000)
    const queued = await createCall(app, owner.key, { agent_id: agent.id, to: '+14155550100', variables: first })
    const page = await call(app, { url: '/api/v1/calls?limit=100', key: owner.key })
    t.equal(page.statusCode, 200)
    t.equal(page.headers['content-type'], 'application/json; charset=utf-8')
    t.ok(page.headers['x-ratelimit-limit'], 'with the headers every API response carries')
    const listed = page.json().data as { id: string; status: string }[]
    const states = new Map(listed.map((c) => [c.id, c.status]))
    t.same([scheduled.id, ringing.id, talking.id, queued.id].map((id) => states.get(id)), ['scheduled', 'ringing', 'in_progress', 'queued'])
    for (const item of listed) {
      const single = await call(app, { url: `/api/v1/calls/${item.id}`, key: owner.key })
      t.equal(JSON.stringify(item), single.body, `${item.id} (${item.status}): listed as GET shows it`)
    }
    await settleCalls(app, clock)
  })

  t.test('list: newest first, every filter, cursors bound to their filters', async (t) => {
    const contact = await createContact(app, owner.key, { phone: '+14155550101' })
    const busy = await createCall(app, owner.key, { agent_id: agent.id, contact_id: contact.id, variables: { first_name: 'X', order: 'D' } })
    await settleCalls(app, clock)
    const all = (await call(app, { url: '/api/v1/calls?limit=2', key: owner.key })).json()
    t.equal(all.data.length, 2)
    t.equal(all.data[0].id, busy.id, 'newest first')
    t.equal(all.has_more, true)
    const next = (await call(app, { url: `/api/v1/calls?limit=2&cursor=${all.next_cursor}`, key: owner.key })).json()
    t.notOk(next.data.some((c: { id: string }) => all.data.some((d: { id: string }) => d.id === c.id)), 'the next page continues after the first')
    const filters = {
      [`status=busy`]: [busy.id], [`contact_id=${contact.id}`]: [busy.id], [`to=%2B14155550101`]: [busy.id],
      [`agent_id=${agent.id}&status=busy`]: [busy.id], [`campaign_id=cmp_none`]: [],
      [`created_after=${encodeURIComponent(new Date(clock.now().getTime() + 1).toISOString())}`]: [],
    }
    for (const [query, ids] of Object.entries(filters)) {
      const listed = await call(app, { url: `/api/v1/calls?${query}`, key: owner.key })
      t.same(listed.json().data.map((c: { id: string }) => c.id), ids, `?${query}`)
    }
    expectProblem(t, await call(app, { url: `/api/v1/calls?status=busy&cursor=${all.next_cursor}`, key: owner.key }), 400, 'invalid_cursor')
    expectProblem(t, await call(app, { url: '/api/v1/calls?status=talking', key: owner.key }), 400, 'validation_failed')
    expectProblem(t, await call(app, { url: '/api/v1/calls?to=12', key: owner.key }), 400, 'validation_failed')
    t.same((await call(app, { url: '/api/v1/calls', key: other.key })).json().data, [], 'another account sees none of them')
  })

  t.test('the referenced agent and contact must be this account’s', async (t) => {
    const theirs = await createAgent(app, other.key)
    const theirContact = await createContact(app, other.key)
    expectProblem(t, await post({ agent_id: 'agt_missing', to: '+14155550100' }), 404, 'agent_not_found')
    expectProblem(t, await post({ agent_id: theirs.id, to: '+14155550100' }), 404, 'agent_not_found', 'another account’s agent')
    expectProblem(t, await post({ agent_id: agent.id, contact_id: 'con_missing' }), 404, 'contact_not_found')
    expectProblem(t, await post({ agent_id: agent.id, contact_id: theirContact.id }), 404, 'contact_not_found', 'another account’s contact')
    const deleted = await createAgent(app, owner.key)
    await call(app, { method: 'DELETE', url: `/api/v1/agents/${deleted.id}`, key: owner.key })
    expectProblem(t, await post({ agent_id: deleted.id, to: '+14155550100' }), 404, 'agent_not_found', 'a deleted agent')
  })

  t.test('do-not-call contacts are never dialled, by id or by number', async (t) => {
    const contact = await createContact(app, owner.key, { do_not_call: true })
    const byId = expectProblem(t, await post({ agent_id: agent.id, contact_id: contact.id, variables: { first_name: 'A', order: 'E' } }), 422, 'do_not_call') as { contact_id?: string }
    t.equal(byId.contact_id, contact.id)
    expectProblem(t, await post({ agent_id: agent.id, to: contact.phone as string, variables: { first_name: 'A', order: 'E' } }), 422, 'do_not_call', 'the same number given as to')
  })

  t.test('variables: undeclared and missing required ones are 400s naming them', async (t) => {
    const undeclared = expectProblem(t, await post({ agent_id: agent.id, to: '+14155550100', variables: { first_name: 'A', order: 'B', colour: 'red' } }), 400, 'validation_failed')
    t.match(undeclared.errors, [{ field: '/body/variables/colour' }])
    const missing = expectProblem(t, await post({ agent_id: agent.id, to: '+14155550100', variables: { first_name: 'A' } }), 400, 'validation_failed')
    t.match(missing.errors, [{ field: '/body/variables/order' }])
  })

  t.test('bad input: 400s naming the field, nothing created', async (t) => {
    const before = (await call(app, { url: '/api/v1/calls?limit=100', key: owner.key })).json().data.length
    const cases: [Record<string, unknown>, string][] = [
      [{ agent_id: agent.id }, '/body'],
      [{ agent_id: agent.id, to: '+14155550100', contact_id: 'con_x' }, '/body'],
      [{ agent_id: agent.id, to: 'not a number' }, '/body/to'],
      [{ agent_id: agent.id, to: '+14155550100', from: '4155550100' }, '/body/from'],
      [{ agent_id: agent.id, to: '+14155550100', max_duration_seconds: 10 }, '/body/max_duration_seconds'],
      [{ agent_id: agent.id, to: '+14155550100', scheduled_at: '2030-01-01T00:00:00Z' }, '/body/scheduled_at'],
      [{ agent_id: agent.id, to: '+14155550100', scheduled_at: 'tomorrow' }, '/body/scheduled_at'],
      [{ agent_id: agent.id, to: '+14155550100', on_capacity: 'wait' }, '/body/on_capacity'],
      [{ agent_id: agent.id, to: '+14155550100', direction: 'inbound' }, '/body/direction'],
    ]
    for (const [body, field] of cases) {
      const problem = expectProblem(t, await post({ variables: { first_name: 'A', order: 'B' }, ...body }), 400, 'validation_failed', JSON.stringify(body).slice(0, 60))
      t.ok(problem.errors?.some((error) => error.field.startsWith(field)), `names ${field}`)
    }
    t.equal((await call(app, { url: '/api/v1/calls?limit=100', key: owner.key })).json().data.length, before, 'no call was created')
  })

  t.test('a balance below one minute at the rate is a 402', async (t) => {
    const poor = await createTestAccount(app, { plan: 'starter' })
    await fund(app, poor.accountId, 9)
    const poorAgent = await createAgent(app, poor.key)
    const refused = expectProblem(t, await call(app, { method: 'POST', url: '/api/v1/calls', key: poor.key, payload: { agent_id: poorAgent.id, to: '+14155550100' } }), 402, 'insufficient_credits')
    t.match(refused, { detail: /10 cents/ })
    await fund(app, poor.accountId, 1)
    t.equal((await call(app, { method: 'POST', url: '/api/v1/calls', key: poor.key, payload: { agent_id: poorAgent.id, to: '+14155550100' } })).statusCode, 201, 'one minute exactly is enough')
  })

  t.test('the same Idempotency-Key creates one call and replays it', async (t) => {
    const body = { agent_id: agent.id, to: '+14155550100', variables: { first_name: 'I', order: 'K' } }
    const headers = { 'idempotency-key': 'call-once-1' }
    const first = await call(app, { method: 'POST', url: '/api/v1/calls', key: owner.key, headers, payload: body })
    const second = await call(app, { method: 'POST', url: '/api/v1/calls', key: owner.key, headers, payload: body })
    t.equal(first.statusCode, 201)
    t.equal(second.statusCode, 201)
    t.equal(second.headers['idempotent-replayed'], 'true')
    t.equal(second.json().id, first.json().id, 'the same call')
    const listed = (await call(app, { url: `/api/v1/calls?to=%2B14155550100&limit=100`, key: owner.key })).json().data
    t.equal(listed.filter((c: { id: string }) => c.id === first.json().id).length, 1)
    expectProblem(t, await call(app, { method: 'POST', url: '/api/v1/calls', key: owner.key, headers, payload: { ...body, to: '+14155550101' } }), 422, 'idempotency_key_reused')
  })

  t.test('an agent a live call runs cannot be deleted', async (t) => {
    const busyAgent = await createAgent(app, owner.key)
    const live = await createCall(app, owner.key, { agent_id: busyAgent.id, to: '+14155550106' })
    expectProblem(t, await call(app, { method: 'DELETE', url: `/api/v1/agents/${busyAgent.id}`, key: owner.key }), 409, 'agent_in_use')
    t.equal((await call(app, { url: `/api/v1/agents/${busyAgent.id}`, key: owner.key })).statusCode, 200, 'still there')
    await call(app, { method: 'POST', url: `/api/v1/calls/${live.id}/hangup`, key: owner.key })
    t.equal((await call(app, { method: 'DELETE', url: `/api/v1/agents/${busyAgent.id}`, key: owner.key })).statusCode, 204, 'once it has ended')
  })
})

t.test('concurrency: the plan’s limit, a 429 with Retry-After, or a queue that waits its turn', async (t) => {
  const clock = new ManualClock(Date.parse('2026-06-01T12:00:00.000Z'))
  const { app } = await buildTestApp(t, {}, { clock })
  const trial = await createTestAccount(app, { plan: 'free_trial' })
  const agent = await createAgent(app, trial.key)
  t.same((await call(app, { url: '/api/v1/concurrency', key: trial.key })).json(), { limit: 1, active: 0, queued: 0 })
  const first = await createCall(app, trial.key, { agent_id: agent.id, to: '+14155550105' })
  const refused = await call(app, { method: 'POST', url: '/api/v1/calls', key: trial.key, payload: { agent_id: agent.id, to: '+14155550100' } })
  expectProblem(t, refused, 429, 'concurrency_limit')
  t.equal(refused.headers['retry-after'], '5')
  const waiting = await createCall(app, trial.key, { agent_id: agent.id, to: '+14155550100', on_capacity: 'queue' })
  t.equal(waiting.status, 'queued')
  t.same((await call(app, { url: '/api/v1/concurrency', key: trial.key })).json(), { limit: 1, active: 1, queued: 1 })
  await app.services.calls.lifecycle.advanceDue()
  t.equal((await call(app, { url: `/api/v1/calls/${waiting.id}`, key: trial.key })).json().ringing_at, null, 'the waiting call does not ring while the slot is taken')

  await settleCalls(app, clock)
  const [a, b] = await Promise.all([first, waiting].map(async (c) => (await call(app, { url: `/api/v1/calls/${c.id}`, key: trial.key })).json()))
  t.match(a, { status: 'completed', end_reason: 'customer_hangup' })
  t.match(b, { status: 'completed', end_reason: 'agent_hangup' }, 'the queued call ran once the slot was free')
  t.ok(Date.parse(b.ringing_at) >= Date.parse(a.ended_at), 'after the first ended')
  t.same((await call(app, { url: '/api/v1/concurrency', key: trial.key })).json(), { limit: 1, active: 0, queued: 0 })

  const starter = await createTestAccount(app, { plan: 'starter' })
  t.equal((await call(app, { url: '/api/v1/concurrency', key: starter.key })).json().limit, 5)
  const big = await app.services.accounts.createWithKey({ name: 'Big', plan: 'enterprise', concurrentCallLimit: 300, callRate: 5 }, { id: 'cli', ip: null })
  t.equal((await call(app, { url: '/api/v1/concurrency', key: big.key.key })).json().limit, 300, 'enterprise: per account')
  await t.rejects(app.services.accounts.createWithKey({ name: 'No', plan: 'starter', callRate: 5 }, { id: 'cli', ip: null }), { code: 'validation_failed' }, 'call settings are enterprise only')
  await t.rejects(app.services.accounts.update(big.account.id, { concurrentCallLimit: 0 }, { id: 'cli', ip: null }), { code: 'validation_failed' }, 'and positive')
})
