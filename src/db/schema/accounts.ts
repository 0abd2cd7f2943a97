import { pgTable, text, integer, bigint, jsonb, timestamp, check } from 'drizzle-orm/pg-core'
import { sql, type InferSelectModel } from 'drizzle-orm'
import type { Plan } from '../../plans.js'

export const accounts = pgTable('accounts', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  plan: text('plan').$type<Plan>().notNull(),
  /** Enterprise only: custom requests per hour; null means the plan's default. */
  hourlyLimit: integer('hourly_limit'),
  /** Enterprise only: custom requests per minute (burst); null means the plan's default. */
  burstLimit: integer('burst_limit'),
  /** Enterprise only: cents per minute of talk time; null means the plan's rate. */
  callRate: integer('call_rate'),
  /** Enterprise only: calls at once; null means the plan's limit. */
  concurrentCallLimit: integer('concurrent_call_limit'),
  /**
   * Current credit balance in cents, kept in step with the ledger: each ledger append updates it in
   * the same statement that locks the row, so concurrent appends serialise and reading is O(1).
   */
  creditBalance: bigint('credit_balance', { mode: 'number' }).notNull().default(0),
  creditBalanceUpdatedAt: timestamp('credit_balance_updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  /** The account's overrides of the security settings (src/settings.ts fills in the defaults). */
  securitySettings: jsonb('security_settings').$type<Record<string, unknown>>().notNull().default({}),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
}, (table) => [
  check('accounts_plan_check', sql`${table.plan} in ('free_trial', 'starter', 'professional', 'enterprise')`),
  check('accounts_limits_positive', sql`coalesce(${table.hourlyLimit}, 1) > 0 and coalesce(${table.burstLimit}, 1) > 0`),
  check('accounts_call_settings_positive', sql`coalesce(${table.callRate}, 1) > 0 and coalesce(${table.concurrentCallLimit}, 1) > 0`),
])

export type AccountRow = InferSelectModel<typeof accounts>
