import { and, asc, count, eq, gt, or } from 'drizzle-orm'
import { accounts, type AccountRow } from '../db/schema/index.js'
import { ApiError } from '../errors.js'
import { newId } from '../ids.js'
import { FREE_TRIAL_GRANT_CENTS, callRateFor, concurrentCallsFor, limitsFor, type Plan } from '../plans.js'
import { SCOPES } from '../scopes.js'
import { appendLedgerEntry } from '../credits/service.js'
import { recordAudit, type Actor } from '../audit/record.js'
import { presentKey } from '../keys/service.js'
import type { ServiceContext } from '../service-context.js'

declare module '../service-context.js' {
  interface ServiceRegistry {
    accounts: AccountService
  }
}

export interface NewAccountInput {
  name: string
  plan: Plan
  /** Enterprise only. */
  hourlyLimit?: number | undefined
  burstLimit?: number | undefined
  /** Enterprise only: cents per minute of talk time, and calls at once. */
  callRate?: number | undefined
  concurrentCallLimit?: number | undefined
}

export interface AccountPatch {
  name?: string | undefined
  plan?: Plan | undefined
  hourlyLimit?: number | null | undefined
  burstLimit?: number | null | undefined
  callRate?: number | null | undefined
  concurrentCallLimit?: number | null | undefined
}

export function presentAccount(row: AccountRow) {
  const limits = limitsFor(row)
  return {
    id: row.id,
    name: row.name,
    plan: row.plan,
    limits: { requests_per_hour: limits.hourly, burst_per_minute: limits.burst },
    calls: { rate_cents_per_minute: callRateFor(row), concurrent_calls: concurrentCallsFor(row) },
    created_at: row.createdAt.toISOString(),
  }
}

export type PublicAccount = ReturnType<typeof presentAccount>

type CustomLimits = Pick<NewAccountInput, 'hourlyLimit' | 'burstLimit' | 'callRate' | 'concurrentCallLimit'>

const LIMIT_NAMES: Record<keyof CustomLimits, string> = {
  hourlyLimit: 'hourly limit', burstLimit: 'burst limit', callRate: 'call rate', concurrentCallLimit: 'concurrent-call limit',
}

function assertLimitsFitPlan(input: { plan: Plan } & CustomLimits): void {
  const given = (Object.keys(LIMIT_NAMES) as (keyof CustomLimits)[]).filter((name) => input[name] !== undefined)
  if (given.length > 0 && input.plan !== 'enterprise') {
    throw new ApiError('validation_failed', 'Custom limits and call settings apply only to the enterprise plan.')
  }
  for (const name of given) {
    const value = input[name]!
    if (!Number.isSafeInteger(value) || value < 1 || value > 1_000_000_000) {
      throw new ApiError('validation_failed', `The ${LIMIT_NAMES[name]} must be a positive integer.`)
    }
  }
}

/**
 * Accounts: operators' business (the CLI, the first-start bootstrap); there is no public route.
 * A change of plan or limits publishes `account.changed`, since instances cache an account's
 * limits with its keys.
 */
export class AccountService {
  constructor(private readonly context: ServiceContext) {}

  /**
   * Creates an account, its free-trial credit grant and its first key holding every scope, in one
   * transaction: an account never exists without the key that lets its owner in.
   */
  async createWithKey(input: NewAccountInput, actor: Actor) {
    assertLimitsFitPlan(input)
    const { keys } = this.context.services
    return this.context.db.transaction(async (tx) => {
      const [account] = await tx.insert(accounts).values({
        id: newId('account'),
        name: input.name,
        plan: input.plan,
        hourlyLimit: input.hourlyLimit ?? null,
        burstLimit: input.burstLimit ?? null,
        callRate: input.callRate ?? null,
        concurrentCallLimit: input.concurrentCallLimit ?? null,
      }).returning()
      if (input.plan === 'free_trial') {
        await appendLedgerEntry(tx, { accountId: account!.id, type: 'grant', amount: FREE_TRIAL_GRANT_CENTS, description: 'Free trial credit' })
      }
      await recordAudit(tx, actor, {
        accountId: account!.id, action: 'account.created', targetType: 'account', targetId: account!.id, before: null, after: presentAccount(account!),
      })
      const { row, secret } = await keys.insertKey(tx, account!.id, { name: 'Default key', scopes: [...SCOPES] }, actor)
      return { account: presentAccount(account!), key: { ...presentKey(row), key: secret } }
    })
  }

  async get(accountId: string): Promise<AccountRow> {
    const [row] = await this.context.db.select().from(accounts).where(eq(accounts.id, accountId))
    if (!row) throw new ApiError('not_found', `No account ${accountId}.`)
    return row
  }

  /** Operator change of plan or limits, audited with before/after. */
  async update(accountId: string, patch: AccountPatch, actor: Actor) {
    const updated = await this.context.db.transaction(async (tx) => {
      const [before] = await tx.select().from(accounts).where(eq(accounts.id, accountId)).for('update')
      if (!before) throw new ApiError('not_found', `No account ${accountId}.`)
      const plan = patch.plan ?? before.plan
      const next = {
        hourlyLimit: patch.hourlyLimit === undefined ? before.hourlyLimit : patch.hourlyLimit,
        burstLimit: patch.burstLimit === undefined ? before.burstLimit : patch.burstLimit,
        callRate: patch.callRate === undefined ? before.callRate : patch.callRate,
        concurrentCallLimit: patch.concurrentCallLimit === undefined ? before.concurrentCallLimit : patch.concurrentCallLimit,
      }
      // What this patch sets (not clears): must fit the plan. Moving off enterprise drops the rest.
      assertLimitsFitPlan({
        plan,
        hourlyLimit: patch.hourlyLimit ?? undefined, burstLimit: patch.burstLimit ?? undefined,
        callRate: patch.callRate ?? undefined, concurrentCallLimit: patch.concurrentCallLimit ?? undefined,
      })
      const enterprise = plan === 'enterprise'
      const [after] = await tx.update(accounts).set({
        name: patch.name ?? before.name,
        plan,
        hourlyLimit: enterprise ? next.hourlyLimit : null,
        burstLimit: enterprise ? next.burstLimit : null,
        callRate: enterprise ? next.callRate : null,
        concurrentCallLimit: enterprise ? next.concurrentCallLimit : null,
        updatedAt: this.context.clock.now(),
      }).where(eq(accounts.id, accountId)).returning()
      await recordAudit(tx, actor, {
        accountId, action: 'account.updated', targetType: 'account', targetId: accountId, before: presentAccount(before), after: presentAccount(after!),
      })
      return presentAccount(after!)
    })
    await this.context.cacheBus.publish({ type: 'account.changed', accountId })
    return updated
  }

  async count(): Promise<number> {
    const [row] = await this.context.db.select({ n: count() }).from(accounts)
    return row?.n ?? 0
  }

  /** Every account, oldest first, with its balance, read in keyset pages of 500 (`accounts list`). */
  async list() {
    const out: (PublicAccount & { credit_balance: number })[] = []
    let last: AccountRow | undefined
    for (;;) {
      const rows: AccountRow[] = await this.context.db.select().from(accounts)
        .where(last && or(gt(accounts.createdAt, last.createdAt), and(eq(accounts.createdAt, last.createdAt), gt(accounts.id, last.id))))
        .orderBy(asc(accounts.createdAt), asc(accounts.id)).limit(500)
      out.push(...rows.map((row) => ({ ...presentAccount(row), credit_balance: row.creditBalance })))
      if (rows.length < 500) return out
      last = rows.at(-1)
    }
  }
}
