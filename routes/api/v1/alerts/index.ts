import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { IdParamsSchema, problemResponses } from '../../../../src/http/schemas.js'
import { AlertService } from '../../../../src/alerts/service.js'
import { defineGroup } from '../group.js'
import { ALERT_SCHEMAS, AlertListQuery, AlertListSchema, AlertSchema } from './schemas.js'

/** Security alerts raised by the detectors (src/alerts), listed and acknowledged per account. */
const routes: FastifyPluginAsyncTypebox = async (fastify) => {
  const alerts = fastify.services.alerts
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
  }, async (request) => alerts.list(request.principal.account.id, request.query))

  fastify.post('/:id/acknowledge', {
    config: manage,
    schema: {
      tags: ['alerts'], summary: 'Acknowledge an alert', operationId: 'acknowledgeAlert',
      description: 'Idempotent: acknowledging an acknowledged alert returns it unchanged.',
      params: IdParamsSchema,
      response: { 200: Type.Ref(AlertSchema), ...problemResponses('validation_failed', 'not_found') },
    },
  }, async (request) => alerts.acknowledge(request.principal.account.id, request.params.id, request.actor))
}

export default defineGroup({
  name: 'alerts',
  prefix: '/alerts',
  tag: { name: 'alerts', description: 'Security alerts: request spikes, failed-auth bursts, new networks, 429 storms, quota thresholds' },
  schemas: ALERT_SCHEMAS,
  service: (context) => new AlertService(context),
  routes,
})
