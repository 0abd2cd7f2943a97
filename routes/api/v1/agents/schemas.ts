import { Type, type TSchema } from '@sinclair/typebox'
import { idPattern } from '../../../../src/ids.js'
import { Timestamp } from '../../../../src/http/schema-kit.js'
import { FieldErrorSchema, PageQuerySchema, pageOf } from '../../../../src/http/schemas.js'
import {
  AgentName, FlowConditionSchema, FlowEdgeSchema, FlowNodeSchema, FlowSchema, MetadataSchema, VariableSchema, VoiceSchema,
  VoicemailSchema, agentConfigFields,
} from '../../../../src/agents/config.js'

const { language, voice, first_message: firstMessage, system_prompt: systemPrompt, max_duration_seconds: maxDuration, voicemail, variables, flow } = agentConfigFields

const EXAMPLE_CONFIG = {
  language: 'en-US',
  voice: { provider: 'elevenlabs', voice_id: 'rachel' },
  first_message: 'Hi {{first_name}}, this is Ava from Bright Dental. Do you have a minute about your appointment?',
  system_prompt: 'You confirm dental appointments politely. Never discuss prices.',
  max_duration_seconds: 300,
  voicemail: { action: 'leave_message', message: 'Hi {{first_name}}, please call us back about your appointment.' },
  variables: [{ name: 'first_name', default: 'there' }],
  flow: {
    start_node_id: 'greet',
    nodes: [
      { id: 'greet', type: 'conversation', data: { prompt: 'Ask whether the appointment still suits them.' } },
      { id: 'confirmed', type: 'end', data: { reason: 'confirmed' } },
    ],
    edges: [{ id: 'to-end', source: 'greet', target: 'confirmed', condition: { type: 'always' } }],
  },
}

const { flow: _exampleFlow, ...EXAMPLE_AGENT_PART } = EXAMPLE_CONFIG

export const AgentSchema = Type.Object({
  id: Type.String({ pattern: idPattern('agent') }),
  name: Type.String(),
  language, voice, first_message: firstMessage, system_prompt: systemPrompt, max_duration_seconds: maxDuration, voicemail, variables, flow,
  metadata: MetadataSchema,
  version: Type.Integer({ minimum: 1, description: 'Incremented by every change to the configuration; calls pin it' }),
  created_at: Timestamp,
  updated_at: Timestamp,
}, { $id: 'Agent', additionalProperties: false, description: 'An AI agent: what a call runs' })

export const AgentListSchema = pageOf(Type.Ref(AgentSchema), 'AgentList', 'agents')

export const AgentVersionSchema = Type.Object({
  agent_id: Type.String({ pattern: idPattern('agent') }),
  version: Type.Integer({ minimum: 1 }),
  name: Type.String(),
  language, voice, first_message: firstMessage, system_prompt: systemPrompt, max_duration_seconds: maxDuration, voicemail, variables, flow,
  created_by: Type.String({ description: 'Key id that made this version, or `cli`' }),
  created_at: Timestamp,
}, { $id: 'AgentVersion', additionalProperties: false, description: 'One version of an agent’s configuration, read-only' })

export const AgentVersionListSchema = pageOf(Type.Ref(AgentVersionSchema), 'AgentVersionList', 'an agent’s versions')

export const CreateAgentBody = Type.Object({
  name: AgentName,
  language, voice, first_message: firstMessage, system_prompt: systemPrompt,
  max_duration_seconds: Type.Optional(maxDuration),
  voicemail: Type.Optional(voicemail),
  variables: Type.Optional(variables),
  flow: Type.Optional(flow),
  metadata: Type.Optional(MetadataSchema),
}, { additionalProperties: false, examples: [{ name: 'Appointment reminder', ...EXAMPLE_CONFIG, metadata: { team: 'front-desk' } }] })

export const UpdateAgentBody = Type.Object({
  name: Type.Optional(AgentName),
  language: Type.Optional(language),
  voice: Type.Optional(voice),
  first_message: Type.Optional(firstMessage),
  system_prompt: Type.Optional(systemPrompt),
  max_duration_seconds: Type.Optional(maxDuration),
  voicemail: Type.Optional(voicemail),
  variables: Type.Optional(variables),
  flow: Type.Optional(flow),
  metadata: Type.Optional(MetadataSchema),
}, { additionalProperties: false, examples: [{ max_duration_seconds: 420, first_message: 'Hello {{first_name}}!' }] })

export const AgentExportSchema = Type.Object({
  schema_version: Type.Integer({ description: 'The document format; this API reads and writes 1' }),
  agent: Type.Object({
    name: AgentName,
    language, voice, first_message: firstMessage, system_prompt: systemPrompt,
    max_duration_seconds: Type.Optional(maxDuration),
    voicemail: Type.Optional(voicemail),
    variables: Type.Optional(variables),
    metadata: MetadataSchema,
  }, { additionalProperties: false }),
  flow,
}, {
  $id: 'AgentExport', additionalProperties: false,
  description: 'A portable agent: no ids of this account, no timestamps. Import it into any account.',
  examples: [{ schema_version: 1, agent: { name: 'Appointment reminder', ...EXAMPLE_AGENT_PART, metadata: {} }, flow: EXAMPLE_CONFIG.flow }],
})

export const AgentImportCheckSchema = Type.Object({
  dry_run: Type.Literal(true),
  valid: Type.Boolean(),
  errors: Type.Array(Type.Ref(FieldErrorSchema), { description: 'Every problem, with a JSON pointer into the document' }),
}, { $id: 'AgentImportCheck', additionalProperties: false, description: 'What an import would do: nothing written' })

export const ImportQuery = Type.Object({
  dry_run: Type.Optional(Type.Boolean({ description: 'Check the document and write nothing (200 with { valid, errors })' })),
}, { additionalProperties: false })

export const VersionParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64 }),
  version: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
}, { additionalProperties: false })

export { PageQuerySchema }

/** Registered in this order (a schema's references come before it). */
export const AGENT_SCHEMAS: TSchema[] = [
  VoiceSchema, VoicemailSchema, VariableSchema, FlowNodeSchema, FlowConditionSchema, FlowEdgeSchema, FlowSchema,
  AgentSchema, AgentListSchema, AgentVersionSchema, AgentVersionListSchema, AgentExportSchema, AgentImportCheckSchema,
]
