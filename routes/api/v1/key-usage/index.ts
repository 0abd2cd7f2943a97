import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { IdParamsSchema, problemResponses } from '../../../../src/http/schemas.js'
import { KeyUsageService } from '../../../../src/usage/service.js'
import { defineGroup } from '../group.js'
import { KeyLogsQuerySchema, KeyUsageQuerySchema, USAGE_SCHEMAS, UsageLogListSchema, UsageSeriesSchema } from './schemas.js'

/** A key's request log and usage series (`keys:manage`). */
const routes: FastifyPluginAsyncTypebox = async (fastify) => {
  const usage = fastify.services.keyUsage
  const manage = { scope: 'keys:manage' } as const

  fastify.get('/:id/logs', {
    config: manage,
    schema: {
      tags: ['keys'], summary: 'A key’s requests, newest first', operationId: 'listKeyLogs',
      description: 'One entry per request made with the key that passed authentication and its IP allowlist, kept for '
        + 'USAGE_LOG_RETENTION_DAYS (30 by default). Entries are written in batches, so the last second or so may not be '
        + 'listed yet. Failed authentications are not here.',
      params: IdParamsSchema,
      querystring: KeyLogsQuerySchema,
      response: { 200: Type.Ref(UsageLogListSchema), ...problemResponses('validation_failed', 'invalid_cursor', 'not_found') },
    },
  }, async (request) => usage.logs(request.principal.account.id, request.params.id, request.query))

  fastify.get('/:id/usage', {
    config: manage,
    schema: {
      tags: ['keys'], summary: 'A key’s requests, errors, 429s and latency over time', operationId: 'getKeyUsage',
      description: 'A time series from per-minute rollups (a 30-day view reads no raw request rows). Buckets are UTC and '
        + 'zero-filled. p50_ms/p99_ms are upper bounds of fixed latency buckets, not exact values. Windows: '
        + 'minute ≤ 24 hours, hour ≤ 31 days, day ≤ 400 days.',
      params: IdParamsSchema,
      querystring: KeyUsageQuerySchema,
      response: { 200: Type.Ref(UsageSeriesSchema), ...problemResponses('validation_failed', 'not_found') },
    },
  }, async (request) => usage.series(request.principal.account.id, request.params.id, request.query))
}

export default defineGroup({
  name: 'keyUsage',
  prefix: '/keys',
  tag: { name: 'keys', description: 'API keys: create, list, rotate, revoke (scope keys:manage)' },
  schemas: USAGE_SCHEMAS,
  service: (context) => new KeyUsageService(context),
  routes,
})
