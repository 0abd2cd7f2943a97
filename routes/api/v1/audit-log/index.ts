import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { AuditEntryListSchema, PageQuerySchema, problemResponses } from '../../../../src/http/schemas.js'
import { listAuditEntries } from '../../../../src/services/audit.js'

/** The account's append-only audit log: read here, never changed through the API. */
const auditLog: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/', {
    config: { scope: 'keys:manage' },
    schema: {
      tags: ['audit'], summary: 'Audit log, newest first', operationId: 'listAuditLog',
      querystring: PageQuerySchema,
      response: { 200: Type.Ref(AuditEntryListSchema), ...problemResponses('validation_failed', 'invalid_cursor') },
    },
  }, async (request) => listAuditEntries(fastify.database.db, request.principal.account.id, request.query))
}

export default auditLog
