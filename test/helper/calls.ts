import { asc, isNotNull, sql } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import type { ManualClock } from '../../src/clock.js'
import { calls, events } from '../../src/db/schema/index.js'
import { rowsOf } from '../../src/db/rows.js'

/**
 * Runs the simulated network on a test's ManualClock: jumps the clock to the next due transition
 * and applies what is due, until nothing is pending. Durations come out exact, and no test sleeps.
 */
export async function settleCalls(app: FastifyInstance, clock: ManualClock, maxSteps = 500): Promise<void> {
  for (let step = 0; step < maxSteps; step++) {
    const [next] = await app.database.db.select({ dueAt: calls.dueAt }).from(calls).where(isNotNull(calls.dueAt)).orderBy(asc(calls.dueAt)).limit(1)
    if (!next) return
    if (next.dueAt! > clock.now()) clock.set(next.dueAt!)
    await app.services.calls.advanceDue()
  }
  throw new Error(`calls still pending after ${maxSteps} steps`)
}

/** Applies only what is due by `ms` from now on the ManualClock. */
export async function advanceCalls(app: FastifyInstance, clock: ManualClock, ms: number): Promise<void> {
  const until = clock.now().getTime() + ms
  for (;;) {
    const [next] = await app.database.db.select({ dueAt: calls.dueAt }).from(calls).where(isNotNull(calls.dueAt)).orderBy(asc(calls.dueAt)).limit(1)
    if (!next || next.dueAt!.getTime() > until) break
    if (next.dueAt! > clock.now()) clock.set(next.dueAt!)
    await app.services.calls.advanceDue()
  }
  clock.set(until)
}

export interface CallEvent {
  type: string
  sequence: number
  call: Record<string, unknown> & { id: string; status: string; cost: number | null }
}

/** The outbox events of one call, in sequence order. */
export async function callEvents(app: FastifyInstance, callId: string): Promise<CallEvent[]> {
  const rows = rowsOf<{ type: string; payload: { sequence: number; call: CallEvent['call'] } }>(await app.database.db.execute(sql`
    select ${events.type} as type, ${events.payload} as payload from ${events}
    where ${events.type} like 'call.%' and ${events.payload}->'call'->>'id' = ${callId}`))
  return rows.map((row) => ({ type: row.type, sequence: row.payload.sequence, call: row.payload.call })).sort((a, b) => a.sequence - b.sequence)
}
