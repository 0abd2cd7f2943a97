import { pgTable, text, integer, timestamp, index, primaryKey, bigserial } from 'drizzle-orm/pg-core'
import type { InferSelectModel } from 'drizzle-orm'

/**
 * One row per authenticated request (passed the key and allowlist checks), written off the request
 * path in batches. Raw rows are kept for USAGE_LOG_RETENTION_DAYS; time series are answered from
 * `usage_rollups`, never by scanning these.
 */
export const usageEvents = pgTable('usage_events', {
  /** The request id (`req_…`), also sent to the client as X-Request-Id. Unique by construction. */
  id: text('id').notNull(),
  accountId: text('account_id').notNull(),
  keyId: text('key_id').notNull(),
  method: text('method').notNull(),
  /** The route pattern (`/api/v1/keys/:id`), never the raw URL with its query string. */
  route: text('route').notNull(),
  status: integer('status').notNull(),
  latencyMs: integer('latency_ms').notNull(),
  clientIp: text('client_ip').notNull(),
  /** The client's network (/24 for IPv4, /48 for IPv6): what `new_network` alerts compare. */
  clientNetwork: text('client_network').notNull(),
  userAgent: text('user_agent'),
  /** `allowed` or `limited` (answered 429 by the per-key limiter). */
  rateLimit: text('rate_limit').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull(),
}, (table) => [
  // Two indexes to maintain per request logged, not three: the key's log, newest first (a backward
  // scan), is the primary key itself; time-range scans (retention, new_network) use a BRIN index,
  // nearly free to maintain because rows arrive in created_at order.
  primaryKey({ name: 'usage_events_pk', columns: [table.keyId, table.createdAt, table.id] }),
  index('usage_events_created_brin').using('brin', table.createdAt),
])

/**
 * Per key and minute: counts and a latency histogram (fixed buckets, see src/usage/histogram.ts),
 * so p50/p99 over an hour or a day merge exactly as the buckets allow and a 30-day view reads
 * at most 43,200 rows per key instead of every request.
 */
export const usageRollups = pgTable('usage_rollups', {
  keyId: text('key_id').notNull(),
  accountId: text('account_id').notNull(),
  minute: timestamp('minute', { withTimezone: true, precision: 3 }).notNull(),
  requests: integer('requests').notNull(),
  /** Responses with status ≥ 400 (including 429s). */
  errors: integer('errors').notNull(),
  rateLimited: integer('rate_limited').notNull(),
  latencyHistogram: integer('latency_histogram').array().notNull(),
}, (table) => [
  primaryKey({ name: 'usage_rollups_pk', columns: [table.keyId, table.minute] }),
  index('usage_rollups_account_minute_idx').on(table.accountId, table.minute),
  /** Retention prunes by age alone. */
  index('usage_rollups_minute_idx').on(table.minute),
])

/** Every 401/403 at the front door. Holds the key's display prefix when it parsed, never the key. */
export const failedAuthEvents = pgTable('failed_auth_events', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  clientIp: text('client_ip').notNull(),
  /** `vxp_` + 8 characters, when the presented value had a key's shape. */
  keyPrefix: text('key_prefix'),
  /** Set when the key was identified (expired, revoked, outside its allowlist). */
  accountId: text('account_id'),
  keyId: text('key_id'),
  reason: text('reason').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull(),
}, (table) => [
  index('failed_auth_events_created_idx').on(table.createdAt),
  index('failed_auth_events_prefix_created_idx').on(table.keyPrefix, table.createdAt),
])

/** Networks each key has been used from: the memory behind `new_network` alerts. */
export const keyNetworks = pgTable('key_networks', {
  keyId: text('key_id').notNull(),
  network: text('network').notNull(),
  firstSeenAt: timestamp('first_seen_at', { withTimezone: true, precision: 3 }).notNull(),
}, (table) => [primaryKey({ name: 'key_networks_pk', columns: [table.keyId, table.network] })])

/**
 * How far each event-driven detector has read the usage log: the next run starts from here
 * (less a margin for rows written late), so a gap between runs — a long ALERT_INTERVAL_SECONDS,
 * every instance down for a while — leaves no request unexamined.
 */
export const detectorWatermarks = pgTable('detector_watermarks', {
  detector: text('detector').primaryKey(),
  evaluatedUntil: timestamp('evaluated_until', { withTimezone: true, precision: 3 }).notNull(),
})

export type UsageEventRow = InferSelectModel<typeof usageEvents>
export type UsageRollupRow = InferSelectModel<typeof usageRollups>
export type FailedAuthEventRow = InferSelectModel<typeof failedAuthEvents>
