import { and, eq } from 'drizzle-orm'
import { auditLog, type AuditLogRow } from '../db/schema/index.js'
import { listPage, type ListQuery } from '../resource/list-page.js'
import type { ServiceContext } from '../service-context.js'

declare module '../service-context.js' {
  interface ServiceRegistry {
    audit: AuditService
  }
}

export function presentAuditEntry(row: AuditLogRow) {
  return {
    id: row.id,
    actor: row.actor,
    actor_ip: row.actorIp,
    action: row.action,
    target_type: row.targetType,
    target_id: row.targetId,
    before: row.before ?? null,
    after: row.after ?? null,
    created_at: row.createdAt.toISOString(),
  }
}

/** The account's append-only audit log: written by every change (audit/record.ts), read here. */
export class AuditService {
  constructor(private readonly context: ServiceContext) {}

  list(accountId: string, page: ListQuery) {
    return listPage({
      columns: auditLog,
      page,
      fetch: ({ after, orderBy, limit }) => this.context.db.select().from(auditLog)
        .where(and(eq(auditLog.accountId, accountId), after)).orderBy(...orderBy).limit(limit),
      present: presentAuditEntry,
    })
  }
}
