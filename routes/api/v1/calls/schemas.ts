import { Type, type TSchema } from '@sinclair/typebox'
import { idPattern } from '../../../../src/ids.js'
import { Nullable, StringEnum, Timestamp } from '../../../../src/http/schema-kit.js'
import { PageQuerySchema, pageOf } from '../../../../src/http/schemas.js'
import { MetadataSchema } from '../../../../src/agents/config.js'
import { ANSWERED_BY, CALL_STATUSES, END_REASONS } from '../../../../src/calls/state-machine.js'

const PhoneNumber = Type.String({ minLength: 2, maxLength: 32, description: 'E.164', examples: ['+14155550100'] })

const TranscriptEntrySchema = Type.Object({
  role: StringEnum(['agent', 'customer']),
  text: Type.String(),
  t_offset_ms: Type.Integer({ minimum: 0, description: 'Milliseconds after the call was answered' }),
}, { additionalProperties: false })

const AnalysisSchema = Type.Object({
  summary: Type.String(),
  outcome: StringEnum(['success', 'failure', 'opt_out', 'unknown']),
  extracted: Type.Record(Type.String(), Type.Unknown(), { description: 'What the call established: the flow path it took, who answered' }),
}, { additionalProperties: false })

export const CallSchema = Type.Object({
  id: Type.String({ pattern: idPattern('call') }),
  agent_id: Type.String(),
  agent_version: Type.Integer({ minimum: 1, description: 'The agent version the call runs, pinned when it was created' }),
  contact_id: Nullable(Type.String()),
  campaign_id: Nullable(Type.String()),
  to: Type.String({ description: 'E.164' }),
  from: Type.String({ description: 'E.164' }),
  direction: StringEnum(['outbound']),
  status: StringEnum(CALL_STATUSES),
  end_reason: Nullable(StringEnum(END_REASONS)),
  answered_by: Nullable(StringEnum(ANSWERED_BY)),
  created_at: Timestamp,
  scheduled_at: Nullable(Timestamp),
  ringing_at: Nullable(Timestamp),
  answered_at: Nullable(Timestamp),
  ended_at: Nullable(Timestamp),
  duration_seconds: Nullable(Type.Integer({ minimum: 0, description: 'From dialling to the end' })),
  billable_seconds: Nullable(Type.Integer({ minimum: 0, description: 'Talk time: what is charged' })),
  rate: Type.Integer({ minimum: 1, description: 'Cents per minute, billed per second' }),
  cost: Nullable(Type.Integer({ minimum: 0, description: 'Integer cents: ceil(billable_seconds × rate / 60)' })),
  max_duration_seconds: Type.Integer(),
  transcript: Type.Array(TranscriptEntrySchema),
  analysis: Type.Union([AnalysisSchema, Type.Null()], { description: 'Once the call has ended: what happened' }),
  variables: Type.Record(Type.String(), Type.String(), { description: 'The agent variables, as the call filled them' }),
  metadata: Type.Record(Type.String(), Type.String()),
}, { $id: 'Call', additionalProperties: false, description: 'A phone call an agent places' })

export const CallListSchema = pageOf(Type.Ref(CallSchema), 'CallList', 'calls')

export const CreateCallBody = Type.Object({
  agent_id: Type.String({ minLength: 1, maxLength: 64 }),
  contact_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Call this contact (give this or `to`)' })),
  to: Type.Optional(Type.String({ minLength: 2, maxLength: 32, description: 'Call this number, E.164 (give this or `contact_id`)' })),
  from: Type.Optional(PhoneNumber),
  variables: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 64 }), Type.String({ maxLength: 1_000 }), {
    maxProperties: 50, description: 'Values for the agent’s declared variables; the contact’s fields and custom fields fill the rest',
  })),
  metadata: Type.Optional(MetadataSchema),
  scheduled_at: Type.Optional(Type.String({ format: 'date-time', description: 'Dial at this time (at most 30 days ahead) instead of now' })),
  max_duration_seconds: Type.Optional(Type.Integer({ minimum: 30, maximum: 7_200, description: 'Default: the agent’s' })),
  on_capacity: Type.Optional(StringEnum(['reject', 'queue'], { default: 'reject', description: 'At the concurrent-call limit: answer 429 (reject) or wait for a free slot (queue)' })),
}, { additionalProperties: false, examples: [{ agent_id: 'agt_3Jx9…', to: '+14155550100', variables: { first_name: 'Dana' }, metadata: { order: '1042' } }] })

export const CallListQuery = Type.Object({
  ...PageQuerySchema.properties,
  status: Type.Optional(StringEnum(CALL_STATUSES)),
  agent_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  contact_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  campaign_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  to: Type.Optional(Type.String({ minLength: 2, maxLength: 32, description: 'E.164' })),
  created_after: Type.Optional(Type.String({ format: 'date-time', description: 'Created at or after' })),
  created_before: Type.Optional(Type.String({ format: 'date-time', description: 'Created before' })),
}, { additionalProperties: false })

export const ConcurrencySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, description: 'Calls this account may have live at once (its plan’s, or its own on enterprise)' }),
  active: Type.Integer({ minimum: 0, description: 'Calls holding a slot: dialling, ringing or in progress' }),
  queued: Type.Integer({ minimum: 0, description: 'Calls waiting for a slot (on_capacity: queue)' }),
}, { $id: 'Concurrency', additionalProperties: false, description: 'The account’s concurrent-call slots' })

/** Registered in this order (a schema's references come before it). */
export const CALL_SCHEMAS: TSchema[] = [CallSchema, CallListSchema]
