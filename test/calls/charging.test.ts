import t from 'tap'
import { asc, eq, isNotNull } from 'drizzle-orm'
import { ManualClock } from '../../src/clock.js'
import { calls, creditTransactions } from '../../src/db/schema/index.js'
import { costCents, affordableSeconds } from '../../src/calls/billing.js'
import { buildTestApp, call, createTestAccount } from '../helper/app.js'
import { createAgent, createCall, fund } from '../helper/factories.js'
import { settleCalls } from '../helper/calls.js'

t.test('cost = ceil(billable_seconds × rate / 60); affordable seconds never cost more than the balance', async (t) => {
  t.equal(costCents(0, 12), 0)
  t.equal(costCents(1, 12), 1)
  t.equal(costCents(30, 12), 6)
  t.equal(costCents(31, 12), 7)
  t.equal(costCents(45, 10), 8)
  const wrong: string[] = []
  for (const rate of [5, 8, 10, 12, 37]) {
    for (let balance = 0; balance <= 200; balance++) {
      const seconds = affordableSeconds(balance, rate)
      if (costCents(seconds, rate) > balance || costCents(seconds + 1, rate) <= balance) wrong.push(`balance ${balance} at ${rate}: ${seconds} s`)
    }
  }
  t.same(wrong, [], 'the last affordable second, for every balance up to $2 at five rates')
})

t.test('a call is cut at the last second the balance pays for', async (t) => {
  const clock = new ManualClock(Date.parse('2026-06-01T12:00:00.000Z'))
  const { app } = await buildTestApp(t, {}, { clock })
  const owner = await createTestAccount(app, { plan: 'starter' })
  await fund(app, owner.accountId, 13)
  const agent = await createAgent(app, owner.key, { max_duration_seconds: 300 })
  const placed = await createCall(app, owner.key, { agent_id: agent.id, to: '+14155550106' })
  await settleCalls(app, clock)
  // 13 cents at 10 cents/minute: 78 s (13 cents; 79 s would cost 14).
  t.match((await call(app, { url: `/api/v1/calls/${placed.id}`, key: owner.key })).json(), {
    status: 'completed', end_reason: 'insufficient_credits', billable_seconds: 78, cost: 13,
  })
  t.equal((await call(app, { url: '/api/v1/credits/balance', key: owner.key })).json().balance, 0)
})

/**
 * Twenty calls end at the same moment on a balance that pays for five minutes in all: on
 * PostgreSQL two instances apply the endings at once. The balance never goes below zero, the
 * charges add up to exactly what it held, and the calls it could not pay for are cut.
 */
t.test('charging is exact when many calls end at once', async (t) => {
  const clock = new ManualClock(Date.parse('2026-06-01T12:00:00.000Z'))
  const first = await buildTestApp(t, {}, { clock })
  const second = process.env.DATABASE_URL ? await buildTestApp(t, {}, { clock, sharedWith: first }) : first
  const { app } = first
  const owner = await createTestAccount(app, { plan: 'professional' })
  // Five minutes at 8 cents a minute, plus 5 cents: 40 + 5.
  await fund(app, owner.accountId, 45)
  const agent = await createAgent(app, owner.key, { max_duration_seconds: 60 })
  const placed = []
  for (let i = 0; i < 20; i++) placed.push(await createCall(app, owner.key, { agent_id: agent.id, to: '+14155550106' }))

  // Both instances tick together until nothing is pending.
  for (let step = 0; step < 50; step++) {
    const [next] = await app.database.db.select({ dueAt: calls.dueAt }).from(calls).where(isNotNull(calls.dueAt)).orderBy(asc(calls.dueAt)).limit(1)
    if (!next) break
    if (next.dueAt! > clock.now()) clock.set(next.dueAt!)
    await Promise.all([first.app.services.calls.lifecycle.advanceDue(5), second.app.services.calls.lifecycle.advanceDue(5), first.app.services.calls.lifecycle.advanceDue(5)])
  }

  const ended = await Promise.all(placed.map(async (c) => (await call(app, { url: `/api/v1/calls/${c.id}`, key: owner.key })).json()))
  t.ok(ended.every((c) => c.status === 'completed'), 'every call ended')
  const total = ended.reduce((sum, c) => sum + c.cost, 0)
  t.equal(total, 45, 'the charges add up to exactly the balance')
  t.equal((await call(app, { url: '/api/v1/credits/balance', key: owner.key })).json().balance, 0, 'which is now zero, not below')
  const full = ended.filter((c) => c.billable_seconds === 60)
  const cut = ended.filter((c) => c.end_reason === 'insufficient_credits')
  t.equal(full.length, 5, 'five calls were paid in full')
  t.equal(cut.length, 15, 'the other fifteen were cut')
  t.equal(cut.filter((c) => c.billable_seconds > 0).length, 1, 'one of them at 37 s (the last 5 cents), the rest at 0')
  t.ok(cut.every((c) => c.cost === costCents(c.billable_seconds, 8)), 'each cut call costs what it talked')
  const ledger = await app.database.db.select().from(creditTransactions).where(eq(creditTransactions.accountId, owner.accountId))
  t.ok(ledger.every((row) => row.balanceAfter >= 0), 'no ledger entry ever left the balance negative')
  const charges = ledger.filter((row) => row.type === 'call_charge')
  t.equal(charges.length, 6, 'one call_charge per charged call')
  t.equal(new Set(charges.map((row) => row.callId)).size, 6, 'each pointing at its own call')
})
