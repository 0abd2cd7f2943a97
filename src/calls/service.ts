import { and, asc, count, eq, inArray, isNotNull, lte, sql, type SQL } from 'drizzle-orm'
import type { PgColumn } from 'drizzle-orm/pg-core'
import { rowsOf } from '../db/rows.js'
import { accounts, agents, agentVersions, calls, contacts, type CallRow, type ContactRow } from '../db/schema/index.js'
import type { Transaction } from '../db/executor.js'
import { ApiError, type FieldError } from '../errors.js'
import { newId } from '../ids.js'
import { appendEvent } from '../outbox/outbox.js'
import { appendLedgerEntry } from '../credits/service.js'
import { callRateFor, concurrentCallsFor } from '../plans.js'
import { createdRange, listPage, type ListQuery } from '../resource/list-page.js'
import { findOwned } from '../resource/find-owned.js'
import { parseTimestamp } from '../http/problem.js'
import { normalizePhone } from '../contacts/normalize.js'
import { isE164 } from '../agents/validate.js'
import type { AgentConfig } from '../agents/config.js'
import type { Actor } from '../audit/record.js'
import type { ServiceContext } from '../service-context.js'
import type { Carrier, CarrierReport, CarrierStep, PlacedCall } from './carrier.js'
import { SimulatedCarrier } from './simulator.js'
import { assertMove, isLive, LIVE_STATUSES, type CallStatus, type EndReason } from './state-machine.js'
import { converse } from './conversation.js'
import { affordableSeconds, costCents } from './billing.js'

declare module '../service-context.js' {
  interface ServiceRegistry {
    calls: CallService
  }
}

export interface NewCallInput {
  agent_id: string
  contact_id?: string | undefined
  to?: string | undefined
  from?: string | undefined
  variables?: Record<string, string> | undefined
  metadata?: Record<string, string> | undefined
  scheduled_at?: string | undefined
  max_duration_seconds?: number | undefined
  on_capacity?: 'reject' | 'queue' | undefined
}

export interface CallListQuery extends ListQuery {
  status?: CallStatus | undefined
  agent_id?: string | undefined
  contact_id?: string | undefined
  campaign_id?: string | undefined
  to?: string | undefined
  created_after?: string | undefined
  created_before?: string | undefined
}

const LABEL = 'call'
/** How far ahead a call may be scheduled. */
const MAX_SCHEDULE_AHEAD_MS = 30 * 24 * 3600 * 1000
/**
 * Calls one tick's transaction claims at most; the tick goes on at once while batches come back
 * full. Small enough that a transition commits soon after it is stamped (a 200-call batch let a
 * reader see one over a second after its due time), large enough to keep commits few.
 */
const TICK_BATCH = 50
/** What a 429 `concurrency_limit` suggests waiting: about one short call. */
const CAPACITY_RETRY_AFTER_SECONDS = 5
/** Who changes a contact that opted out on a call. */
const CARRIER_ACTOR: Actor = { id: 'system:calls', ip: null }

type PublicCallRow = Omit<CallRow, 'accountId' | 'holdsSlot' | 'onCapacity' | 'sequence' | 'elapsedSeconds' | 'pending' | 'dueAt' | 'updatedAt'>

/** ISO 8601 UTC with milliseconds, as Date#toISOString writes it, formatted by PostgreSQL. */
const isoText = (column: PgColumn) => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`

/**
 * The public call object, built by PostgreSQL for lists: a page of 100 calls spent most of its
 * CPU decoding rows — drizzle's per-column mapping and eight timestamps a row parsed into Dates
 * and formatted back (2.2 ms of service CPU a page). Here each row arrives already in its public
 * shape; `presentCall` is the same object for one call read through drizzle (a test holds the two
 * equal).
 */
const PUBLIC_CALL_SQL = sql`${calls.id} as id, ${calls.agentId} as agent_id, ${calls.agentVersion} as agent_version,
  ${calls.contactId} as contact_id, ${calls.campaignId} as campaign_id, ${calls.to} as "to", ${calls.from} as "from",
  ${calls.direction} as direction, ${calls.status} as status, ${calls.endReason} as end_reason, ${calls.answeredBy} as answered_by,
  ${isoText(calls.createdAt)} as created_at, ${isoText(calls.scheduledAt)} as scheduled_at, ${isoText(calls.ringingAt)} as ringing_at,
  ${isoText(calls.answeredAt)} as answered_at, ${isoText(calls.endedAt)} as ended_at, ${calls.durationSeconds} as duration_seconds,
  ${calls.billableSeconds} as billable_seconds, ${calls.rate} as rate, ${calls.cost} as cost, ${calls.maxDurationSeconds} as max_duration_seconds,
  ${calls.transcript} as transcript, ${calls.analysis} as analysis, ${calls.variables} as variables, ${calls.metadata} as metadata`

export function presentCall(row: PublicCallRow) {
  const at = (date: Date | null) => date?.toISOString() ?? null
  return {
    id: row.id,
    agent_id: row.agentId,
    agent_version: row.agentVersion,
    contact_id: row.contactId,
    campaign_id: row.campaignId,
    to: row.to,
    from: row.from,
    direction: row.direction,
    status: row.status,
    end_reason: row.endReason,
    answered_by: row.answeredBy,
    created_at: row.createdAt.toISOString(),
    scheduled_at: at(row.scheduledAt),
    ringing_at: at(row.ringingAt),
    answered_at: at(row.answeredAt),
    ended_at: at(row.endedAt),
    duration_seconds: row.durationSeconds,
    billable_seconds: row.billableSeconds,
    rate: row.rate,
    cost: row.cost,
    max_duration_seconds: row.maxDurationSeconds,
    transcript: row.transcript,
    analysis: row.analysis,
    variables: row.variables,
    metadata: row.metadata,
  }
}

export type PublicCall = ReturnType<typeof presentCall>

function invalid(errors: FieldError[]): ApiError {
  return new ApiError('validation_failed', `${errors[0]!.field} ${errors[0]!.message}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}.`, { errors })
}

/** The values a contact offers agent variables: its fields, then its custom fields. */
function contactValues(contact: ContactRow | null, to: string): Record<string, string> {
  if (!contact) return { phone: to }
  const values: Record<string, string> = {}
  for (const [name, value] of Object.entries(contact.customFields)) values[name] = String(value)
  const fields = { phone: contact.phone, first_name: contact.firstName, last_name: contact.lastName, email: contact.email, timezone: contact.timezone, external_id: contact.externalId }
  for (const [name, value] of Object.entries(fields)) if (value !== null) values[name] = value
  return values
}

/**
 * The agent's declared variables, filled from the request, then the contact, then their defaults.
 * A variable the agent does not declare, or a required one nobody supplies, is a 400 naming it.
 */
export function resolveVariables(declared: AgentConfig['variables'], offered: Record<string, string>, given: Record<string, string>): Record<string, string> {
  const names = new Set(declared.map((variable) => variable.name))
  const errors: FieldError[] = Object.keys(given).filter((name) => !names.has(name))
    .map((name) => ({ field: `/body/variables/${name}`, message: 'is not a variable this agent declares' }))
  const resolved: Record<string, string> = {}
  for (const variable of declared) {
    const value = given[variable.name] ?? offered[variable.name] ?? variable.default
    if (value === undefined) errors.push({ field: `/body/variables/${variable.name}`, message: 'is required by the agent and neither the request nor the contact gives it' })
    else resolved[variable.name] = value
  }
  if (errors.length > 0) throw invalid(errors)
  return resolved
}

class StaleCallError extends Error {
  override readonly name = 'StaleCallError'
}

/**
 * Calls: placed on the carrier, advanced by its reports as compare-and-set transitions (each with
 * its outbox event in the same transaction), charged by the second when they end. The carrier's
 * next report is the call's durable timer (`pending` + `due_at`); `advanceDue` — run by every
 * instance every CALL_TICK_MS — claims due calls with FOR UPDATE SKIP LOCKED.
 */
export class CallService {
  readonly carrier: Carrier
  private readonly scale: number

  constructor(private readonly context: ServiceContext, carrier: Carrier = new SimulatedCarrier()) {
    this.carrier = carrier
    this.scale = context.config.SIMULATED_CARRIER_TIME_SCALE
    context.scheduler.register({
      name: 'calls-due',
      lockId: 710_005,
      intervalMs: context.config.CALL_TICK_MS,
      // Every instance claims what is due; SKIP LOCKED shares the work out.
      exclusive: false,
      run: async () => { while ((await this.advanceDue()) === TICK_BATCH && !context.stopping.aborted); },
    })
    context.scheduler.register({
      name: 'calls-sweeper',
      lockId: 710_006,
      intervalMs: Math.max(1, Math.min(30, context.config.CALL_SWEEP_GRACE_SECONDS)) * 1000,
      exclusive: false,
      run: async () => { await this.sweep() },
    })
  }

  /** Real milliseconds for simulated seconds. */
  private realMs(seconds: number): number {
    return (seconds * 1000) / this.scale
  }

  private placed(call: Pick<CallRow, 'id' | 'to' | 'maxDurationSeconds'>): PlacedCall {
    return { id: call.id, to: call.to, maxDurationSeconds: call.maxDurationSeconds }
  }

  async create(accountId: string, input: NewCallInput, _actor: Actor) {
    if ((input.contact_id === undefined) === (input.to === undefined)) {
      throw invalid([{ field: '/body', message: 'must name exactly one of contact_id and to' }])
    }
    const errors: FieldError[] = []
    let to: string | null = null
    if (input.to !== undefined) {
      to = normalizePhone(input.to, undefined)
      if (!to) errors.push({ field: '/body/to', message: 'must be a phone number in E.164 (+14155550123)' })
    }
    if (input.from !== undefined && !isE164(input.from)) errors.push({ field: '/body/from', message: 'must be a phone number in E.164 (+14155550123)' })
    const now = this.context.clock.now()
    let scheduledAt: Date | null = input.scheduled_at === undefined ? null : parseTimestamp(input.scheduled_at, '/body/scheduled_at')
    if (scheduledAt && scheduledAt.getTime() - now.getTime() > MAX_SCHEDULE_AHEAD_MS) errors.push({ field: '/body/scheduled_at', message: 'may be at most 30 days ahead' })
    if (errors.length > 0) throw invalid(errors)
    if (scheduledAt && scheduledAt <= now) scheduledAt = null

    const row = await this.context.db.transaction(async (tx) => {
      const account = await this.lockAccount(tx, accountId)
      const agent = await this.context.services.agents.find(accountId, input.agent_id, 'agent_not_found', tx)
      let contact: ContactRow | null = null
      if (input.contact_id !== undefined) {
        contact = await findOwned<ContactRow>(tx, contacts, accountId, input.contact_id, { label: 'contact', notFound: 'contact_not_found' })
        to = contact.phone
      } else {
        ;[contact = null] = await tx.select().from(contacts).where(and(eq(contacts.accountId, accountId), eq(contacts.phone, to!))).limit(1)
      }
      if (contact?.doNotCall) {
        throw new ApiError('do_not_call', `Contact ${contact.id} (${contact.phone}) is marked do-not-call.`, { extensions: { contact_id: contact.id } })
      }
      const variables = resolveVariables(agent.config.variables, contactValues(contact, to!), input.variables ?? {})
      const rate = callRateFor(account)
      if (account.creditBalance < rate) {
        throw new ApiError('insufficient_credits', `A call needs at least one minute of credit (${rate} cents at this account's rate); the balance is ${account.creditBalance} cents.`)
      }
      const id = newId('call')
      const base = {
        id, accountId, agentId: agent.id, agentVersion: agent.version, contactId: contact?.id ?? null, to: to!, from: input.from ?? this.context.config.DEFAULT_CALLER_ID,
        onCapacity: input.on_capacity ?? 'reject', maxDurationSeconds: input.max_duration_seconds ?? agent.config.max_duration_seconds, rate,
        variables, metadata: input.metadata ?? {}, createdAt: now, updatedAt: now, scheduledAt,
      } as const
      if (scheduledAt) {
        const [scheduled] = await tx.insert(calls).values({ ...base, status: 'scheduled', pending: { action: { type: 'dial' }, after_seconds: 0 }, dueAt: scheduledAt }).returning()
        return scheduled!
      }
      const slot = (await this.slotsHeld(tx, accountId)) < concurrentCallsFor(account)
      if (!slot && base.onCapacity === 'reject') {
        throw new ApiError('concurrency_limit', `This account may have ${concurrentCallsFor(account)} call(s) at once, and has that many live; retry later, or send on_capacity: "queue" to wait for a free slot.`, {
          headers: { 'retry-after': String(CAPACITY_RETRY_AFTER_SECONDS) },
        })
      }
      const first = slot ? this.carrier.place(this.placed(base)) : null
      const [queued] = await tx.insert(calls).values({
        ...base, status: 'queued', holdsSlot: slot, sequence: 1, pending: first, dueAt: first ? new Date(now.getTime() + this.realMs(first.after_seconds)) : null,
      }).returning()
      await this.announce(tx, queued!, 'call.queued', now)
      return queued!
    })
    return presentCall(row)
  }

  /**
   * The account row's lock: it serialises the account's slot and balance decisions. NO KEY UPDATE,
   * not UPDATE: every insert that references the account (a call, an event, a ledger entry) takes
   * KEY SHARE on the row for its foreign key, which FOR UPDATE conflicts with — two instances each
   * holding one and asking for the other deadlocked (17 times in a 400-call bench run).
   */
  private async lockAccount(tx: Transaction, accountId: string) {
    const [account] = await tx.select().from(accounts).where(eq(accounts.id, accountId)).for('no key update')
    if (!account) throw new ApiError('not_found', 'Account not found.')
    return account
  }

  private async slotsHeld(tx: Transaction, accountId: string): Promise<number> {
    const [held] = await tx.select({ n: count() }).from(calls)
      .where(and(eq(calls.accountId, accountId), inArray(calls.status, [...LIVE_STATUSES]), eq(calls.holdsSlot, true)))
    return held!.n
  }

  async concurrency(accountId: string) {
    const { db } = this.context
    const [account] = await db.select().from(accounts).where(eq(accounts.id, accountId))
    if (!account) throw new ApiError('not_found', 'Account not found.')
    const [counts] = await db.select({
      active: sql<number>`count(*) filter (where ${calls.holdsSlot})::int`,
      queued: sql<number>`count(*) filter (where ${calls.status} = 'queued' and not ${calls.holdsSlot})::int`,
    }).from(calls).where(and(eq(calls.accountId, accountId), inArray(calls.status, [...LIVE_STATUSES])))
    return { limit: concurrentCallsFor(account), active: counts?.active ?? 0, queued: counts?.queued ?? 0 }
  }

  async list(accountId: string, query: CallListQuery) {
    const created = createdRange(calls.createdAt, query)
    let to: string | undefined
    if (query.to !== undefined) {
      to = normalizePhone(query.to, undefined) ?? undefined
      if (!to) throw invalid([{ field: '/querystring/to', message: 'must be a phone number in E.164' }])
    }
    const conditions: (SQL | undefined)[] = [
      eq(calls.accountId, accountId),
      query.status !== undefined ? eq(calls.status, query.status) : undefined,
      query.agent_id !== undefined ? eq(calls.agentId, query.agent_id) : undefined,
      query.contact_id !== undefined ? eq(calls.contactId, query.contact_id) : undefined,
      query.campaign_id !== undefined ? eq(calls.campaignId, query.campaign_id) : undefined,
      to !== undefined ? eq(calls.to, to) : undefined,
      ...created.conditions,
    ]
    return listPage({
      columns: calls,
      page: query,
      filters: { status: query.status, agent_id: query.agent_id, contact_id: query.contact_id, campaign_id: query.campaign_id, to, ...created.filters },
      fetch: async ({ after, orderBy, limit }) => {
        const result = await this.context.db.execute(sql`select ${PUBLIC_CALL_SQL} from ${calls}
          where ${and(...conditions, after)} order by ${sql.join(orderBy, sql`, `)} limit ${limit}`)
        // The keyset position of each row, for the next page's cursor.
        return rowsOf<PublicCall>(result).map((row) => ({ ...row, createdAt: new Date(row.created_at), id: row.id }))
      },
      present: ({ createdAt: _position, ...call }) => call,
    })
  }

  async get(accountId: string, callId: string) {
    return presentCall(await findOwned<CallRow>(this.context.db, calls, accountId, callId, { label: LABEL }))
  }

  /** Whether any live call runs this agent (an agent in use cannot be deleted). */
  async agentInUse(tx: Transaction, accountId: string, agentId: string): Promise<boolean> {
    const [live] = await tx.select({ id: calls.id }).from(calls)
      .where(and(eq(calls.accountId, accountId), eq(calls.agentId, agentId), inArray(calls.status, [...LIVE_STATUSES]))).limit(1)
    return live !== undefined
  }

  /**
   * Hangs up: a call not yet answered is canceled; a call in progress completes with `api_hangup`,
   * charged for the seconds it ran. Whatever the carrier was due to report before now is applied
   * first, so a call that in truth already ended answers 409 `call_already_ended`.
   */
  async hangup(accountId: string, callId: string, _actor: Actor) {
    const outcome = await this.context.db.transaction(async (tx): Promise<{ alreadyEnded: boolean; row: CallRow }> => {
      const now = this.context.clock.now()
      let call = await findOwned<CallRow>(tx, calls, accountId, callId, { label: LABEL, forUpdate: true })
      while (isLive(call.status) && call.dueAt && call.dueAt <= now && call.pending && call.pending.action.type !== 'dial') {
        call = await this.applyPending(tx, call, call.dueAt)
      }
      // Not thrown here: the reports just applied must commit, whatever this request answers.
      if (!isLive(call.status)) return { alreadyEnded: true, row: call }
      this.carrier.hangup(this.placed(call))
      if (call.status === 'in_progress') {
        const ran = Math.floor(((now.getTime() - call.answeredAt!.getTime()) * this.scale) / 1000)
        const talk = Math.min(ran, call.maxDurationSeconds)
        return { alreadyEnded: false, row: await this.end(tx, call, now, { status: 'completed', reason: 'api_hangup', talkSeconds: talk, durationSeconds: call.elapsedSeconds + talk }) }
      }
      return { alreadyEnded: false, row: await this.end(tx, call, now, { status: 'canceled', reason: 'canceled', talkSeconds: 0, durationSeconds: call.status === 'ringing' ? call.elapsedSeconds : 0 }) }
    })
    if (outcome.alreadyEnded) {
      throw new ApiError('call_already_ended', `Call ${callId} already ended (${outcome.row.status}).`, { extensions: { call_status: outcome.row.status } })
    }
    return presentCall(outcome.row)
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
  private async applyPending(tx: Transaction, call: CallRow, dueAt: Date): Promise<CallRow> {
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

  private schedule(next: CarrierStep | null, from: Date): Pick<CallRow, 'pending' | 'dueAt'> {
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
  private async end(tx: Transaction, call: CallRow, now: Date, outcome: { status: CallStatus; reason: EndReason | null; talkSeconds: number; durationSeconds: number; optOut?: boolean }): Promise<CallRow> {
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
  private async move(tx: Transaction, call: CallRow, changes: Partial<typeof calls.$inferInsert>, event: string | null, now: Date): Promise<CallRow> {
    if (changes.status && changes.status !== call.status) assertMove(call.status, changes.status)
    const sequence = call.sequence + (event ? 1 : 0)
    const [after] = await tx.update(calls).set({ ...changes, sequence, updatedAt: now })
      .where(and(eq(calls.id, call.id), eq(calls.status, call.status), eq(calls.sequence, call.sequence))).returning()
    if (!after) throw new StaleCallError(`call ${call.id} changed under a transition from ${call.status}`)
    if (event) await this.announce(tx, after, event, now)
    return after
  }

  private async announce(tx: Transaction, call: CallRow, type: string, now: Date): Promise<void> {
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

export type { CarrierReport }
