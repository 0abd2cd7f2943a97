import { and, eq, isNotNull, isNull } from 'drizzle-orm'
import { alerts, type AlertRow } from '../db/schema/index.js'
import type { Database } from '../db/client.js'
import type { Executor } from '../db/executor.js'
import { ApiError } from '../errors.js'
import { afterCursor, fetchSize, newestFirst, toPage, type PageRequest } from '../pagination.js'
import { recordAudit, type Actor } from '../services/audit.js'
import type { AlertSeverity, AlertType } from './types.js'

/**
 * The public view of an alert: what GET /alerts returns and, byte for byte as JSON, the payload of
 * its `alert.created` event (webhooks deliver that payload, so this shape is a contract).
 */
export function presentAlert(row: AlertRow) {
  return {
    id: row.id,
    type: row.type as AlertType,
    severity: row.severity as AlertSeverity,
    key_id: row.keyId,
    details: row.details as Record<string, unknown>,
    created_at: row.createdAt.toISOString(),
    acknowledged_at: row.acknowledgedAt?.toISOString() ?? null,
    acknowledged_by: row.acknowledgedBy,
  }
}

export type PublicAlert = ReturnType<typeof presentAlert>

export interface AlertListRequest extends PageRequest {
  acknowledged?: boolean | undefined
  type?: AlertType | undefined
}

/** Newest first, keyset-paginated, always within one account. */
export async function listAlerts(db: Executor, accountId: string, request: AlertListRequest) {
  const acknowledged = request.acknowledged === undefined
    ? undefined
    : request.acknowledged ? isNotNull(alerts.acknowledgedAt) : isNull(alerts.acknowledgedAt)
  const rows = await db.select().from(alerts)
    .where(and(
      eq(alerts.accountId, accountId),
      acknowledged,
      request.type ? eq(alerts.type, request.type) : undefined,
      afterCursor(alerts, request.cursor),
    ))
    .orderBy(...newestFirst(alerts))
    .limit(fetchSize(request))
  return toPage(rows, request.limit, presentAlert)
}

/**
 * Marks an alert acknowledged, once: acknowledging it again returns it unchanged (who and when
 * stay those of the first acknowledgement) and writes no second audit entry. Another account's
 * alert is a 404, like a missing one.
 */
export async function acknowledgeAlert(db: Database, accountId: string, alertId: string, actor: Actor): Promise<PublicAlert> {
  return db.transaction(async (tx) => {
    const [before] = await tx.select().from(alerts)
      .where(and(eq(alerts.id, alertId), eq(alerts.accountId, accountId)))
      .for('update')
    if (!before) throw new ApiError('not_found', `No alert ${alertId} in this account.`)
    if (before.acknowledgedAt) return presentAlert(before)
    const [after] = await tx.update(alerts)
      .set({ acknowledgedAt: new Date(), acknowledgedBy: actor.id })
      .where(eq(alerts.id, alertId))
      .returning()
    await recordAudit(tx, actor, {
      accountId, action: 'alert.acknowledged', targetType: 'alert', targetId: alertId,
      before: presentAlert(before), after: presentAlert(after!),
    })
    return presentAlert(after!)
  })
}
