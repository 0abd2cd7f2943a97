import { Type, type TSchema } from '@sinclair/typebox'
import { idPattern } from '../../ids.js'
import { ALERT_SEVERITIES, ALERT_TYPES } from '../../alerts/types.js'
import { SecuritySettingsSchema } from '../../settings.js'
import { partialDeep } from '../partial-deep.js'
import { Nullable, StringEnum, Timestamp } from '../schema-kit.js'

export const AlertTypeSchema = StringEnum(ALERT_TYPES, { $id: 'AlertType' })

export const AlertSchema = Type.Object({
  id: Type.String({ pattern: idPattern('alert') }),
  type: Type.Ref(AlertTypeSchema),
  severity: StringEnum(ALERT_SEVERITIES),
  key_id: Nullable(Type.String(), { description: 'The key concerned; null when several are (e.g. an account-wide failed_auth_burst)' }),
  details: Type.Record(Type.String(), Type.Unknown(), {
    description: 'Per type: request_spike {requests, baseline_per_5_minutes, factor, min_requests}; '
      + 'failed_auth_burst {scope: ip|account, ip | ips, failures, key_prefixes, reasons, threshold}; '
      + 'new_network {network, ip, user_agent, first_seen_at}; rate_limit_storm {rate_limited, minutes, threshold}; '
      + 'quota_threshold {level: 80|100, requests, hourly_limit}; plus window_start/window_end where a window applies. '
      + 'Never a key: at most its display prefix.',
  }),
  created_at: Timestamp,
  acknowledged_at: Nullable(Timestamp),
  acknowledged_by: Nullable(Type.String(), { description: 'Key id that acknowledged it' }),
}, { $id: 'Alert', additionalProperties: false, description: 'Also the payload of the `alert.created` event' })

export const AlertListSchema = Type.Object({
  data: Type.Array(Type.Ref(AlertSchema)),
  has_more: Type.Boolean(),
  next_cursor: Nullable(Type.String()),
}, { $id: 'AlertList', description: 'A page of alerts, newest first' })

export const SecuritySettingsPatchSchema = partialDeep(SecuritySettingsSchema, {
  $id: 'SecuritySettingsPatch',
  description: 'Any subset of the security settings; objects merge, values replace. Unknown fields are refused.',
  examples: [{ max_key_lifetime_days: 90, alerts: { failed_auth_burst: { threshold: 10 } } }],
})

/** Appended to SHARED_SCHEMAS (a schema's references come before it). */
export const ALERT_SCHEMAS: TSchema[] = [AlertTypeSchema, AlertSchema, AlertListSchema, SecuritySettingsSchema, SecuritySettingsPatchSchema]
