import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { PageQuerySchema, problemResponses } from '../../../../src/http/schemas.js'
import { AlertListSchema, AlertSchema, AlertTypeSchema } from '../../../../src/http/schemas/alerts.js'
import { acknowledgeAlert, listAlerts } from '../../../../src/alerts/service.js'

const AlertListQuery = Type.Object({
  ...PageQuerySchema.properties,
  acknowledged: Type.Optional(Type.Boolean({ description: 'true: only acknowledged alerts; false: only open ones' })),
  type: Type.Optional(Type.Ref(AlertTypeSchema)),
}, { additionalProperties: false })

const AlertParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false })

/** Security alerts raised by the detectors (src/alerts), listed and acknowledged per account. */
const alerts: FastifyPluginAsyncTypebox = async (fastify) => {
  const manage = { scope: 'keys:manage' } as const

  fastify.get('/', {
    config: manage,
    schema: {
      tags: ['alerts'], summary: 'List security alerts, newest first', operationId: 'listAlerts',
      description: 'Alerts from the detectors: request_spike, failed_auth_burst, new_network, rate_limit_storm, quota_threshold. '
        + 'Thresholds are set per account with PATCH /api/v1/settings/security.',
      querystring: AlertListQuery,
      response: { 200: Type.Ref(AlertListSchema), ...problemResponses('validation_failed', 'invalid_cursor') },
    },
  }, async (request) => listAlerts(fastify.database.db, request.principal.account.id, {
    limit: request.query.limit,
    cursor: request.query.cursor,
    acknowledged: request.query.acknowledged,
    type: request.query.type,
  }))

  fastify.post('/:id/acknowledge', {
    config: manage,
    schema: {
      tags: ['alerts'], summary: 'Acknowledge an alert', operationId: 'acknowledgeAlert',
      description: 'Idempotent: acknowledging an acknowledged alert returns it unchanged.',
      params: AlertParams,
      response: { 200: Type.Ref(AlertSchema), ...problemResponses('validation_failed', 'not_found') },
    },
  }, async (request) => acknowledgeAlert(fastify.database.db, request.principal.account.id, request.params.id, {
    id: request.principal.key.id,
    ip: request.ip,
  }))
}

export default alerts
