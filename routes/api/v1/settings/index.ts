import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { problemResponses } from '../../../../src/http/schemas.js'
import { SettingsService } from '../../../../src/settings/service.js'
import { defineGroup } from '../group.js'
import { SETTINGS_SCHEMAS, SecuritySettingsPatchSchema, SecuritySettingsSchema } from './schemas.js'

/** The account's security settings: alert thresholds and the maximum key lifetime. */
const routes: FastifyPluginAsyncTypebox = async (fastify) => {
  const settings = fastify.services.settings
  const manage = { scope: 'keys:manage' } as const

  fastify.get('/security', {
    config: manage,
    schema: {
      tags: ['settings'], summary: 'The account’s security settings, defaults filled in', operationId: 'getSecuritySettings',
      response: { 200: Type.Ref(SecuritySettingsSchema), ...problemResponses() },
    },
  }, async (request) => settings.get(request.principal.account.id))

  fastify.patch('/security', {
    config: manage,
    schema: {
      tags: ['settings'], summary: 'Change some security settings', operationId: 'updateSecuritySettings',
      description: 'Send only what changes: objects merge, values replace, unknown fields are a 400. '
        + 'Needs a key holding all 13 scopes (403 `owner_key_required` otherwise). '
        + 'Returns the settings now in effect. Recorded in the audit log with before/after.',
      body: Type.Ref(SecuritySettingsPatchSchema),
      response: { 200: Type.Ref(SecuritySettingsSchema), ...problemResponses('validation_failed', 'bad_request', 'owner_key_required', 'payload_too_large', 'unsupported_media_type') },
    },
  }, async (request) => settings.update(request.principal.account.id, request.body, request.actor, request.principal.scopes))
}

export default defineGroup({
  name: 'settings',
  prefix: '/settings',
  tag: { name: 'settings', description: 'Account security settings: alert thresholds, maximum key lifetime' },
  schemas: SETTINGS_SCHEMAS,
  service: (context) => new SettingsService(context),
  routes,
})
