import { eq, type SQL } from 'drizzle-orm'
import type { PgTable } from 'drizzle-orm/pg-core'
import type { Transaction } from '../db/executor.js'
import { recordAudit, type Actor, type AuditTarget } from '../audit/record.js'
import { findOwned, type OwnedTable } from './find-owned.js'

export interface AuditedUpdate<Row> {
  table: OwnedTable
  accountId: string
  id: string
  label: string
  actor: Actor
  /** The audit action, e.g. `agent.updated`. */
  action: string
  targetType: AuditTarget
  /** The public view stored as before/after in the audit log. */
  present: (row: Row) => unknown
  /** Extra conditions the row must meet to be found (e.g. not soft-deleted). */
  where?: SQL | undefined
  /**
   * Given the locked row, the columns to change, or null when nothing changes (then nothing is
   * written and nothing audited). May throw an ApiError to refuse the change.
   */
  change: (before: Row) => Promise<Record<string, unknown> | null> | Record<string, unknown> | null
  /** Runs after the update, in the same transaction (versions, outbox events, …). */
  after?: (before: Row, after: Row) => Promise<void>
}

/**
 * "Lock, 404, change, audit before/after" — the shape of every change an account's user makes,
 * written once. Runs inside the caller's transaction, so the change, its audit entry and whatever
 * `after` writes commit together or not at all.
 */
export async function auditedUpdate<Row>(tx: Transaction, update: AuditedUpdate<Row>): Promise<{ row: Row; changed: boolean }> {
  const before = await findOwned<Row>(tx, update.table, update.accountId, update.id, { forUpdate: true, label: update.label, where: update.where })
  const changes = await update.change(before)
  if (!changes || Object.keys(changes).length === 0) return { row: before, changed: false }
  const [after] = await tx.update(update.table as PgTable).set(changes as never).where(eq(update.table.id, update.id)).returning() as Row[]
  await recordAudit(tx, update.actor, {
    accountId: update.accountId, action: update.action, targetType: update.targetType, targetId: update.id,
    before: update.present(before), after: update.present(after!),
  })
  await update.after?.(before, after!)
  return { row: after!, changed: true }
}
