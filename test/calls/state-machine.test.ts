import t from 'tap'
import fc from 'fast-check'
import { ManualClock } from '../../src/clock.js'
import { CALL_STATUSES, canMove, isLive, type CallStatus } from '../../src/calls/state-machine.js'
import { buildTestApp, call, createTestAccount } from '../helper/app.js'
import { createAgent, createCall, fund } from '../helper/factories.js'
import { callEvents, settleCalls } from '../helper/calls.js'

const ORDER: Record<CallStatus, number> = { scheduled: 0, queued: 1, ringing: 2, in_progress: 3, completed: 4, busy: 4, no_answer: 4, failed: 4, canceled: 4 }

t.test('the transition table only moves forward, one step at a time, and terminal states are final', async (t) => {
  for (const from of CALL_STATUSES) {
    for (const to of CALL_STATUSES) {
      if (!canMove(from, to)) continue
      t.ok(ORDER[to] > ORDER[from], `${from} → ${to} moves forward`)
      t.ok(isLive(from), `${from} → ${to} leaves a live state`)
      if (to === 'in_progress') t.equal(from, 'ringing', 'a call is answered only after it rang')
      if (to === 'ringing') t.equal(from, 'queued', 'a call rings only once it was placed')
    }
  }
  for (const status of CALL_STATUSES.filter((status) => !isLive(status))) {
    t.ok(CALL_STATUSES.every((to) => !canMove(status, to)), `${status} is final`)
  }
})

/**
 * Whatever happens to a call and in whatever order — ticks late or early, two ticks at once, a
 * hangup at any moment, the sweeper — the states its events record are a path through the table
 * (never backwards, never skipping), numbered 1…n without gaps, ending exactly once.
 */
t.test('random event orders never move a call backwards or skip a step', async (t) => {
  const clock = new ManualClock(Date.parse('2026-06-01T12:00:00.000Z'))
  const { app } = await buildTestApp(t, { CALL_SWEEP_GRACE_SECONDS: 5 }, { clock })
  const owner = await createTestAccount(app, { plan: 'enterprise' })
  await fund(app, owner.accountId, 1_000_000)
  const agent = await createAgent(app, owner.key, { max_duration_seconds: 30 })
  const calls = app.services.calls.lifecycle

  const action = fc.oneof(
    fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 45_000 }) }),
    fc.constant({ kind: 'tick' as const }),
    fc.constant({ kind: 'two ticks at once' as const }),
    fc.constant({ kind: 'hangup' as const }),
    fc.constant({ kind: 'sweep' as const }),
  )
  const line = fc.constantFrom('0100', '0101', '0102', '0103', '0104', '0105', '0106', '0107', '0108', '2345')
  const scheduled = fc.option(fc.integer({ min: 1, max: 60_000 }), { nil: undefined })

  await t.resolves(fc.assert(fc.asyncProperty(line, scheduled, fc.array(action, { maxLength: 14 }), async (number, delayMs, actions) => {
    const created = await createCall(app, owner.key, {
      agent_id: agent.id, to: `+1415555${number}`,
      ...(delayMs === undefined ? {} : { scheduled_at: new Date(clock.now().getTime() + delayMs).toISOString() }),
    })
    for (const step of actions) {
      if (step.kind === 'advance') clock.advance(step.ms)
      else if (step.kind === 'tick') await calls.advanceDue()
      else if (step.kind === 'two ticks at once') await Promise.all([calls.advanceDue(), calls.advanceDue()])
      else if (step.kind === 'hangup') await call(app, { method: 'POST', url: `/api/v1/calls/${created.id}/hangup`, key: owner.key })
      else await calls.sweep(clock.now())
    }
    await settleCalls(app, clock)
    const events = await callEvents(app, created.id)
    const statuses = events.map((event) => event.call.status as CallStatus)
    if (events.some((event, i) => event.sequence !== i + 1)) throw new Error(`sequence gaps: ${events.map((event) => event.sequence)}`)
    for (let i = 1; i < statuses.length; i++) {
      if (!canMove(statuses[i - 1]!, statuses[i]!)) throw new Error(`moved ${statuses[i - 1]} → ${statuses[i]} (${statuses.join(' → ')})`)
    }
    if (events.filter((event) => event.type === 'call.ended').length !== 1) throw new Error(`ended ${events.filter((event) => event.type === 'call.ended').length} times`)
    const final = (await call(app, { url: `/api/v1/calls/${created.id}`, key: owner.key })).json()
    if (isLive(final.status) || final.status !== statuses.at(-1)) throw new Error(`final ${final.status}, events say ${statuses.at(-1)}`)
  }), { numRuns: 40, seed: 20261201 }), '40 random histories, every one a forward path through the table')
})
