import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { eq, inArray, sql } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { ManualClock } from '../../src/clock.js'
import { calls, events } from '../../src/db/schema/index.js'
import { rowsOf } from '../../src/db/rows.js'
import { LIVE_STATUSES } from '../../src/calls/state-machine.js'
import { TEST_PEPPER, buildTestApp, call, createTestAccount, type TestLike } from '../helper/app.js'
import { createDatabaseFromTemplate } from '../helper/template.js'
import { createAgent, createCall, fund } from '../helper/factories.js'
import { callEvents } from '../helper/calls.js'

async function until(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function liveCount(app: FastifyInstance, ids: string[]): Promise<number> {
  const rows = await app.database.db.select({ id: calls.id }).from(calls).where(sql`${inArray(calls.id, ids)} and ${inArray(calls.status, [...LIVE_STATUSES])}`)
  return rows.length
}

/** Per call: its events are numbered 1…n with no number twice and no transition twice. */
async function doubleTransitions(app: FastifyInstance, accountId: string): Promise<{ events: number; doubled: number }> {
  const [row] = rowsOf<{ events: number; distinct_sequences: number; distinct_types: number }>(await app.database.db.execute(sql`
    select count(*)::int as events,
           count(distinct (${events.payload}->'call'->>'id', ${events.payload}->>'sequence'))::int as distinct_sequences,
           count(distinct (${events.payload}->'call'->>'id', ${events.type}))::int as distinct_types
    from ${events} where ${events.accountId} = ${accountId} and ${events.type} like 'call.%'`))
  return { events: row!.events, doubled: (row!.events - row!.distinct_sequences) + (row!.events - row!.distinct_types) }
}

t.test('two instances on one PostgreSQL never advance a call twice', { skip: process.env.DATABASE_URL ? false : 'needs PostgreSQL: PGlite is one process' }, async (t) => {
  const fast = { SIMULATED_CARRIER_TIME_SCALE: 30, CALL_TICK_MS: 20 }
  const first = await buildTestApp(t, fast)
  const second = await buildTestApp(t, fast, { sharedWith: first })
  const owner = await createTestAccount(first.app, { plan: 'professional' })
  await fund(first.app, owner.accountId, 100_000)
  const agent = await createAgent(first.app, owner.key, { max_duration_seconds: 60 })
  const ids: string[] = []
  const lines = ['0100', '0101', '0102', '0103', '0104', '0105', '0106', '0107']
  for (let i = 0; i < 24; i++) {
    const app = i % 2 === 0 ? first.app : second.app
    ids.push((await createCall(app, owner.key, { agent_id: agent.id, to: `+1415555${lines[i % lines.length]}` })).id)
  }
  await until(async () => (await liveCount(first.app, ids)) === 0)
  const { events: written, doubled } = await doubleTransitions(first.app, owner.accountId)
  t.ok(written >= 24 * 2, `${written} call events written`)
  t.equal(doubled, 0, 'no transition applied twice')
  for (const id of ids) {
    const sequence = (await callEvents(first.app, id)).map((event) => event.sequence)
    t.same(sequence, sequence.map((_, i) => i + 1), `${id}: events 1…${sequence.length}`)
  }
  const balance = (await call(first.app, { url: '/api/v1/credits/balance', key: owner.key })).json().balance
  const costs = await first.app.database.db.select({ cost: calls.cost }).from(calls).where(inArray(calls.id, ids))
  t.equal(balance, 100_000 - costs.reduce((sum, row) => sum + (row.cost ?? 0), 0), 'each call charged once')
})

/** An app on a database of its own that outlives it (PGlite folder, or a PostgreSQL database). */
async function restartableApp(t: TestLike, where: { dataDir: string; databaseUrl: string | undefined }, overrides: Partial<Config>) {
  const config = loadConfig({ ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'warn' }, {
    DATA_DIR: where.dataDir, KEY_PEPPER: TEST_PEPPER, AUTH_FAILURES_PER_MINUTE: 100_000, ALERT_INTERVAL_SECONDS: 86_400,
    ...(where.databaseUrl ? { DATABASE_URL: where.databaseUrl } : {}), REDIS_URL: undefined, ...overrides,
  })
  const app = await buildApp(config, { inMemoryDatabase: false, logStream: new Writable({ write(_chunk, _encoding, done) { done() } }) })
  await app.ready()
  t.teardown(() => app.close())
  return app
}

t.test('an instance that stops mid-call: the next one resumes the calls in flight', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'voxpria-calls-restart-'))
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  let databaseUrl: string | undefined
  if (process.env.DATABASE_URL) {
    const created = await createDatabaseFromTemplate(process.env.DATABASE_URL)
    databaseUrl = created.url
    t.teardown(created.drop)
  }
  const settings = { SIMULATED_CARRIER_TIME_SCALE: 10, CALL_TICK_MS: 20 }
  const before = await restartableApp(t, { dataDir, databaseUrl }, settings)
  const owner = await createTestAccount(before, { plan: 'professional' })
  await fund(before, owner.accountId, 10_000)
  const agent = await createAgent(before, owner.key, { max_duration_seconds: 60 })
  // 0106 talks until its max duration: 62 simulated seconds, 6.2 s here.
  const ids = [
    (await createCall(before, owner.key, { agent_id: agent.id, to: '+14155550106' })).id,
    (await createCall(before, owner.key, { agent_id: agent.id, to: '+14155550100' })).id,
  ]
  await until(async () => {
    const rows = await before.database.db.select({ status: calls.status }).from(calls).where(inArray(calls.id, ids))
    return rows.every((row) => row.status === 'in_progress')
  })
  await before.close()

  const after = await restartableApp(t, { dataDir, databaseUrl }, settings)
  await until(async () => (await liveCount(after, ids)) === 0, 30_000)
  for (const id of ids) {
    const ended = (await call(after, { url: `/api/v1/calls/${id}`, key: owner.key })).json()
    t.match(ended, { status: 'completed' }, `${id} completed on the new instance`)
    t.same((await callEvents(after, id)).map((event) => event.type), ['call.queued', 'call.ringing', 'call.started', 'call.ended'], 'each step once')
  }
  const [long] = await after.database.db.select().from(calls).where(eq(calls.id, ids[0]!))
  t.match(long, { endReason: 'max_duration', billableSeconds: 60 }, 'its simulated durations exact across the restart')
})

t.test('the sweeper ends a call the carrier never reported on', async (t) => {
  const clock = new ManualClock(Date.parse('2026-06-01T12:00:00.000Z'))
  const { app } = await buildTestApp(t, { CALL_SWEEP_GRACE_SECONDS: 60 }, { clock })
  const owner = await createTestAccount(app, { plan: 'free_trial' })
  const agent = await createAgent(app, owner.key, { max_duration_seconds: 120 })
  const stuck = await createCall(app, owner.key, { agent_id: agent.id, to: '+14155550106' })
  clock.advance(2_000)
  await app.services.calls.lifecycle.advanceDue()
  await app.services.calls.lifecycle.advanceDue()
  t.equal((await call(app, { url: `/api/v1/calls/${stuck.id}`, key: owner.key })).json().status, 'in_progress')
  // The carrier's report is lost: nothing is pending for this call any more.
  await app.database.db.update(calls).set({ pending: null, dueAt: null }).where(eq(calls.id, stuck.id))
  const balance = (await call(app, { url: '/api/v1/credits/balance', key: owner.key })).json().balance

  clock.advance(150_000)
  t.equal(await app.services.calls.lifecycle.sweep(clock.now()), 0, 'not before max duration + grace (120 s + 60 s)')
  clock.advance(40_000)
  t.equal(await app.services.calls.lifecycle.sweep(clock.now()), 1, 'swept after')
  t.match((await call(app, { url: `/api/v1/calls/${stuck.id}`, key: owner.key })).json(), { status: 'failed', end_reason: 'carrier_error', cost: 0, billable_seconds: 0 })
  t.equal((await call(app, { url: '/api/v1/credits/balance', key: owner.key })).json().balance, balance, 'our failure is not charged')
  t.same((await call(app, { url: '/api/v1/concurrency', key: owner.key })).json(), { limit: 1, active: 0, queued: 0 }, 'its slot is free')
  t.same((await callEvents(app, stuck.id)).map((event) => event.type), ['call.queued', 'call.ringing', 'call.started', 'call.ended'])
  t.equal(await app.services.calls.lifecycle.sweep(clock.now()), 0, 'a swept call is not swept again')
})

t.test('an app built for the CLI runs no background work: calls wait for a server', async (t) => {
  const borrowed = await buildTestApp(t, { SIMULATED_CARRIER_TIME_SCALE: 60, CALL_TICK_MS: 20 }, { background: false })
  const owner = await createTestAccount(borrowed.app, { plan: 'free_trial' })
  const agent = await createAgent(borrowed.app, owner.key)
  const placed = await createCall(borrowed.app, owner.key, { agent_id: agent.id, to: '+14155550104' })
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.equal((await call(borrowed.app, { url: `/api/v1/calls/${placed.id}`, key: owner.key })).json().status, 'queued', 'nothing advanced it')
  if (!process.env.DATABASE_URL) return
  // A server on the same database takes it from there.
  const server = await buildTestApp(t, { SIMULATED_CARRIER_TIME_SCALE: 60, CALL_TICK_MS: 20 }, { sharedWith: borrowed })
  await until(async () => (await liveCount(server.app, [placed.id])) === 0)
  t.match((await call(server.app, { url: `/api/v1/calls/${placed.id}`, key: owner.key })).json(), { status: 'failed', end_reason: 'invalid_number' })
})
