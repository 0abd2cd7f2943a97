import { asc, isNotNull, sql } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import type { ManualClock } from '../../src/clock.js'
import { calls, events } from '../../src/db/schema/index.js'
import { rowsOf } from '../../src/db/rows.js'

/**
 * Runs the simulated network on a test's ManualClock: jumps the clock to the next due transition
 * and applies what is due, up to `ms` from now (or until nothing is pending), then leaves the
 * clock there. Durations come out exact, and no test sleeps.
 */
export async function advanceCalls(app: FastifyInstance, clock: ManualClock, ms = Number.POSITIVE_INFINITY, maxSteps = 500): Promise<void> {
  const until = clock.now().getTime() + ms
  for (let step = 0; step < maxSteps; step++) {
    const [next] = await app.database.db.select({ dueAt: calls.dueAt }).from(calls).where(isNotNull(calls.dueAt)).orderBy(asc(calls.dueAt)).limit(1)
    if (!next || next.dueAt!.getTime() > until) {
      if (Number.isFinite(until)) clock.set(until)
      return
    }
    if (next.dueAt! > clock.now()) clock.set(next.dueAt!)
    await app.services.calls.lifecycle.advanceDue()
  }
  throw new Error(`calls still pending after ${maxSteps} steps`)
}

/** Runs every call to its end. */
export const settleCalls = (app: FastifyInstance, clock: ManualClock) => advanceCalls(app, clock)

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
