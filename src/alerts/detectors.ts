import type { Config } from '../config.js'
import type { Database } from '../db/client.js'
import type { Job } from '../jobs/job.js'
import { raiseAlert } from './raise.js'
import type { PublicAlert } from './service.js'
import type { AlertType, Detector } from './types.js'
import { requestSpike } from './detectors/request-spike.js'
import { failedAuthBurst } from './detectors/failed-auth-burst.js'
import { newNetwork } from './detectors/new-network.js'
import { rateLimitStorm } from './detectors/rate-limit-storm.js'
import { quotaThreshold } from './detectors/quota-threshold.js'

export const DETECTORS: readonly Detector[] = [requestSpike, failedAuthBurst, newNetwork, rateLimitStorm, quotaThreshold]

export interface DetectorLog {
  warn(obj: object, msg?: string): void
}

export interface DetectionResult {
  /** Alerts raised by this run (findings already raised before are not repeated). */
  raised: PublicAlert[]
  /** Detectors that failed; their work was rolled back, the others' kept. */
  failed: AlertType[]
}

/**
 * Runs every detector over the 5 minutes before `now`. Each detector runs in its own savepoint,
 * so one failing (and rolled back) does not cost the others their alerts. Idempotent: running it
 * again for the same `now` raises nothing new.
 */
export async function runAlertDetectors(db: Database, now: Date, log?: DetectorLog): Promise<DetectionResult> {
  const result: DetectionResult = { raised: [], failed: [] }
  for (const detector of DETECTORS) {
    try {
      const raised = await db.transaction(async (tx) => {
        const created: PublicAlert[] = []
        for (const candidate of await detector.detect({ db: tx, now })) {
          const alert = await raiseAlert(tx, candidate, now)
          if (alert) created.push(alert)
        }
        return created
      })
      result.raised.push(...raised)
    } catch (error) {
      result.failed.push(detector.type)
      log?.warn({ err: error, detector: detector.type }, 'alert detector failed; the other detectors ran')
    }
  }
  return result
}

export const ALERT_DETECTORS_JOB = 'alert-detectors'

/** The detectors as a scheduler job: every ALERT_INTERVAL_SECONDS, one instance at a time. */
export function alertDetectorsJob(config: Pick<Config, 'ALERT_INTERVAL_SECONDS'>): Job {
  return {
    name: ALERT_DETECTORS_JOB,
    lockId: 710_002,
    intervalMs: config.ALERT_INTERVAL_SECONDS * 1000,
    async run({ db, now, log }) {
      const { raised } = await runAlertDetectors(db, now, log)
      if (raised.length > 0) {
        const byType: Record<string, number> = {}
        for (const alert of raised) byType[alert.type] = (byType[alert.type] ?? 0) + 1
        log.info({ raised: byType, windowEnd: now.toISOString() }, 'alerts raised')
      }
      // Failures were logged by runAlertDetectors; the others' alerts commit with this run.
    },
  }
}

