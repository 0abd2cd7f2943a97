import t, { type Test } from 'tap'
import postgres from 'postgres'
import { DatabaseAvailability, PROBE_INTERVAL_MS, PROBE_TIMEOUT_MS } from '../../src/db/availability.js'

const DATABASE_URL = process.env.DATABASE_URL
const skip = !DATABASE_URL && 'needs DATABASE_URL (PGlite is always available)'

function busyWait(ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until) { /* a synchronous task holding the event loop */ }
}

/**
 * Five probes on a connection of their own, the first three each followed by `stall` as the
 * probe's query is issued; asserts the database never counted as unreachable.
 */
async function probesSurviveStalls(t: Test, stall: () => void): Promise<void> {
  const changes: boolean[] = []
  const availability = new DatabaseAvailability((available) => changes.push(available))
  const client = postgres(DATABASE_URL!, { max: 1, onnotice: () => {}, socket: availability.probeSocketFactory } as never)
  t.teardown(async () => {
    availability.stop()
    await client.end({ timeout: 1 })
  })
  await client`select 1`
  let stalls = 0
  let probes = 0
  availability.start(() => {
    probes++
    const answer = client`select 1`.execute()
    if (stalls < 3) {
      stalls++
      stall()
    }
    return answer
  })
  while (probes < 5) await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS))
  t.equal(stalls, 3, 'three probes were held past their deadline by a stall')
  t.same(changes, [], 'the database never counted as unreachable')
  t.equal(availability.available, true)
}

/**
 * A stalled event loop is not an outage. The probe's answer arrives while the process is busy (a
 * long synchronous task, a CPU starved by other processes); when the loop resumes, the deadline
 * timer runs before the poll phase reads that answer. Counted as a timeout, this took PostgreSQL
 * for unreachable and failed a CI run's queries with 503s.
 */
t.test('a probe answered while the event loop was stalled is an answer, not an outage', { skip }, async (t) => {
  // After postgres.js's own setImmediate has written the query: the answer comes back while the
  // loop is held past the deadline.
  await probesSurviveStalls(t, () => setImmediate(() => setImmediate(() => busyWait(PROBE_TIMEOUT_MS + 300))))
})

/**
 * The other half of a stall: the loop is held before the probe's query is even written (postgres.js
 * writes on a later turn), as an app's start-up compiling modules and schemas holds it. The query
 * then goes out after the deadline has already run, and no answer, busy or not, could have been in
 * time; a bench's own operator app took PostgreSQL for unreachable this way while it started.
 */
t.test('a probe the stalled process could not even send is no evidence of an outage', { skip }, async (t) => {
  // Once the deadline is set and before the driver's write (a turn later): other work of the
  // process taking the loop, as a timer or a promise continuation does.
  await probesSurviveStalls(t, () => queueMicrotask(() => busyWait(PROBE_TIMEOUT_MS + 300)))
})
