import { inArray } from 'drizzle-orm'
import { accounts } from '../db/schema/index.js'
import type { Executor } from '../db/executor.js'
import { limitsFor, type PlanLimits } from '../plans.js'
import { resolveSettings, type SecuritySettings } from '../settings/settings.js'

/** What the detectors need to know about an account: its alert settings and its plan limits. */
export interface AccountAlertContext {
  alerts: SecuritySettings['alerts']
  limits: PlanLimits
}

const CHUNK = 5_000

/** Loads the contexts of the accounts a detector found activity for (one query per 5,000). */
export async function loadAccountContexts(db: Executor, accountIds: Iterable<string>): Promise<Map<string, AccountAlertContext>> {
  const ids = [...new Set(accountIds)]
  const contexts = new Map<string, AccountAlertContext>()
  for (let i = 0; i < ids.length; i += CHUNK) {
    const rows = await db.select({
      id: accounts.id,
      plan: accounts.plan,
      hourlyLimit: accounts.hourlyLimit,
      burstLimit: accounts.burstLimit,
      securitySettings: accounts.securitySettings,
    }).from(accounts).where(inArray(accounts.id, ids.slice(i, i + CHUNK)))
    for (const row of rows) contexts.set(row.id, { alerts: resolveSettings(row.securitySettings).alerts, limits: limitsFor(row) })
  }
  return contexts
}
