import { Type } from '@sinclair/typebox'
import { SCOPES } from '../../../../src/scopes.js'
import { PLANS } from '../../../../src/plans.js'
import { idPattern } from '../../../../src/ids.js'
import { MAX_ALLOWLIST_ENTRIES } from '../../../../src/cidr.js'
import { ATTENTION_REASONS } from '../../../../src/keys/hygiene.js'
import { DEFAULT_ROTATION_OVERLAP_SECONDS, MAX_ROTATION_OVERLAP_SECONDS } from '../../../../src/keys/service.js'
import { Label, Nullable, StringEnum, Timestamp } from '../../../../src/http/schema-kit.js'
import { PageQuerySchema, pageOf } from '../../../../src/http/schemas.js'

export const ScopeSchema = StringEnum(SCOPES, {
  $id: 'Scope',
  description: 'Permission scope. `X:write` implies `X:read`.',
})

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

export const ApiKeyListSchema = pageOf(Type.Ref(ApiKeySchema), 'ApiKeyList', 'API keys')

const Name = Label(100, { description: 'A label for people: no control or bidi-override characters', examples: ['billing-sync'] })
const Scopes = Type.Array(Type.Ref(ScopeSchema), { minItems: 1, maxItems: 13, uniqueItems: true })

export const CreateKeyBody = Type.Object({
  name: Name,
  scopes: Scopes,
  ip_allowlist: Type.Optional(IpAllowlistSchema),
  expires_at: Type.Optional(Nullable(Timestamp)),
}, {
  additionalProperties: false,
  examples: [{ name: 'billing-sync', scopes: ['calls:read', 'credits:read'], ip_allowlist: ['203.0.113.0/24'] }],
})

export const UpdateKeyBody = Type.Object({
  name: Type.Optional(Name),
  scopes: Type.Optional(Scopes),
  ip_allowlist: Type.Optional(IpAllowlistSchema),
  expires_at: Type.Optional(Nullable(Timestamp, { description: 'null removes the expiry' })),
}, { additionalProperties: false, examples: [{ name: 'billing-sync (prod)', ip_allowlist: ['203.0.113.0/24', '2001:db8::/48'] }] })

export const RotateKeyBody = Type.Object({
  expire_old_in_seconds: Type.Optional(Type.Integer({
    minimum: 0, maximum: MAX_ROTATION_OVERLAP_SECONDS, default: DEFAULT_ROTATION_OVERLAP_SECONDS,
    description: 'How long the old key keeps working (0 = stops now)',
  })),
}, { additionalProperties: false, examples: [{ expire_old_in_seconds: 3600 }] })

export const KeyListQuery = Type.Object({
  ...PageQuerySchema.properties,
  needs_attention: Type.Optional(Type.Boolean({ description: 'Only keys that need attention' })),
}, { additionalProperties: false })

/** Registered in this order (a schema's references come before it). */
export const KEY_SCHEMAS = [ScopeSchema, ApiKeySchema, ApiKeyWithSecretSchema, RotatedApiKeySchema, PlanLimitsSchema, CurrentKeySchema, ApiKeyListSchema]
