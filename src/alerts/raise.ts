import { alerts } from '../db/schema/index.js'
import { appendEvent } from '../outbox/outbox.js'
import type { Executor } from '../db/executor.js'
import { newId } from '../ids.js'
import { presentAlert, type PublicAlert } from './service.js'
import type { AlertCandidate } from './types.js'

/**
 * Stores a candidate unless the account already has its dedupe key, and in the same transaction
 * writes the `alert.created` outbox event whose payload is the alert's public JSON. Returns the
 * alert when it is new, null when it was raised before (by this run, an earlier one, or another
 * instance).
 */
export async function raiseAlert(tx: Executor, candidate: AlertCandidate, now: Date): Promise<PublicAlert | null> {
  const [row] = await tx.insert(alerts).values({
    id: newId('alert'),
    accountId: candidate.accountId,
    type: candidate.type,
    severity: candidate.severity,
    keyId: candidate.keyId,
    details: candidate.details,
    dedupeKey: candidate.dedupeKey,
    createdAt: now,
  }).onConflictDoNothing({ target: [alerts.accountId, alerts.dedupeKey] }).returning()
  if (!row) return null
  const alert = presentAlert(row)
  await appendEvent(tx, { accountId: row.accountId, type: 'alert.created', payload: alert })
  return alert
}
