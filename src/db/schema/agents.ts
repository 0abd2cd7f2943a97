import { pgTable, text, integer, jsonb, timestamp, index, primaryKey } from 'drizzle-orm/pg-core'
import type { InferSelectModel } from 'drizzle-orm'
import { accounts } from './accounts.js'
import type { AgentConfig } from '../../agents/config.js'

/**
 * An AI agent: what a call runs (its prompts, voice, flow). The configuration columns are the
 * current version's; every version, the current one included, is also kept in `agent_versions`,
 * so a call pins the version it ran with. Deleting soft-deletes: calls keep pointing at it.
 */
export const agents = pgTable('agents', {
  id: text('id').primaryKey(),
  accountId: text('account_id').notNull().references(() => accounts.id),
  name: text('name').notNull(),
  /** The configuration, exactly as the public `agent` object carries it (see agents/config.ts). */
  config: jsonb('config').$type<AgentConfig>().notNull(),
  /** String keys and values the customer attaches; not configuration (changing it makes no version). */
  metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
  version: integer('version').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull(),
  deletedAt: timestamp('deleted_at', { withTimezone: true, precision: 3 }),
}, (table) => [
  index('agents_account_created_idx').on(table.accountId, table.createdAt.desc(), table.id.desc()),
])

/** Every version of every agent's configuration, immutable once written. */
export const agentVersions = pgTable('agent_versions', {
  agentId: text('agent_id').notNull().references(() => agents.id),
  version: integer('version').notNull(),
  accountId: text('account_id').notNull(),
  /** Sorts like the version (`v000012`): the keyset tie-breaker when two share a millisecond. */
  id: text('id').notNull(),
  name: text('name').notNull(),
  config: jsonb('config').$type<AgentConfig>().notNull(),
  /** Key id (or `cli`) that made this version. */
  createdBy: text('created_by').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull(),
}, (table) => [
  primaryKey({ name: 'agent_versions_pk', columns: [table.agentId, table.version] }),
  index('agent_versions_agent_created_idx').on(table.agentId, table.createdAt.desc(), table.id.desc()),
])

export type AgentRow = InferSelectModel<typeof agents>
export type AgentVersionRow = InferSelectModel<typeof agentVersions>
