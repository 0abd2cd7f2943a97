import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

/**
 * An account's security settings. Stored as the account's overrides only; `resolveSettings` fills
 * in the defaults, so changing a default later reaches every account that never chose otherwise.
 */
export const SecuritySettingsSchema = Type.Object({
  /** New keys get `expires_at` = creation + this many days (and may not ask for later). */
  max_key_lifetime_days: Type.Union([Type.Integer({ minimum: 1, maximum: 3650 }), Type.Null()], { default: null }),
  alerts: Type.Object({
    request_spike: Type.Object({
      enabled: Type.Boolean({ default: true }),
      /** Fires when the last 5 minutes exceed `factor` × the trailing hour's 5-minute average… */
      factor: Type.Number({ minimum: 1.5, maximum: 1000, default: 5 }),
      /** …and at least this many requests, so a quiet key's 3 → 20 is not a spike. */
      min_requests: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 100 }),
    }, { additionalProperties: false, default: {} }),
    failed_auth_burst: Type.Object({
      enabled: Type.Boolean({ default: true }),
      /** Failures in 5 minutes, from one address or against the account's key prefixes. */
      threshold: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 20 }),
    }, { additionalProperties: false, default: {} }),
    new_network: Type.Object({
      enabled: Type.Boolean({ default: true }),
    }, { additionalProperties: false, default: {} }),
    rate_limit_storm: Type.Object({
      enabled: Type.Boolean({ default: true }),
      /** 429s in 5 minutes, spread over at least 3 of those minutes (sustained, not a blip). */
      threshold: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 50 }),
    }, { additionalProperties: false, default: {} }),
    quota_threshold: Type.Object({
      enabled: Type.Boolean({ default: true }),
    }, { additionalProperties: false, default: {} }),
  }, { additionalProperties: false, default: {} }),
}, { additionalProperties: false, $id: 'SecuritySettings', description: 'The account’s security settings in effect, defaults filled in' })

export type SecuritySettings = Static<typeof SecuritySettingsSchema>

/** The settings an account effectively has: its stored overrides over the defaults. */
export function resolveSettings(stored: unknown): SecuritySettings {
  return Value.Default(SecuritySettingsSchema, structuredClone(stored ?? {})) as SecuritySettings
}

/** Deep-merges a PATCH onto stored settings (objects merge, scalars replace). */
export function mergeSettings(current: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch
  const base = current !== null && typeof current === 'object' && !Array.isArray(current) ? current as Record<string, unknown> : {}
  const merged: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) merged[key] = mergeSettings(base[key], value)
  return merged
}
