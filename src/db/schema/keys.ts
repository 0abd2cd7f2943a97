import { pgTable, text, timestamp, uniqueIndex, index } from 'drizzle-orm/pg-core'
import type { InferSelectModel } from 'drizzle-orm'
import { accounts } from './accounts.js'

export const apiKeys = pgTable('api_keys', {
  id: text('id').primaryKey(),
  accountId: text('account_id').notNull().references(() => accounts.id),
  name: text('name').notNull(),
  /** HMAC-SHA256(pepper, key) in hex. The only form of the secret that is ever stored. */
  digest: text('digest').notNull(),
  /** First characters of the key (`vxp_` + 8), shown so a person can recognise it. */
  displayPrefix: text('display_prefix').notNull(),
  lastFour: text('last_four').notNull(),
  scopes: text('scopes').array().notNull(),
  /** Canonical CIDRs; empty means any address. */
  ipAllowlist: text('ip_allowlist').array().notNull().default([]),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true, precision: 3 }),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true, precision: 3 }),
  revokedAt: timestamp('revoked_at', { withTimezone: true, precision: 3 }),
  /** The key this one replaced by rotation. */
  rotatedFrom: text('rotated_from'),
  /** The key that replaced this one by rotation; set once, which is what makes rotation single-shot. */
  replacedBy: text('replaced_by'),
  /** When it was rotated: from then on it answers with Deprecation/Sunset headers. */
  replacedAt: timestamp('replaced_at', { withTimezone: true, precision: 3 }),
  /** Key id of the key that created it, or `cli` / `bootstrap`. */
  createdBy: text('created_by').notNull(),
}, (table) => [
  uniqueIndex('api_keys_digest_unique').on(table.digest),
  /** Failed attempts record only the display prefix; this finds whose key a prefix belongs to. */
  index('api_keys_display_prefix_idx').on(table.displayPrefix),
  index('api_keys_account_created_idx').on(table.accountId, table.createdAt.desc(), table.id.desc()),
])

export type ApiKeyRow = InferSelectModel<typeof apiKeys>
