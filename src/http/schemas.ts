import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { SCOPES } from '../scopes.js'
import { PLANS } from '../plans.js'
import { idPattern } from '../ids.js'
import { ERROR_CATALOGUE } from '../errors.js'
import { CREDIT_TRANSACTION_TYPES } from '../db/schema/index.js'
import { MAX_ALLOWLIST_ENTRIES } from '../cidr.js'
import { ATTENTION_REASONS } from '../services/key-hygiene.js'
import { USAGE_SCHEMAS } from './schemas/usage.js'
import { ALERT_SCHEMAS } from './schemas/alerts.js'
import { Nullable, StringEnum, Timestamp } from './schema-kit.js'

/**
 * Shared schemas. Each carries an `$id`, is registered once with `addSchema`, and is referenced by
 * routes with `Type.Ref`, so the OpenAPI document names it under components.schemas and SDK
 * generators produce one type for it.
 */
export { Nullable, Timestamp }

export const ScopeSchema = StringEnum(SCOPES, {
  $id: 'Scope',
  description: 'Permission scope. `X:write` implies `X:read`.',
})

export const FieldErrorSchema = Type.Object({
  field: Type.String({ description: 'JSON pointer into the request, e.g. /body/scopes/0' }),
  message: Type.String(),
}, { $id: 'FieldError' })

export const ProblemSchema = Type.Object({
  type: Type.String({ format: 'uri' }),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  code: StringEnum(Object.keys(ERROR_CATALOGUE) as (keyof typeof ERROR_CATALOGUE)[]),
  request_id: Type.String(),
  errors: Type.Optional(Type.Array(Type.Ref(FieldErrorSchema))),
}, { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details' })

export const IpAllowlistSchema = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
  maxItems: MAX_ALLOWLIST_ENTRIES,
  description: 'IPv4/IPv6 addresses or CIDRs. Empty allows any address.',
})

const keyFields = {
  id: Type.String({ pattern: idPattern('key') }),
  name: Type.String(),
  prefix: Type.String({ description: 'First characters of the key, to recognise it' }),
  last_four: Type.String(),
  scopes: Type.Array(Type.Ref(ScopeSchema)),
  ip_allowlist: Type.Array(Type.String()),
  status: StringEnum(['active', 'expired', 'revoked']),
  created_at: Timestamp,
  expires_at: Nullable(Timestamp),
  last_used_at: Nullable(Timestamp),
  revoked_at: Nullable(Timestamp),
  rotated_from: Nullable(Type.String()),
  replaced_by: Nullable(Type.String()),
  created_by: Type.String({ description: 'Key id that created this key, or `cli` / `bootstrap`' }),
  rotation_due_at: Type.String({ format: 'date-time', description: 'created_at + 90 days: rotate by then' }),
  attention: Type.Array(StringEnum(ATTENTION_REASONS), {
    description: 'Why this live key needs a look: rotation_due (within 14 days of or past 90 days), never_used, '
      + 'idle (unused 90 days), no_ip_allowlist, all_scopes, no_expiry. Empty for a healthy, revoked or expired key.',
  }),
}

export const ApiKeySchema = Type.Object(keyFields, { $id: 'ApiKey', additionalProperties: false })

export const ApiKeyWithSecretSchema = Type.Object({
  ...keyFields,
  key: Type.String({ description: 'The secret. Shown this once; store it now.' }),
}, { $id: 'ApiKeyWithSecret', additionalProperties: false })

export const RotatedApiKeySchema = Type.Object({
  ...keyFields,
  key: Type.String({ description: 'The new secret. Shown this once; store it now.' }),
  previous_key: Type.Ref(ApiKeySchema),
}, { $id: 'RotatedApiKey', additionalProperties: false })

export const PlanLimitsSchema = Type.Object({
  requests_per_hour: Type.Integer(),
  burst_per_minute: Type.Integer(),
}, { $id: 'PlanLimits' })

export const CurrentKeySchema = Type.Object({
  key: Type.Ref(ApiKeySchema),
  account: Type.Object({
    id: Type.String({ pattern: idPattern('account') }),
    name: Type.String(),
    plan: StringEnum(PLANS),
  }),
  limits: Type.Ref(PlanLimitsSchema),
  rotation_due_at: Timestamp,
}, { $id: 'CurrentKey' })

export const CreditBalanceSchema = Type.Object({
  balance: Type.Integer({ description: 'In the smallest currency unit (cents)' }),
  currency: Type.String({ examples: ['usd'] }),
  updated_at: Timestamp,
}, { $id: 'CreditBalance' })

export const CreditTransactionSchema = Type.Object({
  id: Type.String({ pattern: idPattern('creditTransaction') }),
  type: StringEnum(CREDIT_TRANSACTION_TYPES),
  amount: Type.Integer({ description: 'Signed, in cents' }),
  balance_after: Type.Integer({ description: 'In cents' }),
  currency: Type.String(),
  description: Type.String(),
  created_at: Timestamp,
}, { $id: 'CreditTransaction' })

export const AuditEntrySchema = Type.Object({
  id: Type.String({ pattern: idPattern('auditEntry') }),
  actor: Type.String({ description: 'Key id, or `cli` / `bootstrap`' }),
  actor_ip: Nullable(Type.String()),
  action: Type.String({ examples: ['key.created', 'key.updated', 'key.revoked', 'key.rotated'] }),
  target_type: Type.String(),
  target_id: Type.String(),
  before: Type.Unknown(),
  after: Type.Unknown(),
  created_at: Timestamp,
}, { $id: 'AuditEntry' })

/** `/keys/{id}`: loose on purpose — an id that is not ours is a 404, whatever its shape. */
export const KeyIdParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false })

/** `?limit=1..100&cursor=` — keyset pagination. */
export const PageQuerySchema = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'next_cursor from the previous page' })),
}, { additionalProperties: false })
export type PageQuery = Static<typeof PageQuerySchema>

export function pageOf<T extends TSchema>(item: T, id: string) {
  return Type.Object({
    data: Type.Array(item),
    has_more: Type.Boolean(),
    next_cursor: Nullable(Type.String()),
  }, { $id: id })
}

export const ApiKeyListSchema = pageOf(Type.Ref(ApiKeySchema), 'ApiKeyList')
export const CreditTransactionListSchema = pageOf(Type.Ref(CreditTransactionSchema), 'CreditTransactionList')
export const AuditEntryListSchema = pageOf(Type.Ref(AuditEntrySchema), 'AuditEntryList')

export const HealthSchema = Type.Object({ status: Type.Literal('ok') }, { $id: 'Health' })
export const ReadinessSchema = Type.Object({
  status: StringEnum(['ready', 'unavailable']),
  checks: Type.Object({
    database: StringEnum(['ok', 'error']),
    redis: StringEnum(['ok', 'error', 'not_configured']),
  }),
}, { $id: 'Readiness' })

/** Registered in this order (a schema's references come before it). */
export const SHARED_SCHEMAS: TSchema[] = [
  ScopeSchema, FieldErrorSchema, ProblemSchema, ApiKeySchema, ApiKeyWithSecretSchema, RotatedApiKeySchema,
  PlanLimitsSchema, CurrentKeySchema, CreditBalanceSchema, CreditTransactionSchema, AuditEntrySchema,
  ApiKeyListSchema, CreditTransactionListSchema, AuditEntryListSchema, HealthSchema, ReadinessSchema,
  ...USAGE_SCHEMAS,
  ...ALERT_SCHEMAS,
]

/** The error responses every authenticated operation may give, by status. */
export function problemResponses(...statuses: number[]) {
  const descriptions: Record<number, string> = {
    400: 'Invalid request', 401: 'Missing, invalid, expired or revoked API key', 403: 'Scope missing or IP not allowed',
    404: 'Not found', 409: 'Conflict', 413: 'Body too large', 415: 'Unsupported content type', 429: 'Rate limited', 503: 'Unavailable',
  }
  return Object.fromEntries(statuses.map((status) => [status, Type.Ref(ProblemSchema, { description: descriptions[status] ?? 'Error' })]))
}
