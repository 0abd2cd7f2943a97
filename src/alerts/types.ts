import type { Database } from '../db/client.js'

export const ALERT_TYPES = ['request_spike', 'failed_auth_burst', 'new_network', 'rate_limit_storm', 'quota_threshold'] as const
export type AlertType = (typeof ALERT_TYPES)[number]

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number]

/** What a detector proposes; `raiseAlert` stores it unless its dedupe key was already raised. */
export interface AlertCandidate {
  accountId: string
  type: AlertType
  severity: AlertSeverity
  keyId: string | null
  /** Public JSON (it is delivered as is): ISO strings, numbers, prefixes — never a key or a digest. */
  details: Record<string, unknown>
  /** Unique per account: the same finding in the same window is raised once, on any instance. */
  dedupeKey: string
}

export interface DetectorContext {
  /** The detector's own savepoint inside the job's transaction. */
  db: Database
  /** End of the evaluated window (exclusive); tests pass a fixed instant. */
  now: Date
}

export interface Detector {
  type: AlertType
  detect(context: DetectorContext): Promise<AlertCandidate[]>
}
