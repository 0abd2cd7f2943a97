/**
 * Plans and their per-key request limits: an hourly quota and a per-minute burst, both sliding
 * windows. Enterprise limits are set per account.
 */
export const PLANS = ['free_trial', 'starter', 'professional', 'enterprise'] as const
export type Plan = (typeof PLANS)[number]

export interface PlanLimits {
  hourly: number
  burst: number
}

export const PLAN_LIMITS: Record<Exclude<Plan, 'enterprise'>, PlanLimits> = {
  free_trial: { hourly: 1_000, burst: 100 },
  starter: { hourly: 5_000, burst: 500 },
  professional: { hourly: 25_000, burst: 2_500 },
}

/** Used for an enterprise account whose custom limits were never set. */
export const ENTERPRISE_DEFAULT_LIMITS: PlanLimits = { hourly: 100_000, burst: 10_000 }

export function isPlan(value: string): value is Plan {
  return (PLANS as readonly string[]).includes(value)
}

export function limitsFor(account: { plan: Plan; hourlyLimit: number | null; burstLimit: number | null }): PlanLimits {
  if (account.plan !== 'enterprise') return PLAN_LIMITS[account.plan]
  return {
    hourly: account.hourlyLimit ?? ENTERPRISE_DEFAULT_LIMITS.hourly,
    burst: account.burstLimit ?? ENTERPRISE_DEFAULT_LIMITS.burst,
  }
}

/** Free credit granted to a new free_trial account, in cents: $10.00. */
export const FREE_TRIAL_GRANT_CENTS = 1_000
export const CURRENCY = 'usd'

/** Cents per minute of talk time, billed per second. Enterprise: per account (`--call-rate`). */
export const CALL_RATE_CENTS: Record<Exclude<Plan, 'enterprise'>, number> = { free_trial: 12, starter: 10, professional: 8 }
export const ENTERPRISE_DEFAULT_CALL_RATE_CENTS = 8

/** Calls an account may have live at once. Enterprise: per account (`--concurrent-calls`). */
export const CONCURRENT_CALLS: Record<Exclude<Plan, 'enterprise'>, number> = { free_trial: 1, starter: 5, professional: 25 }
export const ENTERPRISE_DEFAULT_CONCURRENT_CALLS = 100

export function callRateFor(account: { plan: Plan; callRate: number | null }): number {
  return account.plan === 'enterprise' ? account.callRate ?? ENTERPRISE_DEFAULT_CALL_RATE_CENTS : CALL_RATE_CENTS[account.plan]
}

export function concurrentCallsFor(account: { plan: Plan; concurrentCallLimit: number | null }): number {
  return account.plan === 'enterprise' ? account.concurrentCallLimit ?? ENTERPRISE_DEFAULT_CONCURRENT_CALLS : CONCURRENT_CALLS[account.plan]
}
