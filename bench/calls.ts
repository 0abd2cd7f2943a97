/**
 * The calls section of `npm run bench`, against the built service as its own process on
 * PostgreSQL and the embedded simulated carrier:
 *
 * 1. 1,000 concurrent calls on one instance (simulated time at real speed, the default 100 ms
 *    tick): all created within a few seconds to the test number +1 415 555 0100 (rings 2 s, talks
 *    30 s, ends `completed`), so all are live together; how late the service applies each carrier
 *    report (ringing, answered, ended) against its due time, and how many calls were live at once;
 * 2. two instances sharing one PostgreSQL advance 2,000 calls (1,000 created through each, the
 *    carrier 10× faster than real time): from the outbox (`events`), no transition applied twice,
 *    and every call terminal;
 * 3. `GET /api/v1/calls?limit=100` over 1,000,000 ended calls of one account (seeded in SQL): page
 *    1, page 5,000 (reached by following `next_cursor`), `status=completed` and `agent_id=` at
 *    page 1 and deep.
 *
 * It uses its own database (DATABASE_URL's name + `_calls`), dropped and recreated.
 */
import os from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import type { Sql } from 'postgres'
import { PROJECT_ROOT } from '../src/paths.js'
import { connect } from './database.js'
import { PEPPER, QUICK, log, reportSection, sectionDatabase, serviceOutput, withService } from './harness.js'
import { LIST_LOAD, measureList, urlOfPage, type LoadResult } from './load.js'
import { formatDuration, type Target } from './report.js'
import { BENCH_LIMITS, openOperatorApp } from './seed.js'
import type { RunningService } from './server-process.js'

/** Measurement 1: calls live at once on one instance. */
const CONCURRENT_CALLS = QUICK ? 200 : 1_000
/** Measurement 2: calls created through each of the two instances. */
const SHARED_CALLS_PER_INSTANCE = QUICK ? 200 : 1_000
/** Simulated seconds per real second in measurement 2: a 32 s call takes 3.2 s. */
const SHARED_TIME_SCALE = 10
/** POSTs in flight at once (measurement 2: half through each instance). */
const CREATE_CONCURRENCY = 16
/** How long after the last POST every call must have ended. */
const SETTLE_TIMEOUT_SECONDS = 180
const SAMPLE_EVERY_MS = 250

const LIST_ROWS = QUICK ? 100_000 : 1_000_000
const SEED_BATCH = 100_000
const LIST_AGENTS = 10
const DEEP_PAGE = QUICK ? 500 : 5_000
/** A tenth of the calls run each agent: page 500 is half way through one agent's 100,000. */
const AGENT_DEEP_PAGE = QUICK ? 50 : 500
/** Two clients each with one request in flight, as in the contacts section. */

const TARGET_LATENESS_P99_MS = 1_000
const TARGET_LIST_P99_MS = 15

/** The documented test number: rings at once, answered 2 s later, ends `completed` after 30 s of talk. */
const TEST_NUMBER = '+14155550100'
const ANSWER_AFTER_SECONDS = 2
const TALK_SECONDS = 30
const CALL_RATE_CENTS = 8
const CREDIT_CENTS = 100_000_000

const RESULTS_PATH = join(PROJECT_ROOT, 'bench', 'results', 'calls.json')
const LIVE = ['scheduled', 'queued', 'ringing', 'in_progress']
const ACTOR = { id: 'cli', ip: null }

interface CallObject {
  id: string
  status: string
  end_reason: string | null
  created_at: string
  ringing_at: string | null
  answered_at: string | null
  ended_at: string | null
}

interface Account { accountId: string; key: string }

/** What every measurement works with: the section's database, its accounts, the error count. */
interface Bench {
  databaseUrl: string
  sql: Sql
  accounts: { concurrent: Account; shared: Account; list: Account }
  errors: { add(count: number): void }
}

/** An enterprise account with the bench's request limits, room for every call at once, and credit. */
async function createCallsAccount(app: FastifyInstance, name: string): Promise<Account> {
  const created = await app.services.accounts.createWithKey({
    name, plan: 'enterprise', ...BENCH_LIMITS, callRate: CALL_RATE_CENTS, concurrentCallLimit: 10_000,
  }, ACTOR)
  await app.services.credits.grant(created.account.id, CREDIT_CENTS, 'bench credit', ACTOR)
  return { accountId: created.account.id, key: created.key.key }
}

async function request(baseUrl: string, key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await response.text()
  let parsed: unknown = text
  try { parsed = JSON.parse(text) } catch { /* not JSON: keep the text */ }
  return { status: response.status, body: parsed }
}

async function createAgent(baseUrl: string, key: string, name: string): Promise<string> {
  const answer = await request(baseUrl, key, 'POST', '/api/v1/agents', {
    name, language: 'en-US', voice: { provider: 'elevenlabs', voice_id: 'rachel' }, first_message: 'Hello.', system_prompt: 'Be brief.',
  })
  const id = (answer.body as { id?: string }).id
  if (answer.status !== 201 || !id) throw new Error(`POST /api/v1/agents answered ${answer.status}: ${JSON.stringify(answer.body)}`)
  return id
}

interface CreateRun {
  requested: number
  created: number
  seconds: number
  p50Ms: number
  p99Ms: number
  /** Status → count of answers other than 201 ('error' for a request that never got one). */
  failures: Record<string, number>
  firstFailure: string | null
}

/** POSTs `count` calls to the test number, `concurrency` at a time. */
async function createCalls(baseUrl: string, key: string, agentId: string, count: number, concurrency: number): Promise<CreateRun> {
  const latencies: number[] = []
  const failures: Record<string, number> = {}
  let firstFailure: string | null = null
  let next = 0
  let created = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      next++
      const sent = performance.now()
      try {
        const answer = await request(baseUrl, key, 'POST', '/api/v1/calls', { agent_id: agentId, to: TEST_NUMBER })
        if (answer.status === 201) {
          created++
          latencies.push(performance.now() - sent)
        } else {
          failures[answer.status] = (failures[answer.status] ?? 0) + 1
          firstFailure ??= `${answer.status} ${JSON.stringify(answer.body)}`
        }
      } catch (error) {
        failures.error = (failures.error ?? 0) + 1
        const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause
        firstFailure ??= `${(error as Error).message}${cause ? ` (${cause.code ?? ''} ${cause.message ?? ''})` : ''} after ${Math.round(performance.now() - sent)} ms`
      }
    }
  }))
  latencies.sort((a, b) => a - b)
  return { requested: count, created, seconds: (performance.now() - started) / 1000, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), failures, firstFailure }
}

const failureCount = (run: CreateRun) => Object.values(run.failures).reduce((sum, n) => sum + n, 0)
/** Requests that got no answer at all (a non-201 answer is a figure, reported in the targets). */
const unanswered = (run: CreateRun) => run.failures.error ?? 0

/** Deadlocks PostgreSQL has detected in this database so far. */
async function deadlocks(sql: Sql): Promise<number> {
  const [row] = await sql<[{ n: string }]>`select deadlocks::text as n from pg_stat_database where datname = current_database()`
  return Number(row.n)
}

/** Deadlocks once the stopped services' backends have published their counters (at exit). */
async function settledDeadlocks(sql: Sql): Promise<number> {
  let previous = await deadlocks(sql)
  for (let attempt = 0; attempt < 20; attempt++) {
    await sleep(150)
    const current = await deadlocks(sql)
    if (current === previous) return current
    previous = current
  }
  return previous
}

interface Watch {
  /** Most calls live at one sample. */
  peakLive: number
  /** Most calls more than 1 s past their due time at one sample (the tick's backlog). */
  peakOverdue: number
  /**
   * The longest any due transition was seen still pending (now − due_at of the oldest, at a
   * sample): how late a transition becomes visible, i.e. committed. A transition's timestamp is
   * taken when it is applied, inside a tick's transaction that commits after its whole batch, so
   * this can exceed the lateness computed from the timestamps.
   */
  peakPendingMs: number
  samples: number
  /** Calls of the account still live at the last sample. */
  live: number
  /** Whether every call ended before the deadline. */
  settled: boolean
  /** From the first POST to the last call ending (or the deadline). */
  seconds: number
}

/**
 * Samples the account's calls every 250 ms from the first POST, with the bench's own connection,
 * until `creating` has resolved and none is live, or SETTLE_TIMEOUT_SECONDS after it resolved.
 */
async function watchCalls(sql: Sql, accountId: string, creating: Promise<unknown>): Promise<Watch> {
  const started = performance.now()
  let deadline = Number.POSITIVE_INFINITY
  void creating.finally(() => { deadline = performance.now() + SETTLE_TIMEOUT_SECONDS * 1000 })
  const watch: Watch = { peakLive: 0, peakOverdue: 0, peakPendingMs: 0, samples: 0, live: 0, settled: false, seconds: 0 }
  for (;;) {
    const [row] = await sql<[{ live: number; overdue: number; pending_ms: number }]>`
      select count(*) filter (where status in ${sql(LIVE)})::int as live,
             count(*) filter (where due_at < now() - interval '1 second')::int as overdue,
             coalesce(extract(epoch from now() - min(due_at))::float8 * 1000, 0)::float8 as pending_ms
      from calls where account_id = ${accountId}`
    watch.samples++
    watch.live = row.live
    watch.peakLive = Math.max(watch.peakLive, row.live)
    watch.peakOverdue = Math.max(watch.peakOverdue, row.overdue)
    watch.peakPendingMs = Math.max(watch.peakPendingMs, row.pending_ms)
    if (Number.isFinite(deadline) && row.live === 0) {
      watch.settled = true
      break
    }
    if (performance.now() > deadline) break
    await sleep(SAMPLE_EVERY_MS)
  }
  watch.seconds = (performance.now() - started) / 1000
  return watch
}

/** Every call of the account, through the API (newest first, 100 a page). */
async function listAllCalls(baseUrl: string, key: string): Promise<CallObject[]> {
  const all: CallObject[] = []
  let cursor: string | null = null
  do {
    const answer = await request(baseUrl, key, 'GET', `/api/v1/calls?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
    if (answer.status !== 200) throw new Error(`GET /api/v1/calls answered ${answer.status}: ${JSON.stringify(answer.body)}`)
    const page = answer.body as { data: CallObject[]; next_cursor: string | null }
    all.push(...page.data)
    cursor = page.next_cursor
  } while (cursor)
  return all
}

interface Lateness {
  transitions: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  byType: Record<'ringing' | 'answered' | 'ended', { p50Ms: number; p99Ms: number; maxMs: number }>
  /** Final status (and end reason) → calls: all `completed agent_hangup` when the carrier ran to script. */
  outcomes: Record<string, number>
}

/**
 * How late each transition was applied: its timestamp minus its due time. Due times chain from
 * created_at as the service chains them: ringing at created_at, answered 2 simulated seconds
 * later, ended 30 after that (real ms = simulated s × 1000 / scale). Only calls that ran the
 * test number's script count (the outcomes say whether any did not).
 */
function lateness(calls: readonly CallObject[], scale: number): Lateness {
  const byType = { ringing: [] as number[], answered: [] as number[], ended: [] as number[] }
  const outcomes: Record<string, number> = {}
  for (const call of calls) {
    const outcome = `${call.status}${call.end_reason ? ` ${call.end_reason}` : ''}`
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
    if (outcome !== 'completed agent_hangup' || !call.ringing_at || !call.answered_at || !call.ended_at) continue
    const created = Date.parse(call.created_at)
    byType.ringing.push(Date.parse(call.ringing_at) - created)
    byType.answered.push(Date.parse(call.answered_at) - (created + (ANSWER_AFTER_SECONDS * 1000) / scale))
    byType.ended.push(Date.parse(call.ended_at) - (created + ((ANSWER_AFTER_SECONDS + TALK_SECONDS) * 1000) / scale))
  }
  const stats = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b)
    return { p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), maxMs: sorted.at(-1) ?? Number.NaN }
  }
  const all = [...byType.ringing, ...byType.answered, ...byType.ended]
  return {
    transitions: all.length,
    ...stats(all),
    byType: { ringing: stats(byType.ringing), answered: stats(byType.answered), ended: stats(byType.ended) },
    outcomes,
  }
}

interface ConcurrentRun {
  calls: number
  create: CreateRun
  /** Deadlocks PostgreSQL detected while the instance ran (each one a transition retried). */
  deadlocks: number
  watch: Watch
  lateness: Lateness
  serviceCpuSeconds: number | null
}

/** Measurement 1: one instance, real-time carrier, every call live at once. */
async function concurrentCalls({ databaseUrl, sql, accounts, errors }: Bench): Promise<ConcurrentRun> {
  const account = accounts.concurrent
  const deadlocksBefore = await deadlocks(sql)
  const run = await withService({}, async (service) => {
    const agentId = await createAgent(service.baseUrl, account.key, 'Bench')
    const cpuBefore = service.cpuSeconds()
    log(`creating ${CONCURRENT_CALLS.toLocaleString('en-US')} calls to ${TEST_NUMBER}, ${CREATE_CONCURRENCY} POSTs at a time (each lasts ${ANSWER_AFTER_SECONDS + TALK_SECONDS} s)`)
    const creating = createCalls(service.baseUrl, account.key, agentId, CONCURRENT_CALLS, CREATE_CONCURRENCY)
    const watching = watchCalls(sql, account.accountId, creating)
    const create = await creating
    errors.add(unanswered(create))
    log(`created ${create.created.toLocaleString('en-US')} in ${create.seconds.toFixed(2)} s (${Math.round(create.created / create.seconds)} calls/s, POST p50 ${create.p50Ms.toFixed(1)} ms, p99 ${create.p99Ms.toFixed(1)} ms)${failureCount(create) ? `; ${failureCount(create)} failed, first: ${create.firstFailure}` : ''}`)
    const watch = await watching
    const cpuAfter = service.cpuSeconds()
    log(`${watch.settled ? 'all ended' : `${watch.live} still live at the deadline`} after ${watch.seconds.toFixed(1)} s; peak live ${watch.peakLive}, peak > 1 s overdue ${watch.peakOverdue}, longest seen pending past due ${Math.round(watch.peakPendingMs)} ms`)
    const late = lateness(await listAllCalls(service.baseUrl, account.key), 1)
    log(`lateness over ${late.transitions} transitions: p50 ${late.p50Ms} ms, p99 ${late.p99Ms} ms, max ${late.maxMs} ms; outcomes ${JSON.stringify(late.outcomes)}`)
    return { calls: CONCURRENT_CALLS, create, watch, lateness: late, serviceCpuSeconds: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore }
  }, databaseUrl)
  return { ...run, deadlocks: (await settledDeadlocks(sql)) - deadlocksBefore }
}

interface SharedRun {
  callsPerInstance: number
  timeScale: number
  creates: CreateRun[]
  watch: Watch
  /** Calls in the table: a POST cut off before its answer may still have created one. */
  calls: number
  /** Deadlocks PostgreSQL detected while the two instances ran (each one a transition retried). */
  deadlocks: number
  nonTerminal: number
  events: { rows: number; distinctSequences: number; repeatedTypes: number; expected: number; callsWithoutFourEvents: number }
  doubleTransitions: number
  lateness: Lateness
  serviceCpuSeconds: (number | null)[]
}

/** Measurement 2: two instances on one database, the carrier 10× real time. */
async function sharedCalls({ databaseUrl, sql, accounts, errors }: Bench): Promise<SharedRun> {
  const account = accounts.shared
  const env = { SIMULATED_CARRIER_TIME_SCALE: String(SHARED_TIME_SCALE) }
  const deadlocksBefore = await deadlocks(sql)
  const run = await withService(env, (first) => withService(env, async (second) => {
    const services: RunningService[] = [first, second]
    const agentId = await createAgent(first.baseUrl, account.key, 'Bench')
    const cpuBefore = services.map((service) => service.cpuSeconds())
    log(`creating ${SHARED_CALLS_PER_INSTANCE.toLocaleString('en-US')} calls through each of two instances (${CREATE_CONCURRENCY / 2} POSTs at a time each, carrier ×${SHARED_TIME_SCALE}: ${(ANSWER_AFTER_SECONDS + TALK_SECONDS) / SHARED_TIME_SCALE} s a call)`)
    const creating = Promise.all(services.map((service) => createCalls(service.baseUrl, account.key, agentId, SHARED_CALLS_PER_INSTANCE, CREATE_CONCURRENCY / 2)))
    const watching = watchCalls(sql, account.accountId, creating)
    const creates = await creating
    for (const [i, create] of creates.entries()) {
      errors.add(unanswered(create))
      log(`instance ${i + 1}: created ${create.created.toLocaleString('en-US')} in ${create.seconds.toFixed(2)} s (POST p99 ${create.p99Ms.toFixed(1)} ms)${failureCount(create) ? `; ${failureCount(create)} failed, first: ${create.firstFailure}` : ''}`)
    }
    const watch = await watching
    const cpuAfter = services.map((service) => service.cpuSeconds())
    log(`${watch.settled ? 'none live' : `${watch.live} still live at the deadline`} after ${watch.seconds.toFixed(1)} s; peak live ${watch.peakLive}`)

    const [counts] = await sql<[{ calls: number; non_terminal: number }]>`
      select count(*)::int as calls, count(*) filter (where status in ${sql(LIVE)})::int as non_terminal
      from calls where account_id = ${account.accountId}`
    const [events] = await sql<[{ rows: number; distinct_sequences: number; repeated_types: number; without_four: number }]>`
      with e as (
        select payload->'call'->>'id' as call_id, (payload->>'sequence')::int as sequence, type
        from events where account_id = ${account.accountId} and type like 'call.%'
      )
      select (select count(*) from e)::int as rows,
             (select count(*) from (select distinct call_id, sequence from e) d)::int as distinct_sequences,
             (select coalesce(sum(n - 1), 0) from (select count(*) as n from e group by call_id, type having count(*) > 1) r)::int as repeated_types,
             (select count(*) from (select c.id from calls c left join e on e.call_id = c.id where c.account_id = ${account.accountId}
                                    group by c.id having count(e.call_id) <> 4) w)::int as without_four`
    const late = lateness(await listAllCalls(first.baseUrl, account.key), SHARED_TIME_SCALE)
    const doubleTransitions = events.rows - events.distinct_sequences + events.repeated_types
    log(`${counts.calls} calls, ${counts.non_terminal} non-terminal; ${events.rows} call events (${events.distinct_sequences} distinct call/sequence, ${events.repeated_types} repeated call/type, ${events.without_four} calls without exactly 4): ${doubleTransitions} double transitions`)
    return {
      callsPerInstance: SHARED_CALLS_PER_INSTANCE,
      timeScale: SHARED_TIME_SCALE,
      creates,
      watch,
      calls: counts.calls,
      nonTerminal: counts.non_terminal,
      events: { rows: events.rows, distinctSequences: events.distinct_sequences, repeatedTypes: events.repeated_types, expected: counts.calls * 4, callsWithoutFourEvents: events.without_four },
      doubleTransitions,
      lateness: late,
      serviceCpuSeconds: services.map((_, i) => (cpuBefore[i] == null || cpuAfter[i] == null ? null : cpuAfter[i]! - cpuBefore[i]!)),
    }
  }, databaseUrl), databaseUrl)
  const deadlocksDuring = (await settledDeadlocks(sql)) - deadlocksBefore
  log(`PostgreSQL detected ${deadlocksDuring} deadlock(s) in the database while the two instances ran`)
  return { ...run, deadlocks: deadlocksDuring }
}

interface SeedRun { rows: number; seconds: number; vacuumSeconds: number; transcriptBytes: number }

/**
 * LIST_ROWS ended calls of one account, one INSERT … SELECT per batch, generated inside
 * PostgreSQL. Spread over the last 30 days, a tenth per agent, 85 % completed (with the transcript
 * and analysis of a call the service completed in measurement 1, so a page weighs what a real one
 * does), 5 % each busy, no_answer and failed.
 */
async function seedCalls(sql: Sql, accountId: string, agentIds: readonly string[], sample: { transcript: unknown; analysis: unknown }): Promise<SeedRun> {
  const started = performance.now()
  const spanSeconds = 30 * 24 * 3600
  const since = new Date(Date.now() - spanSeconds * 1000).toISOString()
  const step = spanSeconds / LIST_ROWS
  for (let offset = 0; offset < LIST_ROWS; offset += SEED_BATCH) {
    const batch = Math.min(SEED_BATCH, LIST_ROWS - offset)
    // Ids are 'call_bench' + 17 digits (the API's 22-character id shape), in created order.
    await sql`
      insert into calls (id, account_id, agent_id, agent_version, "to", "from", status, end_reason, answered_by, max_duration_seconds, rate,
                         created_at, ringing_at, answered_at, ended_at, duration_seconds, billable_seconds, cost, transcript, analysis,
                         sequence, elapsed_seconds, updated_at)
      select 'call_bench' || lpad(n::text, 17, '0'), ${accountId}, (${sql.array(agentIds as string[])}::text[])[1 + n % ${agentIds.length}], 1,
             '+1415555' || lpad((n % 10000)::text, 4, '0'), '+14155550199', s.status,
             case s.status when 'completed' then 'agent_hangup' when 'failed' then 'carrier_error' end,
             case when s.status = 'completed' then 'human' end,
             600, ${CALL_RATE_CENTS}, c.at,
             case when s.status <> 'busy' then c.at end,
             case when s.status = 'completed' then c.at + interval '2 seconds' end,
             c.at + make_interval(secs => s.seconds), s.seconds,
             case when s.status = 'completed' then 30 else 0 end,
             case when s.status = 'completed' then ${Math.ceil((TALK_SECONDS * CALL_RATE_CENTS) / 60)} else 0 end,
             case when s.status = 'completed' then ${sql.json(sample.transcript as never)}::jsonb else '[]'::jsonb end,
             case when s.status = 'completed' then ${sql.json(sample.analysis as never)}::jsonb end,
             case s.status when 'completed' then 4 when 'busy' then 2 else 3 end, s.seconds, c.at
      from generate_series(${offset + 1}::int, ${offset + batch}::int) as n,
           lateral (select ${since}::timestamptz + make_interval(secs => n * ${step}::float8) as at) as c,
           lateral (select st as status, case st when 'completed' then 32 when 'busy' then 1 when 'no_answer' then 30 else 2 end as seconds
                    from (select case n % 20 when 0 then 'busy' when 1 then 'no_answer' when 2 then 'failed' else 'completed' end as st) x) as s`
  }
  const seconds = (performance.now() - started) / 1000
  // Vacuum as well as analyze: otherwise autovacuum wakes up for the fresh rows mid-measurement.
  const vacuumStarted = performance.now()
  await sql`vacuum (analyze) calls`
  return { rows: LIST_ROWS, seconds, vacuumSeconds: (performance.now() - vacuumStarted) / 1000, transcriptBytes: JSON.stringify(sample.transcript).length }
}

interface ListRun {
  label: string
  responseBytes: number
  result: LoadResult
  serviceCpuMsPerRequest: number | null
  /** 1-minute load average after the run: another process on the two cores explains a slow one. */
  loadAverage: number
}

/** Measurement 3: the list over LIST_ROWS calls of one account. */
async function listCalls({ databaseUrl, sql, accounts, errors }: Bench): Promise<{ seed: SeedRun; lists: ListRun[] }> {
  const account = accounts.list
  const [sample] = await sql<[{ transcript: unknown; analysis: unknown }?]>`
    select transcript, analysis from calls where status = 'completed' and analysis is not null order by created_at limit 1`
  return withService({}, async (service) => {
    const agentIds: string[] = []
    for (let i = 1; i <= LIST_AGENTS; i++) agentIds.push(await createAgent(service.baseUrl, account.key, `Bench ${i}`))
    log(`seeding ${LIST_ROWS.toLocaleString('en-US')} ended calls`)
    const seed = await seedCalls(sql, account.accountId, agentIds, sample ?? { transcript: [], analysis: null })
    log(`seeded in ${seed.seconds.toFixed(1)} s, vacuum (analyze) ${seed.vacuumSeconds.toFixed(1)} s (transcript of a completed call: ${seed.transcriptBytes} bytes of JSON)`)

    const agent = agentIds[3]!
    const base = `${service.baseUrl}/api/v1/calls`
    const pages = [
      { label: 'page 1', url: `${base}?limit=100` },
      { label: `page ${DEEP_PAGE.toLocaleString('en-US')}`, url: await urlOfPage(service.baseUrl, account.key, '/api/v1/calls', 'limit=100', DEEP_PAGE) },
      { label: 'status=completed, page 1', url: `${base}?limit=100&status=completed` },
      { label: `status=completed, page ${DEEP_PAGE.toLocaleString('en-US')}`, url: await urlOfPage(service.baseUrl, account.key, '/api/v1/calls', 'limit=100&status=completed', DEEP_PAGE) },
      { label: 'agent_id=, page 1', url: `${base}?limit=100&agent_id=${agent}` },
      { label: `agent_id=, page ${AGENT_DEEP_PAGE}`, url: await urlOfPage(service.baseUrl, account.key, '/api/v1/calls', `limit=100&agent_id=${agent}`, AGENT_DEEP_PAGE) },
    ]
    const auth = { authorization: `Bearer ${account.key}` }
    const lists: ListRun[] = []
    for (const page of pages) {
      const responseBytes = (await (await fetch(page.url, { headers: auth })).arrayBuffer()).byteLength
      const { result, serviceCpuMsPerRequest } = await measureList(service, page.url, auth, errors)
      lists.push({ label: page.label, responseBytes, result, serviceCpuMsPerRequest, loadAverage: os.loadavg()[0] ?? 0 })
      log(`GET /api/v1/calls?limit=100, ${page.label}: ${Math.round(result.rps)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, non-2xx ${result.non2xx}, service CPU ${serviceCpuMsPerRequest?.toFixed(2) ?? 'n/a'} ms/req, ${Math.round(responseBytes / 1024)} KB a page, load avg ${os.loadavg()[0]!.toFixed(1)}`)
    }
    return { seed, lists }
  }, databaseUrl)
}

export interface CallsSummary {
  settings: {
    concurrentCalls: number; sharedCallsPerInstance: number; sharedTimeScale: number; createConcurrency: number; settleTimeoutSeconds: number
    listRows: number; deepPage: number; agentDeepPage: number; listLoad: typeof LIST_LOAD
  }
  concurrent: ConcurrentRun
  shared: SharedRun
  seed: SeedRun
  lists: ListRun[]
  targets: Target[]
}

export async function callsBench(errors: { add(count: number): void }): Promise<void> {
  const databaseUrl = await sectionDatabase('calls')
  // The operator app is built as the server is, background work included: its scheduler would
  // advance calls too (from this process, a hidden extra instance). So it makes the accounts and
  // closes before any call exists; the services measured are the only instances.
  const handle = await openOperatorApp(databaseUrl, PEPPER, join(PROJECT_ROOT, '.data'))
  let accounts: Bench['accounts']
  try {
    accounts = {
      concurrent: await createCallsAccount(handle, 'Bench calls (one instance)'),
      shared: await createCallsAccount(handle, 'Bench calls (two instances)'),
      list: await createCallsAccount(handle, 'Bench calls (list)'),
    }
  } finally {
    await handle.close()
  }
  const sql = connect(databaseUrl)
  const bench: Bench = { databaseUrl, sql, accounts, errors }
  const outputBefore = serviceOutput.length
  try {
    log(`1. ${CONCURRENT_CALLS.toLocaleString('en-US')} concurrent calls on one instance`)
    const concurrent = await concurrentCalls(bench)
    log(`2. two instances sharing PostgreSQL advance ${(2 * SHARED_CALLS_PER_INSTANCE).toLocaleString('en-US')} calls`)
    const shared = await sharedCalls(bench)
    log(`3. GET /api/v1/calls over ${LIST_ROWS.toLocaleString('en-US')} calls of one account`)
    const { seed, lists } = await listCalls(bench)

    const full: CallsSummary = {
      settings: {
        concurrentCalls: CONCURRENT_CALLS, sharedCallsPerInstance: SHARED_CALLS_PER_INSTANCE, sharedTimeScale: SHARED_TIME_SCALE, createConcurrency: CREATE_CONCURRENCY,
        settleTimeoutSeconds: SETTLE_TIMEOUT_SECONDS, listRows: LIST_ROWS, deepPage: DEEP_PAGE, agentDeepPage: AGENT_DEEP_PAGE, listLoad: LIST_LOAD,
      },
      concurrent,
      shared,
      seed,
      lists,
      targets: callTargets(concurrent, shared, lists),
    }
    reportSection(formatCalls(full), full, RESULTS_PATH, outputBefore)
  } finally {
    await sql.end({ timeout: 5 })
  }
}

function callTargets(concurrent: ConcurrentRun, shared: SharedRun, lists: ListRun[]): Target[] {
  const int = (value: number) => Math.round(value).toLocaleString('en-US')
  const late = concurrent.lateness
  const sharedCalls = 2 * SHARED_CALLS_PER_INSTANCE
  return [
    {
      name: `${int(CONCURRENT_CALLS)} concurrent calls on one instance: all live at once`,
      pass: concurrent.watch.peakLive >= CONCURRENT_CALLS,
      actual: `peak ${int(concurrent.watch.peakLive)} live (sampled every ${SAMPLE_EVERY_MS} ms); created in ${concurrent.create.seconds.toFixed(1)} s, ${int(failureCount(concurrent.create))} POSTs failed`,
    },
    {
      name: `${int(CONCURRENT_CALLS)} concurrent calls: p99 lateness of ringing/answered/ended ≤ ${int(TARGET_LATENESS_P99_MS)} ms`,
      pass: late.p99Ms <= TARGET_LATENESS_P99_MS && late.transitions === 3 * CONCURRENT_CALLS,
      actual: `p99 ${int(late.p99Ms)} ms, p50 ${int(late.p50Ms)} ms, max ${int(late.maxMs)} ms over ${int(late.transitions)} transitions`
        + ` (p99 ringing ${int(late.byType.ringing.p99Ms)}, answered ${int(late.byType.answered.p99Ms)}, ended ${int(late.byType.ended.p99Ms)} ms); all ended: ${concurrent.watch.settled ? 'yes' : `no, ${concurrent.watch.live} live`}`,
    },
    {
      name: `two instances, ${int(sharedCalls)} calls: zero double transitions`,
      pass: shared.doubleTransitions === 0,
      actual: `${int(shared.doubleTransitions)} (${int(shared.events.rows)} call events, ${int(shared.events.distinctSequences)} distinct call/sequence, ${int(shared.events.repeatedTypes)} repeated call/type; expected ${int(shared.events.expected)}, ${int(shared.events.callsWithoutFourEvents)} calls without exactly 4)`,
    },
    {
      name: `two instances, ${int(sharedCalls)} calls: zero non-terminal within ${SETTLE_TIMEOUT_SECONDS} s`,
      pass: shared.nonTerminal === 0 && shared.calls === sharedCalls,
      actual: `${int(shared.nonTerminal)} non-terminal of ${int(shared.calls)} calls (${int(shared.creates.reduce((sum, run) => sum + run.created, 0))} POSTs answered 201, ${int(shared.creates.reduce((sum, run) => sum + failureCount(run), 0))} failed); `
        + `${shared.watch.settled ? `none live ${shared.watch.seconds.toFixed(1)} s after the first POST` : `${shared.watch.live} still live at the deadline`}; lateness p99 ${int(shared.lateness.p99Ms)} ms, max ${int(shared.lateness.maxMs)} ms; ${shared.deadlocks} deadlocks`,
    },
    ...lists.map((run) => ({
      name: `GET /api/v1/calls?limit=100 (${int(LIST_ROWS)} calls), ${run.label}: p99 ≤ ${TARGET_LIST_P99_MS} ms, all 2xx`,
      pass: run.result.p99Ms <= TARGET_LIST_P99_MS && run.result.non2xx === 0,
      actual: `p99 ${run.result.p99Ms.toFixed(2)} ms, p50 ${run.result.p50Ms.toFixed(2)} ms, ${Math.round(run.result.rps)} req/s, non-2xx ${run.result.non2xx}, service CPU ${run.serviceCpuMsPerRequest?.toFixed(2) ?? 'n/a'} ms/req`,
    })),
  ]
}

function formatCalls(summary: CallsSummary): string {
  const { concurrent, shared, seed } = summary
  const cpu = (seconds: number | null) => (seconds === null ? 'n/a' : `${seconds.toFixed(1)} s`)
  const out = ['', '=== Calls: concurrency, two instances, lists (PostgreSQL, simulated carrier) ===']
  out.push(`1. ${concurrent.calls} calls to ${TEST_NUMBER} (${ANSWER_AFTER_SECONDS} s ringing + ${TALK_SECONDS} s talk), ${CREATE_CONCURRENCY} POSTs at a time: created in ${formatDuration(concurrent.create.seconds)} `
    + `(POST p50 ${concurrent.create.p50Ms.toFixed(1)} ms, p99 ${concurrent.create.p99Ms.toFixed(1)} ms), all ended ${formatDuration(concurrent.watch.seconds)} after the first; `
    + `peak ${concurrent.watch.peakLive} live, peak ${concurrent.watch.peakOverdue} more than 1 s overdue, longest seen still pending ${Math.round(concurrent.watch.peakPendingMs)} ms past due; service CPU ${cpu(concurrent.serviceCpuSeconds)}; PostgreSQL deadlocks ${concurrent.deadlocks}`)
  out.push(`   lateness (ms)  p50 / p99 / max: all ${concurrent.lateness.p50Ms} / ${concurrent.lateness.p99Ms} / ${concurrent.lateness.maxMs}; `
    + (['ringing', 'answered', 'ended'] as const).map((type) => `${type} ${concurrent.lateness.byType[type].p50Ms} / ${concurrent.lateness.byType[type].p99Ms} / ${concurrent.lateness.byType[type].maxMs}`).join('; '))
  out.push(`   outcomes: ${JSON.stringify(concurrent.lateness.outcomes)}`)
  out.push(`2. two instances, ${shared.callsPerInstance} calls created through each, carrier ×${shared.timeScale}: created in ${shared.creates.map((run) => formatDuration(run.seconds)).join(' / ')}, `
    + `${shared.watch.settled ? 'none' : shared.watch.live} live ${formatDuration(shared.watch.seconds)} after the first POST (peak ${shared.watch.peakLive} live, longest seen still pending ${Math.round(shared.watch.peakPendingMs)} ms past due); service CPU ${shared.serviceCpuSeconds.map(cpu).join(' / ')}; `
    + `PostgreSQL deadlocks ${shared.deadlocks}; POST p99 ${shared.creates.map((run) => `${run.p99Ms.toFixed(0)} ms`).join(' / ')}, failed ${shared.creates.map(failureCount).join(' / ')}${shared.creates.some((run) => run.firstFailure) ? ` (first: ${shared.creates.map((run) => run.firstFailure).find(Boolean)})` : ''}`)
  out.push(`   lateness (ms) p50 / p99 / max: ${shared.lateness.p50Ms} / ${shared.lateness.p99Ms} / ${shared.lateness.maxMs}; outcomes: ${JSON.stringify(shared.lateness.outcomes)}`)
  out.push(`3. ${seed.rows.toLocaleString('en-US')} ended calls seeded in ${formatDuration(seed.seconds)} (+ vacuum ${formatDuration(seed.vacuumSeconds)}); lists: ${summary.settings.listLoad.connections} connections, `
    + `${summary.settings.listLoad.seconds} s per run after a ${summary.settings.listLoad.warmupSeconds} s warm-up; deep pages reached by following next_cursor`)
  out.push('', 'Targets')
  for (const target of summary.targets) out.push(`${target.pass ? 'PASS' : 'MISS'}  ${target.name}: ${target.actual}`)
  return out.join('\n')
}

/** Nearest-rank percentile of sorted values; NaN when there are none. */
function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))
  return sorted[rank]!
}
