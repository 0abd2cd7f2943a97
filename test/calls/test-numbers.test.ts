import t from 'tap'
import { and, eq } from 'drizzle-orm'
import { ManualClock } from '../../src/clock.js'
import { auditLog, contacts, creditTransactions } from '../../src/db/schema/index.js'
import { simulatedTimeline } from '../../src/calls/simulator.js'
import { buildTestApp, call, createTestAccount } from '../helper/app.js'
import { createAgent, createCall, createContact, fund, validFlow } from '../helper/factories.js'
import { callEvents, settleCalls } from '../helper/calls.js'

/**
 * Every documented test number, on a clock the test drives: each one's outcome, exact simulated
 * durations, charge and events, whatever the time scale.
 */
const EXPECTED = [
  { line: '0100', status: 'completed', end_reason: 'agent_hangup', answered_by: 'human', duration_seconds: 32, billable_seconds: 30, events: ['call.queued', 'call.ringing', 'call.started', 'call.ended'] },
  { line: '0101', status: 'busy', end_reason: null, answered_by: null, duration_seconds: 1, billable_seconds: 0, events: ['call.queued', 'call.ended'] },
  { line: '0102', status: 'no_answer', end_reason: null, answered_by: null, duration_seconds: 30, billable_seconds: 0, events: ['call.queued', 'call.ringing', 'call.ended'] },
  { line: '0103', status: 'completed', end_reason: 'voicemail', answered_by: 'voicemail', duration_seconds: 11, billable_seconds: 8, events: ['call.queued', 'call.ringing', 'call.started', 'call.ended'] },
  { line: '0104', status: 'failed', end_reason: 'invalid_number', answered_by: null, duration_seconds: 0, billable_seconds: 0, events: ['call.queued', 'call.ended'] },
  { line: '0105', status: 'completed', end_reason: 'customer_hangup', answered_by: 'human', duration_seconds: 7, billable_seconds: 5, events: ['call.queued', 'call.ringing', 'call.started', 'call.ended'] },
  { line: '0106', status: 'completed', end_reason: 'max_duration', answered_by: 'human', duration_seconds: 92, billable_seconds: 90, events: ['call.queued', 'call.ringing', 'call.started', 'call.ended'] },
  { line: '0107', status: 'failed', end_reason: 'carrier_error', answered_by: null, duration_seconds: 2, billable_seconds: 0, events: ['call.queued', 'call.ringing', 'call.ended'] },
  { line: '0108', status: 'completed', end_reason: 'customer_hangup', answered_by: 'human', duration_seconds: 8, billable_seconds: 6, events: ['call.queued', 'call.ringing', 'call.started', 'call.ended'] },
] as const

for (const scale of [1, 60]) {
  t.test(`every test number behaves as documented (time scale ${scale})`, async (t) => {
    const clock = new ManualClock(Date.parse('2026-06-01T12:00:00.000Z'))
    const { app } = await buildTestApp(t, { SIMULATED_CARRIER_TIME_SCALE: scale }, { clock })
    const account = await createTestAccount(app, { plan: 'professional' })
    await fund(app, account.accountId, 5_000)
    const agent = await createAgent(app, account.key, {
      max_duration_seconds: 90, flow: validFlow(), voicemail: { action: 'leave_message', message: 'Hi {{first_name}}, call us back.' },
    })
    const placed = []
    for (const [i, expected] of EXPECTED.entries()) {
      // Any area code: 212, 213, 214, … (the exchange 555 and the line are what count).
      const contact = await createContact(app, account.key, { phone: `+1${212 + i}555${expected.line}`, first_name: 'Dana' })
      placed.push({ expected, contact, call: await createCall(app, account.key, { agent_id: agent.id, contact_id: contact.id }) })
    }
    t.ok(placed.every(({ call: created }) => created.status === 'queued'), 'each starts queued')
    await settleCalls(app, clock)

    let charged = 0
    for (const { expected, contact, call: created } of placed) {
      const got = (await call(app, { url: `/api/v1/calls/${created.id}`, key: account.key })).json()
      const cost = Math.ceil((expected.billable_seconds * 8) / 60)
      charged += cost
      t.match(got, {
        status: expected.status, end_reason: expected.end_reason, answered_by: expected.answered_by,
        duration_seconds: expected.duration_seconds, billable_seconds: expected.billable_seconds, rate: 8, cost,
        agent_version: 1, contact_id: contact.id, ended_at: String,
      }, `${expected.line}: ${expected.status} ${expected.end_reason}`)
      const events = await callEvents(app, created.id)
      t.same(events.map((event) => event.type), expected.events, `${expected.line}: its events, in order`)
      t.same(events.map((event) => event.sequence), expected.events.map((_, i) => i + 1), `${expected.line}: numbered 1…n per call`)
      t.equal(events.at(-1)!.call.cost, cost, `${expected.line}: call.ended carries the cost`)
      const [charge] = await app.database.db.select().from(creditTransactions).where(eq(creditTransactions.callId, created.id))
      if (cost > 0) t.match(charge, { type: 'call_charge', amount: -cost }, `${expected.line}: one call_charge entry pointing at the call`)
      else t.equal(charge, undefined, `${expected.line}: nothing charged`)

      if (expected.line === '0100') {
        t.equal(got.transcript[0].text, 'Hello Dana, this is a reminder.', 'the transcript opens with the first message, variables filled in')
        t.equal(got.transcript[0].role, 'agent')
        t.ok(got.transcript.some((line: { text: string }) => line.text === 'Ask whether Dana can make it.'), 'and walks the flow')
        t.match(got.analysis, { outcome: 'success', extracted: { flow_path: ['greet', 'answer', 'confirmed'], reached_end: true } }, 'the analysis says which path it took')
        const offsets = got.transcript.map((line: { t_offset_ms: number }) => line.t_offset_ms)
        t.same(offsets, [...offsets].sort((a: number, b: number) => a - b), 'lines in time order')
        t.ok(offsets.at(-1) < 30_000, 'all within the talk time')
      }
      if (expected.line === '0103') t.same(got.transcript, [{ role: 'agent', text: 'Hi Dana, call us back.', t_offset_ms: 0 }], 'the agent leaves its voicemail message')
      if (expected.line === '0105') t.equal(got.analysis.outcome, 'failure')
      if (expected.line === '0108') {
        t.equal(got.analysis.outcome, 'opt_out')
        const [row] = await app.database.db.select().from(contacts).where(eq(contacts.id, contact.id))
        t.equal(row!.doNotCall, true, 'the opt-out is honoured: the contact is do-not-call')
        const [audit] = await app.database.db.select().from(auditLog).where(and(eq(auditLog.targetId, contact.id), eq(auditLog.action, 'contact.opted_out')))
        t.match(audit, { actor: 'system:calls' }, 'and audited')
        const again = await call(app, { method: 'POST', url: '/api/v1/calls', key: account.key, payload: { agent_id: agent.id, contact_id: contact.id } })
        t.equal(again.statusCode, 422, 'and never dialled again')
      }
    }
    const balance = (await call(app, { url: '/api/v1/credits/balance', key: account.key })).json().balance
    t.equal(balance, 5_000 - charged, 'the balance fell by exactly the costs')
    // Lists build the call object in SQL, GET through the row mapper: the same object, to the byte.
    const listed = (await call(app, { url: '/api/v1/calls?limit=100', key: account.key })).json().data as { id: string }[]
    t.equal(listed.length, EXPECTED.length)
    for (const item of listed) {
      const single = await call(app, { url: `/api/v1/calls/${item.id}`, key: account.key })
      t.equal(JSON.stringify(item), single.body, `${item.id}: listed as GET shows it`)
    }
  })
}

t.test('other numbers: a realistic mix, replayable from the call id', async (t) => {
  const clock = new ManualClock(Date.parse('2026-06-01T12:00:00.000Z'))
  const { app } = await buildTestApp(t, {}, { clock })
  const account = await createTestAccount(app, { plan: 'enterprise' })
  await fund(app, account.accountId, 100_000)
  const agent = await createAgent(app, account.key)
  const ids: string[] = []
  for (let i = 0; i < 40; i++) ids.push((await createCall(app, account.key, { agent_id: agent.id, to: `+1415${2_000_000 + i}` })).id)
  await settleCalls(app, clock)
  const ended = await Promise.all(ids.map(async (id) => (await call(app, { url: `/api/v1/calls/${id}`, key: account.key })).json()))
  const statuses = new Set(ended.map((c) => c.status))
  t.ok(statuses.has('completed') && statuses.size >= 2, `a mix of outcomes (${[...statuses].join(', ')})`)
  t.ok(ended.every((c) => ['completed', 'busy', 'no_answer', 'failed'].includes(c.status)), 'every call ended')
  for (const c of ended) {
    const timeline = simulatedTimeline({ id: c.id, to: c.to, maxDurationSeconds: c.max_duration_seconds })
    t.equal(c.duration_seconds, timeline.reduce((sum, step) => sum + step.after_seconds, 0), `${c.id}: the same timeline, replayed from its id`)
  }
})
