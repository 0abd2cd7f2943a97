import { Type, type Static } from '@sinclair/typebox'
import { Label, StringEnum } from '../http/schema-kit.js'

/**
 * An agent's configuration: everything a call runs with. One schema for the HTTP contract, the
 * stored JSON and the export document, so the three cannot drift. Shape only: what needs more
 * than a schema (placeholders naming declared variables, a flow that holds together) is checked
 * by `validateAgentConfig`, which reports every problem with a JSON pointer.
 */

export const MAX_FLOW_NODES = 200
export const MAX_FLOW_EDGES = 1_000
export const MAX_VARIABLES = 50

export const NODE_TYPES = ['conversation', 'decision', 'transfer', 'webhook', 'end'] as const
export type NodeType = (typeof NODE_TYPES)[number]

export const CONDITION_TYPES = ['intent', 'equals', 'always'] as const

const FlowIdentifier = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$', description: 'Chosen by you; unique within the flow' })
const VariableName = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z_][A-Za-z0-9_]*$' })

/**
 * A node. `data` depends on `type` — conversation `{ prompt }`, decision `{ description? }`,
 * transfer `{ to }` (E.164), webhook `{ url, method }` (https), end `{ reason? }` — and is checked
 * per type by the flow validator, so every problem gets its own pointer.
 */
export const FlowNodeSchema = Type.Object({
  id: FlowIdentifier,
  type: StringEnum(NODE_TYPES),
  data: Type.Object({}, { additionalProperties: true }),
}, { additionalProperties: false, $id: 'FlowNode' })

export const FlowConditionSchema = Type.Object({
  type: StringEnum(CONDITION_TYPES, { description: '`intent` (the caller means `description`), `equals` (`variable` = `value`), `always`' }),
  description: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  variable: Type.Optional(VariableName),
  value: Type.Optional(Type.String({ maxLength: 500 })),
}, { additionalProperties: false, $id: 'FlowCondition' })

export const FlowEdgeSchema = Type.Object({
  id: FlowIdentifier,
  source: FlowIdentifier,
  target: FlowIdentifier,
  condition: Type.Ref(FlowConditionSchema),
}, { additionalProperties: false, $id: 'FlowEdge' })

export const FlowSchema = Type.Object({
  start_node_id: FlowIdentifier,
  nodes: Type.Array(Type.Ref(FlowNodeSchema), { minItems: 1, maxItems: MAX_FLOW_NODES }),
  edges: Type.Array(Type.Ref(FlowEdgeSchema), { maxItems: MAX_FLOW_EDGES }),
}, { additionalProperties: false, $id: 'Flow', description: 'The conversation graph a call walks, from `start_node_id` to an `end` node' })

export const VoiceSchema = Type.Object({
  provider: Type.String({ minLength: 1, maxLength: 50, pattern: '^[a-z0-9][a-z0-9_-]*$', examples: ['elevenlabs'] }),
  voice_id: Type.String({ minLength: 1, maxLength: 200, examples: ['rachel'] }),
}, { additionalProperties: false, $id: 'Voice' })

export const VoicemailSchema = Type.Object({
  action: StringEnum(['hangup', 'leave_message'], { description: 'What the agent does when voicemail answers' }),
  message: Type.Optional(Type.String({ minLength: 1, maxLength: 2_000, description: 'Required for leave_message' })),
}, { additionalProperties: false, $id: 'Voicemail' })

export const VariableSchema = Type.Object({
  name: VariableName,
  default: Type.Optional(Type.String({ maxLength: 1_000, description: 'Used when a call supplies no value; without one the variable is required' })),
}, { additionalProperties: false, $id: 'AgentVariable' })

/** The configuration fields, all of them; defaults (below) are the service's to apply. */
export const agentConfigFields = {
  language: Type.String({ minLength: 2, maxLength: 35, pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$', description: 'BCP 47, e.g. en-US', examples: ['en-US'] }),
  voice: Type.Ref(VoiceSchema),
  first_message: Type.String({ minLength: 1, maxLength: 2_000, description: 'What the agent says first; may use {{variables}}' }),
  system_prompt: Type.String({ minLength: 1, maxLength: 20_000, description: 'Instructions for the whole call; may use {{variables}}' }),
  max_duration_seconds: Type.Integer({ minimum: 30, maximum: 7_200, description: 'A call is ended at this length (default 600)' }),
  voicemail: Type.Ref(VoicemailSchema),
  variables: Type.Array(Type.Ref(VariableSchema), { maxItems: MAX_VARIABLES, description: 'The dynamic variables prompts and messages may use' }),
  flow: Type.Union([Type.Ref(FlowSchema), Type.Null()], { description: 'null: the agent converses freely from its prompts' }),
}

/** What an omitted optional field means. */
export const CONFIG_DEFAULTS = {
  max_duration_seconds: 600,
  voicemail: { action: 'hangup' as const },
  variables: [] as { name: string; default?: string }[],
  flow: null,
}

/** The stored configuration, defaults applied. */
export interface AgentConfig {
  language: string
  voice: Static<typeof VoiceSchema>
  first_message: string
  system_prompt: string
  max_duration_seconds: number
  voicemail: Static<typeof VoicemailSchema>
  variables: Static<typeof VariableSchema>[]
  flow: Flow | null
}

export interface Flow {
  start_node_id: string
  nodes: { id: string; type: NodeType; data: Record<string, unknown> }[]
  edges: { id: string; source: string; target: string; condition: Static<typeof FlowConditionSchema> }[]
}

export const MetadataSchema = Type.Record(Type.String({ minLength: 1, maxLength: 40 }), Type.String({ maxLength: 500 }), {
  maxProperties: 50, description: 'Up to 50 string keys, string values of up to 500 characters',
})

export const AgentName = Label(100, { examples: ['Appointment reminder'] })

export const CONFIG_KEYS = ['language', 'voice', 'first_message', 'system_prompt', 'max_duration_seconds', 'voicemail', 'variables', 'flow'] as const

/**
 * The configuration with its keys in one fixed order at every depth, as it is stored and served:
 * export → import → export yields the same bytes, whatever order a client or JSONB used.
 */
export function canonicalConfig(config: AgentConfig): AgentConfig {
  return {
    language: canonicalLanguage(config.language),
    voice: { provider: config.voice.provider, voice_id: config.voice.voice_id },
    first_message: config.first_message,
    system_prompt: config.system_prompt,
    max_duration_seconds: config.max_duration_seconds,
    voicemail: config.voicemail.message === undefined ? { action: config.voicemail.action } : { action: config.voicemail.action, message: config.voicemail.message },
    variables: config.variables.map((variable) => (variable.default === undefined ? { name: variable.name } : { name: variable.name, default: variable.default })),
    flow: config.flow && {
      start_node_id: config.flow.start_node_id,
      nodes: config.flow.nodes.map((node) => ({ id: node.id, type: node.type, data: sortedKeys(node.data) })),
      edges: config.flow.edges.map((edge) => ({ id: edge.id, source: edge.source, target: edge.target, condition: sortedKeys(edge.condition) as Flow['edges'][number]['condition'] })),
    },
  }
}

function sortedKeys<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined).sort(([a], [b]) => a.localeCompare(b))) as T
}

/** `en-us` → `en-US`; a tag the runtime cannot canonicalise is returned as given (the validator reports it). */
export function canonicalLanguage(tag: string): string {
  try {
    return Intl.getCanonicalLocales(tag)[0] ?? tag
  } catch {
    return tag
  }
}
