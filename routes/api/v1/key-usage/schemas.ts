import { Type } from '@sinclair/typebox'
import { GRANULARITIES } from '../../../../src/usage/queries.js'
import { OVERFLOW_REPORTED_MS } from '../../../../src/usage/histogram.js'
import { Nullable, StringEnum, Timestamp } from '../../../../src/http/schema-kit.js'
import { PageQuerySchema, pageOf } from '../../../../src/http/schemas.js'

const LatencyBound = Nullable(Type.Integer({ minimum: 0 }), {
  description: 'Upper bound, in ms, of the fixed latency bucket (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, '
    + `5000, 10000, ${OVERFLOW_REPORTED_MS}) holding this percentile — an upper bound, not an exact value; `
    + `${OVERFLOW_REPORTED_MS} also stands for anything slower. Null when the bucket holds no request.`,
})

export const UsageLogEntrySchema = Type.Object({
  id: Type.String({ description: 'The request id, as sent back in X-Request-Id' }),
  method: Type.String(),
  route: Type.String({ description: 'The route pattern (`/api/v1/keys/:id`), or `(not found)`; never the raw URL or its query' }),
  status: Type.Integer(),
  latency_ms: Type.Integer({ minimum: 0 }),
  client_ip: Type.String(),
  user_agent: Nullable(Type.String(), { description: 'First 256 characters' }),
  rate_limit: StringEnum(['allowed', 'limited'], { description: '`limited`: answered 429 by the key’s rate limit' }),
  created_at: Timestamp,
}, { $id: 'UsageLogEntry', additionalProperties: false, description: 'One request made with the key' })

export const UsageLogListSchema = pageOf(Type.Ref(UsageLogEntrySchema), 'UsageLogList', 'the key’s requests')

export const UsageBucketSchema = Type.Object({
  start: Timestamp,
  requests: Type.Integer({ minimum: 0 }),
  errors: Type.Integer({ minimum: 0, description: 'Responses with status 400 or above (429s included)' }),
  rate_limited: Type.Integer({ minimum: 0, description: 'Requests answered 429 by the key’s rate limit' }),
  p50_ms: LatencyBound,
  p99_ms: LatencyBound,
}, { $id: 'UsageBucket', additionalProperties: false, description: 'One time bucket of the series' })

export const UsageSeriesSchema = Type.Object({
  key_id: Type.String(),
  granularity: StringEnum(GRANULARITIES),
  from: Type.String({ format: 'date-time', description: 'Start of the first bucket (the requested `from`, rounded down to its bucket)' }),
  to: Timestamp,
  data: Type.Array(Type.Ref(UsageBucketSchema), {
    description: 'Every bucket from `from` to `to`, oldest first, UTC; buckets without requests are present with zeros',
  }),
}, { $id: 'UsageSeries', additionalProperties: false, description: 'The key’s usage over time' })

export const KeyLogsQuerySchema = Type.Object({
  ...PageQuerySchema.properties,
  status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599, description: 'Only responses with this status' })),
  created_after: Type.Optional(Type.String({ format: 'date-time', description: 'Only requests at or after this time' })),
  created_before: Type.Optional(Type.String({ format: 'date-time', description: 'Only requests before this time' })),
  ip: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Only requests from this client address' })),
}, { additionalProperties: false })

export const KeyUsageQuerySchema = Type.Object({
  granularity: Type.Optional(StringEnum(GRANULARITIES, { default: 'hour', description: 'Bucket size (default hour)' })),
  from: Type.Optional(Type.String({
    format: 'date-time',
    description: 'Default: 1 hour (minute), 24 hours (hour) or 30 days (day) before `to`. At most 24 hours, 31 days or 400 days before `to`.',
  })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Default: now' })),
}, { additionalProperties: false })

/** Registered in this order (a schema's references come before it). */
export const USAGE_SCHEMAS = [UsageLogEntrySchema, UsageLogListSchema, UsageBucketSchema, UsageSeriesSchema]
