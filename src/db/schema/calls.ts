import { pgTable, text, integer, jsonb, timestamp, index, boolean } from 'drizzle-orm/pg-core'
import { sql, type InferSelectModel } from 'drizzle-orm'
import { accounts } from './accounts.js'
import type { CarrierStep } from '../../calls/carrier.js'
import type { AnsweredBy, CallStatus, EndReason } from '../../calls/state-machine.js'

export interface TranscriptEntry {
  role: 'agent' | 'customer'
  text: string
  t_offset_ms: number
}

export interface CallAnalysis {
  summary: string
  outcome: 'success' | 'failure' | 'opt_out' | 'unknown'
  extracted: Record<string, unknown>
}

/**
 * A phone call an agent places. Its state advances only by compare-and-set transitions (status and
 * `sequence` as they were read), each in one transaction with its outbox event and, when it ends,
 * its charge. `due_at` + `pending` is the call's durable timer: the carrier's next report and when
 * it is due; every instance claims due calls with FOR UPDATE SKIP LOCKED, so none is advanced twice
 * and a restarted instance resumes what was in flight.
 */
export const calls = pgTable('calls', {
  id: text('id').primaryKey(),
  accountId: text('account_id').notNull().references(() => accounts.id),
  agentId: text('agent_id').notNull(),
  agentVersion: integer('agent_version').notNull(),
  contactId: text('contact_id'),
  campaignId: text('campaign_id'),
  to: text('to').notNull(),
  from: text('from').notNull(),
  direction: text('direction').$type<'outbound'>().notNull().default('outbound'),
  status: text('status').$type<CallStatus>().notNull(),
  endReason: text('end_reason').$type<EndReason>(),
  answeredBy: text('answered_by').$type<AnsweredBy>(),
  /** Holds one of the account's concurrent-call slots (placed, ringing or talking); false while it waits for one. */
  holdsSlot: boolean('holds_slot').notNull().default(false),
  /** At the limit when created: `reject` (429) or `queue` (wait for a slot). A scheduled call that falls due at the limit always waits. */
  onCapacity: text('on_capacity').$type<'reject' | 'queue'>().notNull().default('reject'),
  maxDurationSeconds: integer('max_duration_seconds').notNull(),
  /** Cents per minute, fixed when the call is created. */
  rate: integer('rate').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull(),
  scheduledAt: timestamp('scheduled_at', { withTimezone: true, precision: 3 }),
  ringingAt: timestamp('ringing_at', { withTimezone: true, precision: 3 }),
  answeredAt: timestamp('answered_at', { withTimezone: true, precision: 3 }),
  endedAt: timestamp('ended_at', { withTimezone: true, precision: 3 }),
  /** Simulated seconds from placing the call to its end; `billable_seconds` is the talk time. */
  durationSeconds: integer('duration_seconds'),
  billableSeconds: integer('billable_seconds'),
  /** Integer cents: ceil(billable_seconds × rate / 60). */
  cost: integer('cost'),
  transcript: jsonb('transcript').$type<TranscriptEntry[]>().notNull().default([]),
  analysis: jsonb('analysis').$type<CallAnalysis | null>(),
  variables: jsonb('variables').$type<Record<string, string>>().notNull().default({}),
  metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
  /** Events written for this call so far: each event's per-call `sequence`, and the CAS guard. */
  sequence: integer('sequence').notNull().default(0),
  /** Simulated seconds elapsed on the call's own timeline when the last report was applied. */
  elapsedSeconds: integer('elapsed_seconds').notNull().default(0),
  /** The carrier's next report and when it is due (null: nothing pending). */
  pending: jsonb('pending').$type<CarrierStep | null>(),
  dueAt: timestamp('due_at', { withTimezone: true, precision: 3 }),
  updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull(),
}, (table) => [
  index('calls_account_created_idx').on(table.accountId, table.createdAt.desc(), table.id.desc()),
  index('calls_account_status_created_idx').on(table.accountId, table.status, table.createdAt.desc(), table.id.desc()),
  index('calls_account_agent_created_idx').on(table.accountId, table.agentId, table.createdAt.desc(), table.id.desc()),
  index('calls_account_contact_created_idx').on(table.accountId, table.contactId, table.createdAt.desc(), table.id.desc()),
  index('calls_account_campaign_created_idx').on(table.accountId, table.campaignId, table.createdAt.desc(), table.id.desc()),
  index('calls_account_to_created_idx').on(table.accountId, table.to, table.createdAt.desc(), table.id.desc()),
  // The timer: only calls with something pending are in it, so it stays as small as the live calls.
  index('calls_due_idx').on(table.dueAt).where(sql`${table.dueAt} is not null`),
  // Live calls per account (concurrency, agent_in_use, the sweeper): small for the same reason.
  index('calls_live_idx').on(table.accountId, table.agentId).where(sql`${table.status} in ('scheduled', 'queued', 'ringing', 'in_progress')`),
])

export type CallRow = InferSelectModel<typeof calls>
