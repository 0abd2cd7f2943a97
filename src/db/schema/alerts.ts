import { pgTable, text, jsonb, timestamp, index, uniqueIndex } from 'drizzle-orm/pg-core'
import type { InferSelectModel } from 'drizzle-orm'
import { accounts } from './accounts.js'

/**
 * Security alerts raised by the detectors. `dedupe_key` (unique per account) makes a detector
 * idempotent: re-evaluating the same window, on this instance or another, raises nothing new.
 */
export const alerts = pgTable('alerts', {
  id: text('id').primaryKey(),
  accountId: text('account_id').notNull().references(() => accounts.id),
  type: text('type').notNull(),
  severity: text('severity').notNull(),
  keyId: text('key_id'),
  details: jsonb('details').notNull(),
  dedupeKey: text('dedupe_key').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  acknowledgedAt: timestamp('acknowledged_at', { withTimezone: true, precision: 3 }),
  /** Key id that acknowledged it. */
  acknowledgedBy: text('acknowledged_by'),
}, (table) => [
  uniqueIndex('alerts_account_dedupe_unique').on(table.accountId, table.dedupeKey),
  index('alerts_account_created_idx').on(table.accountId, table.createdAt.desc(), table.id.desc()),
])

export type AlertRow = InferSelectModel<typeof alerts>
