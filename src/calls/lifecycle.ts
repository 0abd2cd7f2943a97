import { and, asc, count, eq, inArray, isNotNull, lte, sql } from 'drizzle-orm'
import { accounts, agentVersions, calls, type CallRow } from '../db/schema/index.js'
import type { Transaction } from '../db/executor.js'
import { ApiError } from '../errors.js'
import { appendEvent } from '../outbox/outbox.js'
import { appendLedgerEntry } from '../credits/service.js'
import { concurrentCallsFor } from '../plans.js'
import type { Actor } from '../audit/record.js'
import type { ServiceContext } from '../service-context.js'
import type { Carrier, CarrierStep, PlacedCall } from './carrier.js'
import { assertMove, LIVE_STATUSES, type CallStatus, type EndReason } from './state-machine.js'
import { converse } from './conversation.js'
import { affordableSeconds, costCents } from './billing.js'
import { presentCall } from './present.js'

/**
 * Calls one tick's transaction claims at most; the tick goes on at once while batches come back
 * full. Small enough that a transition commits soon after it is stamped (a 200-call batch let a
 * reader see one over a second after its due time), large enough to keep commits few.
 */
export const TICK_BATCH = 50
/** Who changes a contact that opted out on a call. */
const CARRIER_ACTOR: Actor = { id: 'system:calls', ip: null }

export interface CallEnd {
  status: CallStatus
  reason: EndReason | null
  talkSeconds: number
  durationSeconds: number
  optOut?: boolean
}

class StaleCallError extends Error {
  override readonly name = 'StaleCallError'
}

/**
 * What happens to a call over time, apart from any request: the carrier's reports applied as
 * compare-and-set transitions (each with its outbox event in the same transaction), the end with
 * its charge, the freed slot handed on, the sweep. The carrier's next report is the call's durable
 * timer (`pending` + `due_at`); `advanceDue` — run by every instance every CALL_TICK_MS — claims
 * due calls with FOR UPDATE SKIP LOCKED. The call service (service.ts) is the API in front of it.
 */
export class CallLifecycle {
  private readonly scale: number

  constructor(private readonly context: ServiceContext, readonly carrier: Carrier) {
    this.scale = context.config.SIMULATED_CARRIER_TIME_SCALE
  }

  /** Real milliseconds for simulated seconds. */
  realMs(seconds: number): number {
    return (seconds * 1000) / this.scale
  }

  placed(call: Pick<CallRow, 'id' | 'to' | 'maxDurationSeconds'>): PlacedCall {
    return { id: call.id, to: call.to, maxDurationSeconds: call.maxDurationSeconds }
  }

  /**
   * The account row's lock: it serialises the account's slot and balance decisions. NO KEY UPDATE,
   * not UPDATE: every insert that references the account (a call, an event, a ledger entry) takes
   * KEY SHARE on the row for its foreign key, which FOR UPDATE conflicts with — two instances each
   * holding one and asking for the other deadlocked (17 times in a 400-call bench run).
   */
  async lockAccount(tx: Transaction, accountId: string) {
    const [account] = await tx.select().from(accounts).where(eq(accounts.id, accountId)).for('no key update')
    if (!account) throw new ApiError('not_found', 'Account not found.')
    return account
  }

  async slotsHeld(tx: Transaction, accountId: string): Promise<number> {
    const [held] = await tx.select({ n: count() }).from(calls)
      .where(and(eq(calls.accountId, accountId), inArray(calls.status, [...LIVE_STATUSES]), eq(calls.holdsSlot, true)))
    return held!.n
  }

  /** The simulated seconds a call in progress has talked by `now`, at most its max duration. */
  talkedSeconds(call: CallRow, now: Date): number {
    return Math.min(Math.floor(((now.getTime() - call.answeredAt!.getTime()) * this.scale) / 1000), call.maxDurationSeconds)
  }

  /**
   * Applies every transition due by now (at most one batch): claims due calls with FOR UPDATE SKIP
   * LOCKED (another instance takes the others), applies each in a savepoint (one call's failure
   * rolls back that call only, and it is retried next tick). Calls are applied in account order,
   * so two instances take account locks in the same order and never deadlock. Returns how many it claimed.
   */
  async advanceDue(limit = TICK_BATCH): Promise<number> {
    const now = this.context.clock.now()
    return this.context.db.transaction(async (tx) => {
      const due = await tx.select().from(calls).where(and(isNotNull(calls.dueAt), lte(calls.dueAt, now)))
        .orderBy(asc(calls.dueAt)).limit(limit).for('update', { skipLocked: true })
      due.sort((a, b) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : a.dueAt!.getTime() - b.dueAt!.getTime()))
      for (const call of due) {
        try {
          await tx.transaction((savepoint) => this.applyPending(savepoint, call, call.dueAt!))
        } catch (error) {
          this.context.log.error({ err: error, callId: call.id }, 'a call transition failed; it is retried at the next tick')
        }
      }
      return due.length
    })
  }

  /**
   * Applies a call's pending step, which fell due at `dueAt`: the next step's due time follows from
   * that instant (not from when a tick got round to it), so late ticks never stretch a call.
   */
  async applyPending(tx: Transaction, call: CallRow, dueAt: Date): Promise<CallRow> {
    const step = call.pending!
    const now = this.context.clock.now()
    const action = step.action
    if (action.type === 'dial') return this.dial(tx, call, now)
    const elapsed = call.elapsedSeconds + step.after_seconds
    if (action.type === 'ringing') {
      const next = this.carrier.next(this.placed(call), action)
      return this.move(tx, call, { status: 'ringing', ringingAt: now, elapsedSeconds: elapsed, ...this.schedule(next, dueAt) }, 'call.ringing', now)
    }
    if (action.type === 'answered') {
      let next = this.carrier.next(this.placed(call), action)
      // Talk no longer than the balance pays for now; the end re-checks, exactly, under the account lock.
      const [account] = await tx.select({ balance: accounts.creditBalance }).from(accounts).where(eq(accounts.id, call.accountId))
      const affordable = affordableSeconds(account!.balance, call.rate)
      if (next?.action.type === 'ended' && next.after_seconds > affordable) {
        next = { action: { type: 'ended', status: 'completed', reason: 'insufficient_credits' }, after_seconds: affordable }
      }
      return this.move(tx, call, { status: 'in_progress', answeredAt: now, answeredBy: action.answered_by, elapsedSeconds: elapsed, ...this.schedule(next, dueAt) }, 'call.started', now)
    }
    const talk = call.status === 'in_progress' ? step.after_seconds : 0
    return this.end(tx, call, now, { status: action.status, reason: action.reason, talkSeconds: talk, durationSeconds: elapsed, optOut: action.opt_out === true })
  }

  schedule(next: CarrierStep | null, from: Date): Pick<CallRow, 'pending' | 'dueAt'> {
    return next ? { pending: next, dueAt: new Date(from.getTime() + this.realMs(next.after_seconds)) } : { pending: null, dueAt: null }
  }

  /** A scheduled call falls due, or a waiting one is given a slot: it takes a slot if one is free, and dials. */
  private async dial(tx: Transaction, call: CallRow, now: Date): Promise<CallRow> {
    const account = await this.lockAccount(tx, call.accountId)
    const free = (await this.slotsHeld(tx, call.accountId)) < concurrentCallsFor(account)
    const first = free ? this.carrier.place(this.placed(call)) : null
    const changes = { status: 'queued' as const, holdsSlot: free, ...this.schedule(first, now) }
    // A scheduled call becomes queued (with its event); a waiting queued call only gains its slot.
    return call.status === 'scheduled' ? this.move(tx, call, changes, 'call.queued', now) : this.move(tx, call, changes, null, now)
  }

  /**
   * Ends a call: its final state, its charge (the `call_charge` ledger entry) and `call.ended`, in
   * one transaction. Talk the balance cannot pay for is cut at the last affordable second with
   * `insufficient_credits`, read under the account's lock, so concurrent endings can never take
   * the balance below zero. Frees the call's slot for the account's longest-waiting call.
   */
  async end(tx: Transaction, call: CallRow, now: Date, outcome: CallEnd): Promise<CallRow> {
    const account = await this.lockAccount(tx, call.accountId)
    let { talkSeconds: billable, reason, durationSeconds } = outcome
    const affordable = affordableSeconds(account.creditBalance, call.rate)
    if (billable > affordable) {
      durationSeconds -= billable - affordable
      billable = affordable
      reason = 'insufficient_credits'
    }
    const cost = costCents(billable, call.rate)
    let conversation: ReturnType<typeof converse> | null = null
    if (call.answeredBy === 'human' || call.answeredBy === 'voicemail') {
      const [version] = await tx.select({ config: agentVersions.config }).from(agentVersions)
        .where(and(eq(agentVersions.agentId, call.agentId), eq(agentVersions.version, call.agentVersion)))
      const planned = this.carrier.next(this.placed(call), { type: 'answered', answered_by: call.answeredBy })
      conversation = converse({
        callId: call.id, config: version!.config, variables: call.variables, answeredBy: call.answeredBy,
        plannedSeconds: planned?.after_seconds ?? billable, billableSeconds: billable, endReason: reason ?? 'agent_hangup', optOut: outcome.optOut === true && reason === 'customer_hangup',
      })
    }
    const ended = await this.move(tx, call, {
      status: outcome.status, endReason: reason, endedAt: now, durationSeconds, billableSeconds: billable, cost,
      holdsSlot: false, pending: null, dueAt: null,
      ...(conversation ? { transcript: conversation.transcript, analysis: conversation.analysis } : {}),
    }, 'call.ended', now)
    if (cost > 0) {
      await appendLedgerEntry(tx, { accountId: call.accountId, type: 'call_charge', amount: -cost, description: `Call ${call.id}: ${billable} s at ${call.rate} cents/min`, callId: call.id })
    }
    if (conversation?.analysis.outcome === 'opt_out' && call.contactId) {
      await this.context.services.contacts.optOut(tx, call.accountId, call.contactId, CARRIER_ACTOR, call.id)
    }
    if (call.holdsSlot) await this.promoteWaiting(tx, call.accountId, now)
    return ended
  }

  /** Gives the freed slot to the account's longest-waiting queued call, which dials at once. */
  private async promoteWaiting(tx: Transaction, accountId: string, now: Date): Promise<void> {
    const [waiting] = await tx.select().from(calls)
      .where(and(eq(calls.accountId, accountId), eq(calls.status, 'queued'), eq(calls.holdsSlot, false)))
      .orderBy(asc(calls.createdAt), asc(calls.id)).limit(1).for('update', { skipLocked: true })
    if (waiting) await this.dial(tx, waiting, now)
  }

  /**
   * The one way a call's row changes: a compare-and-set on the status and sequence it was read
   * with, plus its event (numbered by the call's own sequence) in the same transaction.
   */
  async move(tx: Transaction, call: CallRow, changes: Partial<typeof calls.$inferInsert>, event: string | null, now: Date): Promise<CallRow> {
    if (changes.status && changes.status !== call.status) assertMove(call.status, changes.status)
    const sequence = call.sequence + (event ? 1 : 0)
    const [after] = await tx.update(calls).set({ ...changes, sequence, updatedAt: now })
      .where(and(eq(calls.id, call.id), eq(calls.status, call.status), eq(calls.sequence, call.sequence))).returning()
    if (!after) throw new StaleCallError(`call ${call.id} changed under a transition from ${call.status}`)
    if (event) await this.announce(tx, after, event, now)
    return after
  }

  async announce(tx: Transaction, call: CallRow, type: string, now: Date): Promise<void> {
    await appendEvent(tx, { accountId: call.accountId, type, payload: { sequence: call.sequence, call: presentCall(call) }, createdAt: now })
  }

  /**
   * Ends every live call that is past its max duration by more than the grace period without the
   * carrier's word (a lost report, a carrier that never called back): `failed`, `carrier_error`,
   * not charged. Every call reaches a terminal state.
   */
  async sweep(now = this.context.clock.now()): Promise<number> {
    const graceMs = this.context.config.CALL_SWEEP_GRACE_SECONDS * 1000
    return this.context.db.transaction(async (tx) => {
      const stuck = await tx.select().from(calls).where(and(
        inArray(calls.status, ['queued', 'ringing', 'in_progress']),
        eq(calls.holdsSlot, true),
        sql`coalesce(${calls.answeredAt}, ${calls.ringingAt}, ${calls.updatedAt}) < ${now.toISOString()}::timestamptz
          - make_interval(secs => ${calls.maxDurationSeconds}::float8 / ${this.scale} + ${graceMs / 1000})`,
      )).orderBy(asc(calls.accountId)).limit(TICK_BATCH).for('update', { skipLocked: true })
      for (const call of stuck) {
        this.context.log.warn({ callId: call.id, status: call.status }, 'call swept: past its max duration with no word from the carrier')
        await this.end(tx, call, now, { status: 'failed', reason: 'carrier_error', talkSeconds: 0, durationSeconds: call.elapsedSeconds })
      }
      return stuck.length
    })
  }
}
