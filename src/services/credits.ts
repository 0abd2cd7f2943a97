import { and, eq, sql } from 'drizzle-orm'
import { accounts, creditTransactions, type AccountRow, type CreditTransactionRow, type CreditTransactionType } from '../db/schema/index.js'
import type { Executor, Transaction } from '../db/executor.js'
import { ApiError } from '../errors.js'
import { newId } from '../ids.js'
import { CURRENCY } from '../plans.js'
import { afterCursor, newestFirst, toPage, type PageRequest } from '../pagination.js'

export interface LedgerEntry {
  accountId: string
  type: CreditTransactionType
  /** Signed integer in cents. */
  amount: number
  description: string
}

/**
 * Appends one ledger entry. Must run inside a transaction: the balance update locks the account
 * row, so concurrent appends serialise and each `balance_after` follows the one before it.
 */
export async function appendLedgerEntry(tx: Transaction, entry: LedgerEntry): Promise<CreditTransactionRow> {
  if (!Number.isSafeInteger(entry.amount)) throw new RangeError('ledger amounts are integers in cents')
  const [balance] = await tx.update(accounts)
    .set({ creditBalance: sql`${accounts.creditBalance} + ${entry.amount}`, creditBalanceUpdatedAt: sql`now()` })
    .where(eq(accounts.id, entry.accountId))
    .returning({ creditBalance: accounts.creditBalance })
  if (!balance) throw new Error(`account ${entry.accountId} does not exist`)
  const [row] = await tx.insert(creditTransactions).values({
    id: newId('creditTransaction'),
    accountId: entry.accountId,
    type: entry.type,
    amount: entry.amount,
    balanceAfter: balance.creditBalance,
    description: entry.description,
  }).returning()
  return row!
}

export function presentBalance(account: Pick<AccountRow, 'creditBalance' | 'creditBalanceUpdatedAt'>) {
  return {
    balance: account.creditBalance,
    currency: CURRENCY,
    updated_at: account.creditBalanceUpdatedAt.toISOString(),
  }
}

export async function getBalance(db: Executor, accountId: string) {
  const [account] = await db.select({ creditBalance: accounts.creditBalance, creditBalanceUpdatedAt: accounts.creditBalanceUpdatedAt })
    .from(accounts).where(eq(accounts.id, accountId))
  if (!account) throw new ApiError('not_found', 'Account not found.')
  return presentBalance(account)
}

export function presentCreditTransaction(row: CreditTransactionRow) {
  return {
    id: row.id,
    type: row.type,
    amount: row.amount,
    balance_after: row.balanceAfter,
    currency: CURRENCY,
    description: row.description,
    created_at: row.createdAt.toISOString(),
  }
}

export async function listCreditTransactions(db: Executor, accountId: string, page: PageRequest) {
  const rows = await db.select().from(creditTransactions)
    .where(and(eq(creditTransactions.accountId, accountId), afterCursor(creditTransactions, page.cursor)))
    .orderBy(...newestFirst(creditTransactions))
    .limit(page.limit + 1)
  return toPage(rows, page.limit, presentCreditTransaction)
}
