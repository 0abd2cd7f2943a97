import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { problemResponses } from '../../../../src/http/schemas.js'
import { SecuritySettingsPatchSchema } from '../../../../src/http/schemas/alerts.js'
import { SecuritySettingsSchema } from '../../../../src/settings.js'
import { getSecuritySettings, updateSecuritySettings } from '../../../../src/services/security-settings.js'

/** The account's security settings: alert thresholds and the maximum key lifetime. */
const settings: FastifyPluginAsyncTypebox = async (fastify) => {
  const manage = { scope: 'keys:manage' } as const

  fastify.get('/security', {
    config: manage,
    schema: {
      tags: ['settings'], summary: 'The account’s security settings, defaults filled in', operationId: 'getSecuritySettings',
      response: { 200: Type.Ref(SecuritySettingsSchema), ...problemResponses() },
    },
  }, async (request) => getSecuritySettings(fastify.database.db, request.principal.account.id))

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
  }, async (request) => {
    const accountId = request.principal.account.id
    const { settings: updated, changed } = await updateSecuritySettings(fastify.database.db, accountId, request.body, {
      id: request.principal.key.id,
      ip: request.ip,
    }, request.principal.scopes)
    // The verifier caches the account (settings included) on every instance.
    if (changed) await fastify.events.publish({ type: 'account.changed', accountId })
    return updated
  })
}

export default settings
