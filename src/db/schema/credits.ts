import { uniqueIndex, pgTable, text, bigint, timestamp, index, check } from 'drizzle-orm/pg-core'
import { sql, type InferSelectModel } from 'drizzle-orm'
import { accounts } from './accounts.js'

export const CREDIT_TRANSACTION_TYPES = ['grant', 'purchase', 'usage', 'refund', 'adjustment', 'call_charge'] as const
export type CreditTransactionType = (typeof CREDIT_TRANSACTION_TYPES)[number]

/**
 * Append-only credit ledger (a trigger refuses UPDATE and DELETE). Amounts are integers in the
 * smallest currency unit (cents); `balance_after` is the running balance, so the balance is the
 * newest row's, never a sum over the whole history.
 */
export const creditTransactions = pgTable('credit_transactions', {
  id: text('id').primaryKey(),
  accountId: text('account_id').notNull().references(() => accounts.id),
  type: text('type').$type<CreditTransactionType>().notNull(),
  amount: bigint('amount', { mode: 'number' }).notNull(),
  balanceAfter: bigint('balance_after', { mode: 'number' }).notNull(),
  description: text('description').notNull(),
  /** The call a `call_charge` pays for. */
  callId: text('call_id'),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
}, (table) => [
  index('credit_transactions_account_created_idx').on(table.accountId, table.createdAt.desc(), table.id.desc()),
  check('credit_transactions_type_check', sql`${table.type} in ('grant', 'purchase', 'usage', 'refund', 'adjustment', 'call_charge')`),
  // One charge per call, whatever retries or instances do.
  uniqueIndex('credit_transactions_call_unique').on(table.callId).where(sql`${table.callId} is not null`),
])

export type CreditTransactionRow = InferSelectModel<typeof creditTransactions>
