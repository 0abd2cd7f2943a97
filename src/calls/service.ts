import { and, eq, inArray, sql, type SQL } from 'drizzle-orm'
import { accounts, calls, contacts, type CallRow, type ContactRow } from '../db/schema/index.js'
import type { Transaction } from '../db/executor.js'
import { ApiError, invalidFields, type FieldError } from '../errors.js'
import { newId } from '../ids.js'
import { callRateFor, concurrentCallsFor } from '../plans.js'
import { createdRange, listJsonPage, type ListQuery } from '../resource/list-page.js'
import { findOwned } from '../resource/find-owned.js'
import { parseTimestamp } from '../http/problem.js'
import { normalizePhone } from '../contacts/normalize.js'
import { isE164 } from '../agents/validate.js'
import type { ServiceContext } from '../service-context.js'
import type { Carrier } from './carrier.js'
import { SimulatedCarrier } from './simulator.js'
import { isLive, LIVE_STATUSES, type CallStatus } from './state-machine.js'
import { CallLifecycle, TICK_BATCH } from './lifecycle.js'
import { PUBLIC_CALL_JSON, presentCall } from './present.js'
import { contactValues, resolveVariables } from './variables.js'

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
/** What a 429 `concurrency_limit` suggests waiting: about one short call. */
const CAPACITY_RETRY_AFTER_SECONDS = 5


/**
 * Calls through the API: place one (checks, slot, first carrier step), list, read, hang up, and
 * the account's slots. What then happens over time — the carrier's reports, the end and its
 * charge, the sweep — is the lifecycle's (lifecycle.ts), which every instance ticks.
 */
export class CallService {
  readonly lifecycle: CallLifecycle

  constructor(private readonly context: ServiceContext, carrier: Carrier = new SimulatedCarrier()) {
    const lifecycle = new CallLifecycle(context, carrier)
    this.lifecycle = lifecycle
    context.scheduler.register({
      name: 'calls-due',
      lockId: 710_005,
      intervalMs: context.config.CALL_TICK_MS,
      // Every instance claims what is due; SKIP LOCKED shares the work out.
      exclusive: false,
      run: async () => { while ((await lifecycle.advanceDue()) === TICK_BATCH && !context.stopping.aborted); },
    })
    context.scheduler.register({
      name: 'calls-sweeper',
      lockId: 710_006,
      intervalMs: Math.max(1, Math.min(30, context.config.CALL_SWEEP_GRACE_SECONDS)) * 1000,
      exclusive: false,
      run: async () => { await lifecycle.sweep() },
    })
  }

  async create(accountId: string, input: NewCallInput) {
    if ((input.contact_id === undefined) === (input.to === undefined)) {
      throw invalidFields([{ field: '/body', message: 'must name exactly one of contact_id and to' }])
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
    if (errors.length > 0) throw invalidFields(errors)
    if (scheduledAt && scheduledAt <= now) scheduledAt = null

    const row = await this.context.db.transaction(async (tx) => {
      const account = await this.lifecycle.lockAccount(tx, accountId)
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
      const slot = (await this.lifecycle.slotsHeld(tx, accountId)) < concurrentCallsFor(account)
      if (!slot && base.onCapacity === 'reject') {
        throw new ApiError('concurrency_limit', `This account may have ${concurrentCallsFor(account)} call(s) at once, and has that many live; retry later, or send on_capacity: "queue" to wait for a free slot.`, {
          headers: { 'retry-after': String(CAPACITY_RETRY_AFTER_SECONDS) },
        })
      }
      const first = slot ? this.lifecycle.carrier.place(this.lifecycle.placed(base)) : null
      const [queued] = await tx.insert(calls).values({
        ...base, status: 'queued', holdsSlot: slot, sequence: 1, pending: first, dueAt: first ? new Date(now.getTime() + this.lifecycle.realMs(first.after_seconds)) : null,
      }).returning()
      await this.lifecycle.announce(tx, queued!, 'call.queued', now)
      return queued!
    })
    return presentCall(row)
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
      if (!to) throw invalidFields([{ field: '/querystring/to', message: 'must be a phone number in E.164' }])
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
    return listJsonPage(this.context.db, {
      table: calls,
      json: PUBLIC_CALL_JSON,
      conditions,
      page: query,
      filters: { status: query.status, agent_id: query.agent_id, contact_id: query.contact_id, campaign_id: query.campaign_id, to, ...created.filters },
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
  async hangup(accountId: string, callId: string) {
    const outcome = await this.context.db.transaction(async (tx): Promise<{ alreadyEnded: boolean; row: CallRow }> => {
      const now = this.context.clock.now()
      let call = await findOwned<CallRow>(tx, calls, accountId, callId, { label: LABEL, forUpdate: true })
      while (isLive(call.status) && call.dueAt && call.dueAt <= now && call.pending && call.pending.action.type !== 'dial') {
        call = await this.lifecycle.applyPending(tx, call, call.dueAt)
      }
      // Not thrown here: the reports just applied must commit, whatever this request answers.
      if (!isLive(call.status)) return { alreadyEnded: true, row: call }
      this.lifecycle.carrier.hangup(this.lifecycle.placed(call))
      if (call.status === 'in_progress') {
        const talk = this.lifecycle.talkedSeconds(call, now)
        return { alreadyEnded: false, row: await this.lifecycle.end(tx, call, now, { status: 'completed', reason: 'api_hangup', talkSeconds: talk, durationSeconds: call.elapsedSeconds + talk }) }
      }
      return { alreadyEnded: false, row: await this.lifecycle.end(tx, call, now, { status: 'canceled', reason: 'canceled', talkSeconds: 0, durationSeconds: call.status === 'ringing' ? call.elapsedSeconds : 0 }) }
    })
    if (outcome.alreadyEnded) {
      throw new ApiError('call_already_ended', `Call ${callId} already ended (${outcome.row.status}).`, { extensions: { call_status: outcome.row.status } })
    }
    return presentCall(outcome.row)
  }
}
