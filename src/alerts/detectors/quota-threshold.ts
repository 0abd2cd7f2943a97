import { and, eq, gte, lt, sql } from 'drizzle-orm'
import { accounts, usageRollups } from '../../db/schema/index.js'
import { ENTERPRISE_DEFAULT_LIMITS, PLAN_LIMITS } from '../../plans.js'
import { loadAccountContexts } from '../accounts.js'
import { QUOTA_WINDOW_MS, minus, windowDetails } from '../window.js'
import type { AlertCandidate, AlertSeverity, Detector } from '../types.js'

/** Percentages of the hourly limit that raise an alert, each at most once per clock hour. */
export const QUOTA_LEVELS: readonly { level: number; severity: AlertSeverity }[] = [
  { level: 80, severity: 'info' },
  { level: 100, severity: 'warning' },
]

const HOUR_MS = 3_600_000
const LOWEST_LEVEL = Math.min(...QUOTA_LEVELS.map(({ level }) => level))
/** No plan's hourly limit is below this unless the account has a custom (enterprise) one. */
const LOWEST_PLAN_HOURLY = Math.min(ENTERPRISE_DEFAULT_LIMITS.hourly, ...Object.values(PLAN_LIMITS).map((limits) => limits.hourly))

/**
 * A key's spent quota over the last 60 minutes (requests the limiter counted, i.e. not its 429s)
 * reaches 80 % / 100 % of its account's hourly limit. Both levels are raised when both are crossed.
 */
export const quotaThreshold: Detector = {
  type: 'quota_threshold',
  async detect({ db, now }) {
    const windowStart = minus(now, QUOTA_WINDOW_MS)
    const spent = sql<number>`sum(${usageRollups.requests} - ${usageRollups.rateLimited})::float8`.mapWith(Number)
    // A lower bound of every account's limit, so only keys near some limit leave the database;
    // the exact limit (src/plans.ts limitsFor) is applied below.
    const lowestLimit = sql`least(${LOWEST_PLAN_HOURLY}::int, coalesce(max(${accounts.hourlyLimit}), ${LOWEST_PLAN_HOURLY}::int))`
    const rows = await db.select({ keyId: usageRollups.keyId, accountId: usageRollups.accountId, spent })
      .from(usageRollups)
      .innerJoin(accounts, eq(accounts.id, usageRollups.accountId))
      .where(and(gte(usageRollups.minute, windowStart), lt(usageRollups.minute, now)))
      .groupBy(usageRollups.keyId, usageRollups.accountId)
      .having(sql`${spent} * 100 >= ${LOWEST_LEVEL}::float8 * ${lowestLimit}`)
    const contexts = await loadAccountContexts(db, rows.map((row) => row.accountId))
    const hour = new Date(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS).toISOString()
    const candidates: AlertCandidate[] = []
    for (const row of rows) {
      const context = contexts.get(row.accountId)
      if (!context?.alerts.quota_threshold.enabled) continue
      const hourlyLimit = context.limits.hourly
      for (const { level, severity } of QUOTA_LEVELS) {
        if (row.spent * 100 < level * hourlyLimit) continue
        candidates.push({
          accountId: row.accountId,
          type: 'quota_threshold',
          severity,
          keyId: row.keyId,
          details: { level, requests: row.spent, hourly_limit: hourlyLimit, ...windowDetails(windowStart, now) },
          dedupeKey: `quota_threshold:${row.keyId}:${level}:${hour}`,
        })
      }
    }
    return candidates
  },
}
