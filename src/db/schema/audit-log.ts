import { pgTable, text, jsonb, timestamp, index } from 'drizzle-orm/pg-core'
import type { InferSelectModel } from 'drizzle-orm'
import { accounts } from './accounts.js'

/**
 * Append-only record of every change to keys and accounts (a trigger refuses UPDATE and DELETE).
 * `before`/`after` hold the public view of the object — never a secret or a digest.
 */
export const auditLog = pgTable('audit_log', {
  id: text('id').primaryKey(),
  accountId: text('account_id').notNull().references(() => accounts.id),
  /** Key id that made the change, or `cli` / `bootstrap` for operator actions. */
  actor: text('actor').notNull(),
  /** Client address of the request that made the change; null for the CLI. */
  actorIp: text('actor_ip'),
  /** e.g. `key.created`, `key.updated`, `key.revoked`, `key.rotated`, `account.created`. */
  action: text('action').notNull(),
  targetType: text('target_type').notNull(),
  targetId: text('target_id').notNull(),
  before: jsonb('before'),
  after: jsonb('after'),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
}, (table) => [
  index('audit_log_account_created_idx').on(table.accountId, table.createdAt.desc(), table.id.desc()),
])

export type AuditLogRow = InferSelectModel<typeof auditLog>
