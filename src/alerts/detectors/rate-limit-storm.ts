import { and, gte, lt, sql } from 'drizzle-orm'
import { usageRollups } from '../../db/schema/index.js'
import { loadAccountContexts } from '../accounts.js'
import { DETECTION_WINDOW_MS, REPEAT_BUCKET_MS, bucketOf, minus, windowDetails } from '../window.js'
import type { AlertCandidate, Detector } from '../types.js'

/** Sustained, not a blip: the 429s must fall in at least this many distinct minutes of the window. */
export const STORM_MIN_MINUTES = 3

/** A key answered at least `threshold` 429s in the window, spread over ≥ 3 distinct minutes. */
export const rateLimitStorm: Detector = {
  type: 'rate_limit_storm',
  async detect({ db, now }) {
    const windowStart = minus(now, DETECTION_WINDOW_MS)
    const limited = sql<number>`sum(${usageRollups.rateLimited})::float8`.mapWith(Number)
    // (key_id, minute) is the rollups' primary key, so rows with 429s are distinct minutes.
    const minutes = sql<number>`(count(*) filter (where ${usageRollups.rateLimited} > 0))::int`.mapWith(Number)
    const rows = await db.select({ keyId: usageRollups.keyId, accountId: usageRollups.accountId, limited, minutes })
      .from(usageRollups)
      .where(and(gte(usageRollups.minute, windowStart), lt(usageRollups.minute, now)))
      .groupBy(usageRollups.keyId, usageRollups.accountId)
      .having(sql`${minutes} >= ${STORM_MIN_MINUTES}::int`)
    const contexts = await loadAccountContexts(db, rows.map((row) => row.accountId))
    const candidates: AlertCandidate[] = []
    for (const row of rows) {
      const settings = contexts.get(row.accountId)?.alerts.rate_limit_storm
      if (!settings?.enabled || row.limited < settings.threshold) continue
      candidates.push({
        accountId: row.accountId,
        type: 'rate_limit_storm',
        severity: 'info',
        keyId: row.keyId,
        details: { rate_limited: row.limited, minutes: row.minutes, threshold: settings.threshold, ...windowDetails(windowStart, now) },
        dedupeKey: `rate_limit_storm:${row.keyId}:${bucketOf(now, REPEAT_BUCKET_MS)}`,
      })
    }
    return candidates
  },
}
