import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { PageQuerySchema, problemResponses } from '../../../../src/http/schemas.js'
import { AuditService } from '../../../../src/audit/service.js'
import { defineGroup } from '../group.js'
import { AUDIT_SCHEMAS, AuditEntryListSchema } from './schemas.js'

/** The account's append-only audit log: read here, never changed through the API. */
const routes: FastifyPluginAsyncTypebox = async (fastify) => {
  const audit = fastify.services.audit
  fastify.get('/', {
    config: { scope: 'keys:manage' },
    schema: {
      tags: ['audit'], summary: 'Audit log, newest first', operationId: 'listAuditLog',
      querystring: PageQuerySchema,
      response: { 200: Type.Ref(AuditEntryListSchema), ...problemResponses('validation_failed', 'invalid_cursor') },
    },
  }, async (request) => audit.list(request.principal.account.id, request.query))
}

export default defineGroup({
  name: 'audit',
  prefix: '/audit-log',
  tag: { name: 'audit', description: 'Append-only audit log of every change: actor key, IP, before/after' },
  schemas: AUDIT_SCHEMAS,
  service: (context) => new AuditService(context),
  routes,
})
