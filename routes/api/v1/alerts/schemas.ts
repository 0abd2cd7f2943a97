import { Type, type TSchema } from '@sinclair/typebox'
import { idPattern } from '../../../../src/ids.js'
import { ALERT_SEVERITIES, ALERT_TYPES } from '../../../../src/alerts/types.js'
import { Nullable, StringEnum, Timestamp } from '../../../../src/http/schema-kit.js'
import { PageQuerySchema, pageOf } from '../../../../src/http/schemas.js'

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

export const AlertListSchema = pageOf(Type.Ref(AlertSchema), 'AlertList', 'alerts')

export const AlertListQuery = Type.Object({
  ...PageQuerySchema.properties,
  acknowledged: Type.Optional(Type.Boolean({ description: 'true: only acknowledged alerts; false: only open ones' })),
  type: Type.Optional(Type.Ref(AlertTypeSchema)),
}, { additionalProperties: false })

/** Registered in this order (a schema's references come before it). */
export const ALERT_SCHEMAS: TSchema[] = [AlertTypeSchema, AlertSchema, AlertListSchema]
