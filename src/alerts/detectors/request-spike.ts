import { and, gte, lt, sql } from 'drizzle-orm'
import { usageRollups } from '../../db/schema/index.js'
import { SecuritySettingsSchema } from '../../settings/settings.js'
import { loadAccountContexts } from '../accounts.js'
import { BASELINE_MS, BASELINE_WINDOWS, DETECTION_WINDOW_MS, REPEAT_BUCKET_MS, bucketOf, minus, windowDetails } from '../window.js'
import type { AlertCandidate, Detector } from '../types.js'

/** The smallest factor any account may choose: keys below it cannot be a spike for anyone. */
const LOWEST_FACTOR = SecuritySettingsSchema.properties.alerts.properties.request_spike.properties.factor.minimum ?? 1

/**
 * A key's requests in the window exceed `factor` × its baseline (the average 5-minute count over
 * the hour before the window; a key with no history has a baseline of 0) and reach `min_requests`.
 * Counts come from the per-minute rollups: 65 rows per key at most, never the raw log.
 */
export const requestSpike: Detector = {
  type: 'request_spike',
  async detect({ db, now }) {
    const windowStart = minus(now, DETECTION_WINDOW_MS)
    const baselineStart = minus(windowStart, BASELINE_MS)
    const inWindow = sql`${usageRollups.minute} >= ${windowStart.toISOString()}::timestamptz`
    const recent = sql<number>`coalesce(sum(${usageRollups.requests}) filter (where ${inWindow}), 0)::float8`.mapWith(Number)
    const baseline = sql<number>`coalesce(sum(${usageRollups.requests}) filter (where not (${inWindow})), 0)::float8`.mapWith(Number)
    const rows = await db.select({ keyId: usageRollups.keyId, accountId: usageRollups.accountId, recent, baseline })
      .from(usageRollups)
      .where(and(gte(usageRollups.minute, baselineStart), lt(usageRollups.minute, now)))
      .groupBy(usageRollups.keyId, usageRollups.accountId)
      // Steady keys never leave the database: only growth beyond the lowest allowed factor does.
      .having(sql`${recent} > 0 and ${recent} * ${BASELINE_WINDOWS}::float8 > ${LOWEST_FACTOR}::float8 * ${baseline}`)
    const contexts = await loadAccountContexts(db, rows.map((row) => row.accountId))
    const candidates: AlertCandidate[] = []
    for (const row of rows) {
      const settings = contexts.get(row.accountId)?.alerts.request_spike
      if (!settings?.enabled) continue
      const baselineAverage = row.baseline / BASELINE_WINDOWS
      if (row.recent < settings.min_requests || row.recent <= settings.factor * baselineAverage) continue
      candidates.push({
        accountId: row.accountId,
        type: 'request_spike',
        severity: 'warning',
        keyId: row.keyId,
        details: {
          requests: row.recent,
          baseline_per_5_minutes: Math.round(baselineAverage * 100) / 100,
          factor: settings.factor,
          min_requests: settings.min_requests,
          ...windowDetails(windowStart, now),
        },
        dedupeKey: `request_spike:${row.keyId}:${bucketOf(now, REPEAT_BUCKET_MS)}`,
      })
    }
    return candidates
  },
}
