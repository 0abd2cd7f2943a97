import { and, eq, isNull } from 'drizzle-orm'
import { agents, agentVersions, type AgentRow, type AgentVersionRow } from '../db/schema/index.js'
import type { Executor, Transaction } from '../db/executor.js'
import { ApiError, invalidFields, type FieldError } from '../errors.js'
import { newId } from '../ids.js'
import { recordAudit, type Actor } from '../audit/record.js'
import { decodeCursor, listPage, type ListQuery } from '../resource/list-page.js'
import { findOwned } from '../resource/find-owned.js'
import { auditedUpdate } from '../resource/audited-update.js'
import type { ServiceContext } from '../service-context.js'
import { CONFIG_DEFAULTS, CONFIG_KEYS, canonicalConfig, type AgentConfig } from './config.js'
import { validateAgentConfig } from './validate.js'

declare module '../service-context.js' {
  interface ServiceRegistry {
    agents: AgentService
  }
}

/** What POST /agents takes: the configuration (optional fields default) plus name and metadata. */
export type NewAgentInput = Partial<AgentConfig> & Pick<AgentConfig, 'language' | 'voice' | 'first_message' | 'system_prompt'> & {
  name: string
  metadata?: Record<string, string> | undefined
}

export type AgentPatch = Partial<AgentConfig> & { name?: string | undefined; metadata?: Record<string, string> | undefined }

/** The portable form of an agent: no ids of this account, no timestamps, no version. */
export interface AgentDocument {
  schema_version: number
  agent: Omit<AgentConfig, 'flow'> & { name: string; metadata: Record<string, string> }
  flow: AgentConfig['flow']
}

export const EXPORT_SCHEMA_VERSION = 1

export function presentAgent(row: AgentRow) {
  return {
    id: row.id,
    name: row.name,
    ...canonicalConfig(row.config),
    metadata: row.metadata,
    version: row.version,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  }
}

export function presentAgentVersion(row: AgentVersionRow) {
  return { agent_id: row.agentId, version: row.version, name: row.name, ...canonicalConfig(row.config), created_by: row.createdBy, created_at: row.createdAt.toISOString() }
}

const LABEL = 'agent'
const notDeleted = isNull(agents.deletedAt)

function versionId(version: number): string {
  return `v${String(version).padStart(6, '0')}`
}

type ConfigInput = Partial<AgentConfig> & Pick<AgentConfig, 'language' | 'voice' | 'first_message' | 'system_prompt'>

/** Defaults filled in, keys in their canonical order. */
function completeConfig(input: ConfigInput): AgentConfig {
  return canonicalConfig({
    language: input.language,
    voice: input.voice,
    first_message: input.first_message,
    system_prompt: input.system_prompt,
    max_duration_seconds: input.max_duration_seconds ?? CONFIG_DEFAULTS.max_duration_seconds,
    voicemail: input.voicemail ?? CONFIG_DEFAULTS.voicemail,
    variables: input.variables ?? CONFIG_DEFAULTS.variables,
    flow: input.flow === undefined ? CONFIG_DEFAULTS.flow : input.flow,
  })
}

/** A request body's configuration, complete, or a 400 naming every problem. */
function checkedConfig(input: ConfigInput): AgentConfig {
  const config = completeConfig(input)
  const errors = validateAgentConfig(config, { base: '/body', flowBase: '/body/flow' })
  if (errors.length > 0) throw invalidFields(errors)
  return config
}


/**
 * AI agents: their configuration, versioned (every change that touches the configuration makes a
 * new version and keeps the old one, so a call can pin what it ran with), and a portable export.
 */
export class AgentService {
  constructor(private readonly context: ServiceContext) {}

  async create(accountId: string, input: NewAgentInput, actor: Actor) {
    const config = checkedConfig(input)
    return presentAgent(await this.context.db.transaction((tx) => this.insert(tx, accountId, input.name, config, input.metadata ?? {}, actor)))
  }

  private async insert(tx: Transaction, accountId: string, name: string, config: AgentConfig, metadata: Record<string, string>, actor: Actor): Promise<AgentRow> {
    const now = this.context.clock.now()
    const [row] = await tx.insert(agents).values({
      id: newId('agent'), accountId, name, config, metadata, version: 1, createdAt: now, updatedAt: now,
    }).returning()
    await tx.insert(agentVersions).values({
      agentId: row!.id, version: 1, accountId, id: versionId(1), name, config, createdBy: actor.id, createdAt: now,
    })
    await recordAudit(tx, actor, { accountId, action: 'agent.created', targetType: 'agent', targetId: row!.id, before: null, after: presentAgent(row!) })
    return row!
  }

  list(accountId: string, page: ListQuery) {
    return listPage({
      columns: agents,
      page,
      fetch: ({ after, orderBy, limit }) => this.context.db.select().from(agents)
        .where(and(eq(agents.accountId, accountId), notDeleted, after)).orderBy(...orderBy).limit(limit),
      present: presentAgent,
    })
  }

  /** The agent row, for other groups (calls pin its version): 404 `agent_not_found` when missing or another account's. */
  async find(accountId: string, agentId: string, notFound: 'not_found' | 'agent_not_found' = 'not_found', db: Executor = this.context.db): Promise<AgentRow> {
    return findOwned<AgentRow>(db, agents, accountId, agentId, { label: LABEL, notFound, where: notDeleted })
  }

  async get(accountId: string, agentId: string) {
    return presentAgent(await this.find(accountId, agentId))
  }

  /**
   * Merges the patch onto the current configuration and checks the whole. A change to the
   * configuration makes version n+1 (kept in agent_versions); name and metadata are labels and
   * change in place.
   */
  async update(accountId: string, agentId: string, patch: AgentPatch, actor: Actor) {
    const { row } = await this.context.db.transaction((tx) => auditedUpdate<AgentRow>(tx, {
      table: agents, accountId, id: agentId, label: LABEL, actor, action: 'agent.updated', targetType: 'agent',
      where: notDeleted, present: presentAgent,
      change: (before) => {
        const merged = { ...before.config }
        for (const key of CONFIG_KEYS) if (patch[key] !== undefined) (merged as Record<string, unknown>)[key] = patch[key]
        const config = checkedConfig(merged)
        // Both canonical: JSONB hands the stored keys back in its own order.
        const configChanged = JSON.stringify(config) !== JSON.stringify(canonicalConfig(before.config))
        const changes: Partial<AgentRow> = {}
        if (configChanged) Object.assign(changes, { config, version: before.version + 1 })
        if (patch.name !== undefined && patch.name !== before.name) changes.name = patch.name
        if (patch.metadata !== undefined && JSON.stringify(patch.metadata) !== JSON.stringify(before.metadata)) changes.metadata = patch.metadata
        if (Object.keys(changes).length === 0) return null
        return { ...changes, updatedAt: this.context.clock.now() }
      },
      after: async (before, after) => {
        if (after.version === before.version) return
        await tx.insert(agentVersions).values({
          agentId, version: after.version, accountId, id: versionId(after.version), name: after.name, config: after.config,
          createdBy: actor.id, createdAt: after.updatedAt,
        })
      },
    }))
    return presentAgent(row)
  }

  /** Soft delete: the agent disappears from the API, calls that ran it keep their reference. */
  async delete(accountId: string, agentId: string, actor: Actor): Promise<void> {
    await this.context.db.transaction((tx) => auditedUpdate<AgentRow>(tx, {
      table: agents, accountId, id: agentId, label: LABEL, actor, action: 'agent.deleted', targetType: 'agent',
      where: notDeleted, present: presentAgent,
      change: async () => {
        if (await this.context.services.calls.agentInUse(tx, accountId, agentId)) {
          throw new ApiError('agent_in_use', `Agent ${agentId} runs a call that has not ended; hang it up or let it end first.`)
        }
        return { deletedAt: this.context.clock.now() }
      },
    }))
  }

  async versions(accountId: string, agentId: string, page: ListQuery) {
    // Every input is checked before anything is looked up: a bad cursor is a 400 whoever's agent it is.
    if (page.cursor) decodeCursor(page.cursor)
    const agent = await this.find(accountId, agentId)
    return listPage({
      columns: agentVersions,
      page,
      fetch: ({ after, orderBy, limit }) => this.context.db.select().from(agentVersions)
        .where(and(eq(agentVersions.agentId, agent.id), eq(agentVersions.accountId, accountId), after)).orderBy(...orderBy).limit(limit),
      present: presentAgentVersion,
    })
  }

  async version(accountId: string, agentId: string, version: number) {
    const agent = await this.find(accountId, agentId)
    const [row] = await this.context.db.select().from(agentVersions)
      .where(and(eq(agentVersions.agentId, agent.id), eq(agentVersions.accountId, accountId), eq(agentVersions.version, version)))
    if (!row) throw new ApiError('not_found', `Agent ${agentId} has no version ${version}.`)
    return presentAgentVersion(row)
  }

  async export(accountId: string, agentId: string): Promise<AgentDocument> {
    return toDocument(await this.find(accountId, agentId))
  }

  /**
   * Imports an exported document as a new agent. `dryRun` checks it whole and writes nothing:
   * `{ valid, errors }` with every problem's pointer into the document.
   */
  async import(accountId: string, document: AgentDocument, actor: Actor, dryRun: boolean) {
    if (document.schema_version !== EXPORT_SCHEMA_VERSION) {
      throw new ApiError('unsupported_schema_version', `schema_version ${document.schema_version} is not one this API reads; it reads ${EXPORT_SCHEMA_VERSION}.`, {
        errors: [{ field: '/body/schema_version', message: `must be ${EXPORT_SCHEMA_VERSION}` }],
      })
    }
    const { name, metadata, ...rest } = document.agent
    const config = completeConfig({ ...rest, flow: document.flow })
    const errors = validateAgentConfig(config, { base: '/agent', flowBase: '/flow' })
    if (dryRun) return { dry_run: true as const, valid: errors.length === 0, errors }
    if (errors.length > 0) throw invalidFields(errors.map((error) => ({ ...error, field: `/body${error.field}` })))
    return { dry_run: false as const, agent: presentAgent(await this.context.db.transaction((tx) => this.insert(tx, accountId, name, config, metadata, actor))) }
  }
}

/** The export: keys in a fixed order (canonicalConfig), so export → import → export is byte for byte. */
export function toDocument(row: AgentRow): AgentDocument {
  const { flow, ...config } = canonicalConfig(row.config)
  return {
    schema_version: EXPORT_SCHEMA_VERSION,
    agent: { name: row.name, ...config, metadata: Object.fromEntries(Object.entries(row.metadata).sort(([a], [b]) => a.localeCompare(b))) },
    flow,
  }
}
