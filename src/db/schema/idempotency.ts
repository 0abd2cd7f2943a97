import { pgTable, text, integer, timestamp, primaryKey, index } from 'drizzle-orm/pg-core'
import type { InferSelectModel } from 'drizzle-orm'

/**
 * One row per (account, Idempotency-Key): claimed before the handler runs (the unique primary key
 * is what makes a second instance see it), then holding the first response for 24 hours. The
 * response is stored encrypted (AES-256-GCM under a key derived from the pepper and the
 * Idempotency-Key): a create's answer can carry a secret, and the database alone cannot read it.
 */
export const idempotencyKeys = pgTable('idempotency_keys', {
  accountId: text('account_id').notNull(),
  key: text('key').notNull(),
  /** SHA-256 of method, path and body: the same key with another request is a 422. */
  fingerprint: text('fingerprint').notNull(),
  /** `in_progress` while the first request runs, then `completed`. */
  status: text('status').$type<'in_progress' | 'completed'>().notNull(),
  responseStatus: integer('response_status'),
  /** `iv.ciphertext.tag` (base64url) of the JSON { headers, body }. */
  responseSealed: text('response_sealed'),
  /** When the claim was taken: an in-progress claim older than a minute is abandoned (its instance died). */
  lockedAt: timestamp('locked_at', { withTimezone: true, precision: 3 }).notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }).notNull(),
}, (table) => [
  primaryKey({ name: 'idempotency_keys_pk', columns: [table.accountId, table.key] }),
  index('idempotency_keys_expires_idx').on(table.expiresAt),
])

export type IdempotencyKeyRow = InferSelectModel<typeof idempotencyKeys>
