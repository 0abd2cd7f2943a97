import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { SCOPES } from '../scopes.js'
import { PLANS } from '../plans.js'
import { idPattern } from '../ids.js'
import { ERROR_CATALOGUE, type ErrorCode } from '../errors.js'
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

const EXAMPLE_KEY = {
  id: 'key_4fJ8kQ2mZx7Lp0aB3cD9eF', name: 'billing-sync', prefix: 'vxp_7Hq2LmZ9', last_four: 'x3Pa',
  scopes: ['calls:read', 'credits:read'], ip_allowlist: ['203.0.113.0/24'], status: 'active',
  created_at: '2026-12-01T16:00:00.000Z', expires_at: null, last_used_at: '2026-12-01T16:05:12.000Z', revoked_at: null,
  rotated_from: null, replaced_by: null, created_by: 'key_0aB1cD2eF3gH4iJ5kL6mN7', rotation_due_at: '2027-03-01T16:00:00.000Z',
  attention: ['no_expiry'],
}

export const ApiKeySchema = Type.Object(keyFields, { $id: 'ApiKey', additionalProperties: false, description: 'An API key, without its secret', examples: [EXAMPLE_KEY] })

export const ApiKeyWithSecretSchema = Type.Object({
  ...keyFields,
  key: Type.String({ description: 'The secret. Shown this once; store it now.' }),
}, {
  $id: 'ApiKeyWithSecret', additionalProperties: false, description: 'The new key, with its secret (shown this once)',
  // Not key-shaped on purpose: secret scanners must never flag the published spec.
  examples: [{ ...EXAMPLE_KEY, attention: ['never_used', 'no_expiry'], last_used_at: null, key: 'vxp_…(53 characters, shown once)' }],
})

export const RotatedApiKeySchema = Type.Object({
  ...keyFields,
  key: Type.String({ description: 'The new secret. Shown this once; store it now.' }),
  previous_key: Type.Ref(ApiKeySchema),
}, { $id: 'RotatedApiKey', additionalProperties: false, description: 'The successor key with its secret, and the rotated key as it now stands' })

export const PlanLimitsSchema = Type.Object({
  requests_per_hour: Type.Integer(),
  burst_per_minute: Type.Integer(),
}, { $id: 'PlanLimits', description: 'The key’s rate limits, from its account’s plan' })

export const CurrentKeySchema = Type.Object({
  key: Type.Ref(ApiKeySchema),
  account: Type.Object({
    id: Type.String({ pattern: idPattern('account') }),
    name: Type.String(),
    plan: StringEnum(PLANS),
  }),
  limits: Type.Ref(PlanLimitsSchema),
  rotation_due_at: Timestamp,
}, { $id: 'CurrentKey', description: 'The calling key, its account and limits' })

export const CreditBalanceSchema = Type.Object({
  balance: Type.Integer({ description: 'In the smallest currency unit (cents)' }),
  currency: Type.String({ examples: ['usd'] }),
  updated_at: Timestamp,
}, { $id: 'CreditBalance', description: 'The account’s credit balance, in cents', examples: [{ balance: 1000, currency: 'usd', updated_at: '2026-12-01T16:00:00.000Z' }] })

export const CreditTransactionSchema = Type.Object({
  id: Type.String({ pattern: idPattern('creditTransaction') }),
  type: StringEnum(CREDIT_TRANSACTION_TYPES),
  amount: Type.Integer({ description: 'Signed, in cents' }),
  balance_after: Type.Integer({ description: 'In cents' }),
  currency: Type.String(),
  description: Type.String(),
  created_at: Timestamp,
}, { $id: 'CreditTransaction', description: 'One credit ledger entry' })

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
}, { $id: 'AuditEntry', description: 'One audit log entry' })

/** `/keys/{id}`: loose on purpose — an id that is not ours is a 404, whatever its shape. */
export const KeyIdParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false })

/** `?limit=1..100&cursor=` — keyset pagination. */
export const DEFAULT_PAGE_LIMIT = 20
export const PageQuerySchema = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: DEFAULT_PAGE_LIMIT, description: 'Items per page (default 20)' })),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'next_cursor from the previous page' })),
}, { additionalProperties: false })
export type PageQuery = Static<typeof PageQuerySchema>

export function pageOf<T extends TSchema>(item: T, id: string, description: string) {
  return Type.Object({
    data: Type.Array(item),
    has_more: Type.Boolean(),
    next_cursor: Nullable(Type.String()),
  }, { $id: id, description: `A page of ${description}, newest first` })
}

export const ApiKeyListSchema = pageOf(Type.Ref(ApiKeySchema), 'ApiKeyList', 'API keys')
export const CreditTransactionListSchema = pageOf(Type.Ref(CreditTransactionSchema), 'CreditTransactionList', 'credit ledger entries')
export const AuditEntryListSchema = pageOf(Type.Ref(AuditEntrySchema), 'AuditEntryList', 'audit log entries')

export const HealthSchema = Type.Object({ status: Type.Literal('ok') }, { $id: 'Health', description: 'The process is up' })
export const ReadinessSchema = Type.Object({
  status: StringEnum(['ready', 'unavailable']),
  checks: Type.Object({
    database: StringEnum(['ok', 'error']),
    redis: StringEnum(['ok', 'error', 'not_configured']),
  }),
}, { $id: 'Readiness', description: 'Whether the database and Redis answer' })

/** Registered in this order (a schema's references come before it). */
export const SHARED_SCHEMAS: TSchema[] = [
  ScopeSchema, FieldErrorSchema, ProblemSchema, ApiKeySchema, ApiKeyWithSecretSchema, RotatedApiKeySchema,
  PlanLimitsSchema, CurrentKeySchema, CreditBalanceSchema, CreditTransactionSchema, AuditEntrySchema,
  ApiKeyListSchema, CreditTransactionListSchema, AuditEntryListSchema, HealthSchema, ReadinessSchema,
  ...USAGE_SCHEMAS,
  ...ALERT_SCHEMAS,
]

/** What every /api/v1 operation can answer before its handler runs: the front door. */
const FRONT_DOOR_CODES: readonly ErrorCode[] = [
  'ambiguous_credentials', 'missing_api_key', 'invalid_api_key', 'expired_api_key', 'revoked_api_key',
  'insufficient_scope', 'ip_not_allowed', 'rate_limited', 'too_many_failed_attempts',
]

/**
 * The error responses of one operation, from the codes its handler can raise (the front door's
 * are added). Grouped by status: each response's description lists its codes, the operation's own
 * first, and its example (openapi-document.ts) is a problem document with that first code.
 */
export function problemResponses(...codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>()
  for (const code of [...codes, ...FRONT_DOOR_CODES]) {
    const { status } = ERROR_CATALOGUE[code]
    const list = byStatus.get(status) ?? []
    if (!list.includes(code)) list.push(code)
    byStatus.set(status, list)
  }
  return Object.fromEntries([...byStatus].sort(([a], [b]) => a - b).map(([status, list]) => [status, Type.Ref(ProblemSchema, {
    // The codes, in backticks: finishDocument makes the response's example from the first.
    description: `${STATUS_TEXT[status] ?? 'Error'}: ${list.map((code) => `\`${code}\``).join(', ')}`,
  })]))
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request', 401: 'Not authenticated', 402: 'Payment required', 403: 'Forbidden', 404: 'Not found', 409: 'Conflict',
  413: 'Body too large', 415: 'Unsupported content type', 422: 'Unprocessable', 429: 'Too many requests', 503: 'Unavailable',
}

