import { and, eq, isNotNull, isNull } from 'drizzle-orm'
import { alerts, type AlertRow } from '../db/schema/index.js'
import type { Actor } from '../audit/record.js'
import { listPage, type ListQuery } from '../resource/list-page.js'
import { auditedUpdate } from '../resource/audited-update.js'
import type { ServiceContext } from '../service-context.js'
import type { AlertSeverity, AlertType } from './types.js'
import { alertDetectorsJob } from './detectors.js'

declare module '../service-context.js' {
  interface ServiceRegistry {
    alerts: AlertService
  }
}

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

export interface AlertListRequest extends ListQuery {
  acknowledged?: boolean | undefined
  type?: AlertType | undefined
}

/** Security alerts raised by the detectors (run on the scheduler), listed and acknowledged per account. */
export class AlertService {
  constructor(private readonly context: ServiceContext) {
    context.scheduler.register(alertDetectorsJob(context.config))
  }

  /** Newest first, keyset-paginated, always within one account. */
  list(accountId: string, request: AlertListRequest) {
    const acknowledged = request.acknowledged === undefined
      ? undefined
      : request.acknowledged ? isNotNull(alerts.acknowledgedAt) : isNull(alerts.acknowledgedAt)
    return listPage({
      columns: alerts,
      page: request,
      filters: { acknowledged: request.acknowledged, type: request.type },
      fetch: ({ after, orderBy, limit }) => this.context.db.select().from(alerts)
        .where(and(eq(alerts.accountId, accountId), acknowledged, request.type ? eq(alerts.type, request.type) : undefined, after))
        .orderBy(...orderBy).limit(limit),
      present: presentAlert,
    })
  }

  /**
   * Marks an alert acknowledged, once: acknowledging it again returns it unchanged (who and when
   * stay those of the first acknowledgement) and writes no second audit entry. Another account's
   * alert is a 404, like a missing one.
   */
  async acknowledge(accountId: string, alertId: string, actor: Actor): Promise<PublicAlert> {
    const { row } = await this.context.db.transaction((tx) => auditedUpdate<AlertRow>(tx, {
      table: alerts, accountId, id: alertId, label: 'alert', actor, action: 'alert.acknowledged', targetType: 'alert',
      present: presentAlert,
      change: (before) => (before.acknowledgedAt ? null : { acknowledgedAt: this.context.clock.now(), acknowledgedBy: actor.id }),
    }))
    return presentAlert(row)
  }
}
