import { auditLog } from '../db/schema/index.js'
import type { Executor } from '../db/executor.js'
import { newId } from '../ids.js'

/** Who made a change and from where: a key id (API), or `cli` / `bootstrap` (operators). */
export interface Actor {
  id: string
  ip: string | null
}

export const CLI_ACTOR: Actor = { id: 'cli', ip: null }

export type AuditTarget = 'key' | 'account' | 'alert' | 'agent' | 'contact' | 'import' | 'call'

export interface AuditEvent {
  accountId: string
  action: string
  targetType: AuditTarget
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

