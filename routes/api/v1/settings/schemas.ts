import type { TSchema } from '@sinclair/typebox'
import { SecuritySettingsSchema } from '../../../../src/settings/settings.js'
import { partialDeep } from '../../../../src/http/partial-deep.js'

export { SecuritySettingsSchema }

export const SecuritySettingsPatchSchema = partialDeep(SecuritySettingsSchema, {
  $id: 'SecuritySettingsPatch',
  description: 'Any subset of the security settings; objects merge, values replace. Unknown fields are refused.',
  examples: [{ max_key_lifetime_days: 90, alerts: { failed_auth_burst: { threshold: 10 } } }],
})

/** Registered in this order (a schema's references come before it). */
export const SETTINGS_SCHEMAS: TSchema[] = [SecuritySettingsSchema, SecuritySettingsPatchSchema]
