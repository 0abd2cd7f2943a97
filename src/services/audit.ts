import { and, eq } from 'drizzle-orm'
import { auditLog, type AuditLogRow } from '../db/schema/index.js'
import type { Executor } from '../db/executor.js'
import { newId } from '../ids.js'
import { afterCursor, fetchSize, newestFirst, toPage, type PageRequest } from '../pagination.js'

/** Who made a change and from where: a key id (API), or `cli` / `bootstrap` (operators). */
export interface Actor {
  id: string
  ip: string | null
}

export const CLI_ACTOR: Actor = { id: 'cli', ip: null }

export interface AuditEvent {
  accountId: string
  action: string
  targetType: 'key' | 'account' | 'alert'
  targetId: string
  before: unknown
  after: unknown
}

/** Written in the same transaction as the change it records, so neither exists without the other. */
export async function recordAudit(tx: Executor, actor: Actor, event: AuditEvent): Promise<void> {
  await tx.insert(auditLog).values({
    id: newId('auditEntry'),
    accountId: event.accountId,
    actor: actor.id,
    actorIp: actor.ip,
    action: event.action,
    targetType: event.targetType,
    targetId: event.targetId,
    before: event.before ?? null,
    after: event.after ?? null,
  })
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

export async function listAuditEntries(db: Executor, accountId: string, page: PageRequest) {
  const rows = await db.select().from(auditLog)
    .where(and(eq(auditLog.accountId, accountId), afterCursor(auditLog, page.cursor)))
    .orderBy(...newestFirst(auditLog))
    .limit(fetchSize(page))
  return toPage(rows, page.limit, presentAuditEntry)
}
