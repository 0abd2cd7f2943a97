import { pgTable, text, jsonb, timestamp, index } from 'drizzle-orm/pg-core'
import type { InferSelectModel } from 'drizzle-orm'
import { accounts } from './accounts.js'

/**
 * Outbox of customer-visible events (`alert.created`, …), written in the same transaction as the
 * thing they announce. The webhooks group will deliver from here, signed, without reworking the
 * producers; `payload` is the public JSON exactly as it will be delivered.
 */
export const events = pgTable('events', {
  id: text('id').primaryKey(),
  accountId: text('account_id').notNull().references(() => accounts.id),
  type: text('type').notNull(),
  payload: jsonb('payload').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
}, (table) => [
  index('events_account_created_idx').on(table.accountId, table.createdAt.desc(), table.id.desc()),
])

export type EventRow = InferSelectModel<typeof events>
