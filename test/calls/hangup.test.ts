import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { buildTestApp, call, createTestAccount } from '../helper/app.js'
import { createAgent, createCall, fund } from '../helper/factories.js'
import { expectProblem } from '../helper/problem.js'
import { advanceCalls, callEvents, settleCalls } from '../helper/calls.js'

/** Hanging up in every state a call can be in. */
t.test('hangup in every state', async (t) => {
  const clock = new ManualClock(Date.parse('2026-06-01T12:00:00.000Z'))
  const { app } = await buildTestApp(t, {}, { clock })
  const owner = await createTestAccount(app, { plan: 'starter' })
  await fund(app, owner.accountId, 10_000)
  const agent = await createAgent(app, owner.key)
  const hangup = (id: string) => call(app, { method: 'POST', url: `/api/v1/calls/${id}/hangup`, key: owner.key })
  const balance = async () => (await call(app, { url: '/api/v1/credits/balance', key: owner.key })).json().balance as number

  t.test('scheduled → canceled, and it never dials', async (t) => {
    const created = await createCall(app, owner.key, { agent_id: agent.id, to: '+14155550100', scheduled_at: new Date(clock.now().getTime() + 60_000).toISOString() })
    const res = await hangup(created.id)
    t.equal(res.statusCode, 200)
    t.match(res.json(), { status: 'canceled', end_reason: 'canceled', billable_seconds: 0, cost: 0, ringing_at: null, ended_at: String })
    await advanceCalls(app, clock, 120_000)
    t.equal((await call(app, { url: `/api/v1/calls/${created.id}`, key: owner.key })).json().status, 'canceled', 'still canceled after its time')
  })

  t.test('queued (waiting for a slot) → canceled, and the queue is shorter', async (t) => {
    const trial = await createTestAccount(app, { plan: 'free_trial' })
    const trialAgent = await createAgent(app, trial.key)
    await createCall(app, trial.key, { agent_id: trialAgent.id, to: '+14155550106' })
    const waiting = await createCall(app, trial.key, { agent_id: trialAgent.id, to: '+14155550100', on_capacity: 'queue' })
    t.same((await call(app, { url: '/api/v1/concurrency', key: trial.key })).json(), { limit: 1, active: 1, queued: 1 })
    const res = await call(app, { method: 'POST', url: `/api/v1/calls/${waiting.id}/hangup`, key: trial.key })
    t.match(res.json(), { status: 'canceled', end_reason: 'canceled', cost: 0, ringing_at: null })
    t.same((await callEvents(app, waiting.id)).map((event) => event.type), ['call.queued', 'call.ended'])
    t.same((await call(app, { url: '/api/v1/concurrency', key: trial.key })).json(), { limit: 1, active: 1, queued: 0 })
  })

  t.test('queued with its slot, dialling → canceled, and the slot is free again', async (t) => {
    const trial = await createTestAccount(app, { plan: 'free_trial' })
    const trialAgent = await createAgent(app, trial.key)
    const placed = await createCall(app, trial.key, { agent_id: trialAgent.id, to: '+14155550100' })
    t.same((await call(app, { url: '/api/v1/concurrency', key: trial.key })).json(), { limit: 1, active: 1, queued: 0 })
    // Hung up before it rang: the dial was due at once, so it is ringing by now, then canceled.
    t.match((await call(app, { method: 'POST', url: `/api/v1/calls/${placed.id}/hangup`, key: trial.key })).json(), { status: 'canceled', cost: 0 })
    t.same((await call(app, { url: '/api/v1/concurrency', key: trial.key })).json(), { limit: 1, active: 0, queued: 0 })
    t.equal((await call(app, { method: 'POST', url: '/api/v1/calls', key: trial.key, payload: { agent_id: trialAgent.id, to: '+14155550100' } })).statusCode, 201, 'a new call fits')
  })

  t.test('ringing → canceled, not charged', async (t) => {
    const before = await balance()
    const created = await createCall(app, owner.key, { agent_id: agent.id, to: '+14155550102' })
    await advanceCalls(app, clock, 10_000)
    t.equal((await call(app, { url: `/api/v1/calls/${created.id}`, key: owner.key })).json().status, 'ringing')
    t.match((await hangup(created.id)).json(), { status: 'canceled', end_reason: 'canceled', billable_seconds: 0, cost: 0, answered_at: null })
    t.equal(await balance(), before)
  })

  t.test('in progress → completed with api_hangup, charged for the seconds it ran', async (t) => {
    const before = await balance()
    const created = await createCall(app, owner.key, { agent_id: agent.id, to: '+14155550106' })
    await advanceCalls(app, clock, 2_000)
    t.equal((await call(app, { url: `/api/v1/calls/${created.id}`, key: owner.key })).json().status, 'in_progress')
    await advanceCalls(app, clock, 45_000)
    const ended = (await hangup(created.id)).json()
    // Starter: 10 cents a minute; 45 s → ceil(45 × 10 / 60) = 8 cents.
    t.match(ended, { status: 'completed', end_reason: 'api_hangup', answered_by: 'human', billable_seconds: 45, duration_seconds: 47, cost: 8 })
    t.equal(await balance(), before - 8)
    t.ok(ended.transcript.length > 0 && ended.transcript.every((line: { t_offset_ms: number }) => line.t_offset_ms < 45_000), 'what was said before the hang-up')
    t.equal(ended.analysis.outcome, 'unknown')
    t.same((await callEvents(app, created.id)).map((event) => event.type), ['call.queued', 'call.ringing', 'call.started', 'call.ended'])
    await settleCalls(app, clock)
    t.match((await call(app, { url: `/api/v1/calls/${created.id}`, key: owner.key })).json(), { end_reason: 'api_hangup', cost: 8 }, 'the carrier’s later report changes nothing')
  })

  t.test('already ended → 409 call_already_ended, nothing changes', async (t) => {
    const created = await createCall(app, owner.key, { agent_id: agent.id, to: '+14155550105' })
    await settleCalls(app, clock)
    const done = (await call(app, { url: `/api/v1/calls/${created.id}`, key: owner.key })).json()
    const before = await balance()
    const refused = expectProblem(t, await hangup(created.id), 409, 'call_already_ended') as { call_status?: string }
    t.equal(refused.call_status, 'completed', 'naming the state it ended in')
    t.same((await call(app, { url: `/api/v1/calls/${created.id}`, key: owner.key })).json(), done)
    t.equal(await balance(), before)
  })

  t.test('a call whose end was already due has ended: the hangup says so', async (t) => {
    const created = await createCall(app, owner.key, { agent_id: agent.id, to: '+14155550105' })
    // 2 s ringing + 5 s talk are over; no tick ran yet.
    clock.advance(60_000)
    expectProblem(t, await hangup(created.id), 409, 'call_already_ended')
    t.match((await call(app, { url: `/api/v1/calls/${created.id}`, key: owner.key })).json(), { status: 'completed', end_reason: 'customer_hangup', billable_seconds: 5 })
  })

  t.test('another account’s call is a 404; an unknown one too', async (t) => {
    const created = await createCall(app, owner.key, { agent_id: agent.id, to: '+14155550100' })
    const stranger = await createTestAccount(app)
    expectProblem(t, await call(app, { method: 'POST', url: `/api/v1/calls/${created.id}/hangup`, key: stranger.key }), 404, 'not_found')
    expectProblem(t, await hangup('call_doesnotexist'), 404, 'not_found')
    // Still live (the tick may have let it ring meanwhile), never canceled by the stranger.
    t.match((await call(app, { url: `/api/v1/calls/${created.id}`, key: owner.key })).json(), { status: /^(queued|ringing)$/, end_reason: null })
  })
})
