import { and, asc, eq, gte, lt, notExists, sql } from 'drizzle-orm'
import { detectorWatermarks, keyNetworks, usageEvents } from '../../db/schema/index.js'
import { rowsOf } from '../../db/rows.js'
import type { Database } from '../../db/client.js'
import type { Executor } from '../../db/executor.js'
import { loadAccountContexts } from '../accounts.js'
import { DETECTION_WINDOW_MS } from '../window.js'
import type { AlertCandidate, Detector } from '../types.js'

/** Rows per INSERT / lookup statement (3 parameters each, far below PostgreSQL's 65,535). */
const CHUNK = 1_000

/**
 * A row reaches usage_events at most one flush interval (USAGE_FLUSH_INTERVAL_MS, 60 s at most)
 * and one write after its request, so each run reads again this much before where the previous
 * one stopped; remembering a network is idempotent. At the default interval a run reads 3 minutes.
 */
const LATE_ROWS_MS = 2 * 60_000
/** After a long pause (every instance down), one run catches up with at most this much. */
const MAX_CATCH_UP_MS = 24 * 60 * 60_000

interface FirstUse {
  keyId: string
  accountId: string
  network: string
  ip: string
  userAgent: string | null
  at: Date
}

/**
 * Keeps `key_networks` — every network (/24, /48) each key has been used from — up to date from
 * the window's usage log, and alerts when a key that already had a network shows up in another.
 * A key's first network ever is remembered silently. The memory is kept even for accounts that
 * turned the alert off, so turning it back on does not flag every network as new.
 */
export const newNetwork: Detector = {
  type: 'new_network',
  async detect({ db, now }) {
    // Every request once, whatever the interval between runs: from where the last run stopped.
    const windowStart = await advanceWatermark(db, now)
    const known = db.select({ one: sql`1` }).from(keyNetworks)
      .where(and(eq(keyNetworks.keyId, usageEvents.keyId), eq(keyNetworks.network, usageEvents.clientNetwork)))
    const firstUses: FirstUse[] = await db.selectDistinctOn([usageEvents.keyId, usageEvents.clientNetwork], {
      keyId: usageEvents.keyId,
      accountId: usageEvents.accountId,
      network: usageEvents.clientNetwork,
      ip: usageEvents.clientIp,
      userAgent: usageEvents.userAgent,
      at: usageEvents.createdAt,
    }).from(usageEvents)
      .where(and(gte(usageEvents.createdAt, windowStart), lt(usageEvents.createdAt, now), notExists(known)))
      .orderBy(asc(usageEvents.keyId), asc(usageEvents.clientNetwork), asc(usageEvents.createdAt), asc(usageEvents.id))
    if (firstUses.length === 0) return []

    const claimed = await remember(db, firstUses)
    const alerting = await withEarlierNetwork(db, claimed)
    if (alerting.length === 0) return []
    const contexts = await loadAccountContexts(db, alerting.map((use) => use.accountId))
    return alerting
      .filter((use) => contexts.get(use.accountId)?.alerts.new_network.enabled)
      .map((use): AlertCandidate => ({
        accountId: use.accountId,
        type: 'new_network',
        severity: 'warning',
        keyId: use.keyId,
        details: { network: use.network, ip: use.ip, user_agent: use.userAgent, first_seen_at: use.at.toISOString() },
        // A network is new to a key once, so no time bucket.
        dedupeKey: `new_network:${use.keyId}:${use.network}`,
      }))
  },
}

/**
 * Records that this run reads up to `now` and returns where its reading starts: the previous
 * run's end less LATE_ROWS_MS (else the detection window), and no earlier than
 * MAX_CATCH_UP_MS ago. The mark only moves forward: a clock that went back never rewinds it.
 * Runs in the detector's transaction, so a failed run leaves the mark where it was.
 */
async function advanceWatermark(db: Executor, now: Date): Promise<Date> {
  const [previous] = await db.select({ until: detectorWatermarks.evaluatedUntil }).from(detectorWatermarks)
    .where(eq(detectorWatermarks.detector, newNetwork.type))
  await db.insert(detectorWatermarks).values({ detector: newNetwork.type, evaluatedUntil: now })
    .onConflictDoUpdate({
      target: detectorWatermarks.detector,
      set: { evaluatedUntil: sql`greatest(${detectorWatermarks.evaluatedUntil}, excluded.evaluated_until)` },
    })
  // No mark yet, or one ahead of this clock (a clock put back): the detection window, as a first run.
  const from = previous && previous.until <= now ? previous.until.getTime() - LATE_ROWS_MS : now.getTime() - DETECTION_WINDOW_MS
  return new Date(Math.max(from, now.getTime() - MAX_CATCH_UP_MS))
}

/** Inserts the first uses; returns those this run inserted (on conflict: already remembered). */
async function remember(db: Database, firstUses: FirstUse[]): Promise<FirstUse[]> {
  const claimed: FirstUse[] = []
  for (let i = 0; i < firstUses.length; i += CHUNK) {
    const chunk = firstUses.slice(i, i + CHUNK)
    const inserted = await db.insert(keyNetworks)
      .values(chunk.map((use) => ({ keyId: use.keyId, network: use.network, firstSeenAt: use.at })))
      .onConflictDoNothing({ target: [keyNetworks.keyId, keyNetworks.network] })
      .returning({ keyId: keyNetworks.keyId, network: keyNetworks.network })
    const isNew = new Set(inserted.map((row) => `${row.keyId}\n${row.network}`))
    claimed.push(...chunk.filter((use) => isNew.has(`${use.keyId}\n${use.network}`)))
  }
  return claimed
}

/**
 * The new networks of keys that had another network first (by first use, then by name for
 * uses in the same millisecond) — including one remembered earlier in this same run.
 */
async function withEarlierNetwork(db: Database, claimed: FirstUse[]): Promise<FirstUse[]> {
  const alerting = new Set<string>()
  for (let i = 0; i < claimed.length; i += CHUNK) {
    const values = claimed.slice(i, i + CHUNK).map((use) => sql`(${use.keyId}, ${use.network})`)
    const rows = rowsOf<{ key_id: string; network: string }>(await db.execute(sql`
      select kn.key_id, kn.network
        from ${keyNetworks} kn
        join (values ${sql.join(values, sql`, `)}) as c(key_id, network)
          on kn.key_id = c.key_id and kn.network = c.network
       where exists (
         select 1 from ${keyNetworks} o
          where o.key_id = kn.key_id and o.network <> kn.network
            and (o.first_seen_at, o.network) < (kn.first_seen_at, kn.network))`))
    for (const row of rows) alerting.add(`${row.key_id}\n${row.network}`)
  }
  return claimed.filter((use) => alerting.has(`${use.keyId}\n${use.network}`))
}
