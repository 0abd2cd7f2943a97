import { and, eq, sql } from 'drizzle-orm'
import { accounts, creditTransactions, type AccountRow, type CreditTransactionRow, type CreditTransactionType } from '../db/schema/index.js'
import type { Transaction } from '../db/executor.js'
import { ApiError } from '../errors.js'
import { newId } from '../ids.js'
import { CURRENCY } from '../plans.js'
import { recordAudit, type Actor } from '../audit/record.js'
import { listPage, type ListQuery } from '../resource/list-page.js'
import type { ServiceContext } from '../service-context.js'

declare module '../service-context.js' {
  interface ServiceRegistry {
    credits: CreditService
  }
}

export interface LedgerEntry {
  accountId: string
  type: CreditTransactionType
  /** Signed integer in cents. */
  amount: number
  description: string
  /** The call a `call_charge` pays for (at most one charge per call). */
  callId?: string
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
    callId: entry.callId ?? null,
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

/** Largest single grant an operator may make: $1,000,000.00, far beyond any plausible mistake-free need. */
export const MAX_GRANT_CENTS = 100_000_000

/** Credits: the balance and its append-only ledger, in integer cents. Read-only through the API. */
export class CreditService {
  constructor(private readonly context: ServiceContext) {}

  async balance(accountId: string) {
    const [account] = await this.context.db.select({ creditBalance: accounts.creditBalance, creditBalanceUpdatedAt: accounts.creditBalanceUpdatedAt })
      .from(accounts).where(eq(accounts.id, accountId))
    if (!account) throw new ApiError('not_found', 'Account not found.')
    return presentBalance(account)
  }

  transactions(accountId: string, page: ListQuery) {
    return listPage({
      columns: creditTransactions,
      page,
      fetch: ({ after, orderBy, limit }) => this.context.db.select().from(creditTransactions)
        .where(and(eq(creditTransactions.accountId, accountId), after)).orderBy(...orderBy).limit(limit),
      present: presentCreditTransaction,
    })
  }

  /**
   * An operator's credit grant (`credits grant`): one `grant` ledger entry and its audit entry, in
   * one transaction. The account must exist (404 otherwise), the amount is positive integer cents.
   */
  async grant(accountId: string, amount: number, description: string, actor: Actor) {
    if (!Number.isSafeInteger(amount) || amount < 1 || amount > MAX_GRANT_CENTS) {
      throw new ApiError('validation_failed', `The amount is integer cents from 1 to ${MAX_GRANT_CENTS}.`)
    }
    return this.context.db.transaction(async (tx) => {
      const [account] = await tx.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, accountId)).for('update')
      if (!account) throw new ApiError('not_found', `No account ${accountId}.`)
      const entry = await appendLedgerEntry(tx, { accountId, type: 'grant', amount, description })
      await recordAudit(tx, actor, {
        accountId, action: 'credits.granted', targetType: 'account', targetId: accountId, before: null, after: presentCreditTransaction(entry),
      })
      return presentCreditTransaction(entry)
    })
  }
}
