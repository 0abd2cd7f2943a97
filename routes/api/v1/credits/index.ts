import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { PageQuerySchema, problemResponses } from '../../../../src/http/schemas.js'
import { CreditService } from '../../../../src/credits/service.js'
import { defineGroup } from '../group.js'
import { CREDIT_SCHEMAS, CreditBalanceSchema, CreditTransactionListSchema } from './schemas.js'

/** Credits: read-only. Amounts are integers in cents. */
const routes: FastifyPluginAsyncTypebox = async (fastify) => {
  const credits = fastify.services.credits
  const read = { scope: 'credits:read' } as const

  fastify.get('/balance', {
    config: read,
    schema: {
      tags: ['credits'], summary: 'Current credit balance', operationId: 'getCreditBalance',
      response: { 200: Type.Ref(CreditBalanceSchema), ...problemResponses() },
    },
  }, async (request) => credits.balance(request.principal.account.id))

  fastify.get('/transactions', {
    config: read,
    schema: {
      tags: ['credits'], summary: 'Credit ledger, newest first', operationId: 'listCreditTransactions',
      querystring: PageQuerySchema,
      response: { 200: Type.Ref(CreditTransactionListSchema), ...problemResponses('validation_failed', 'invalid_cursor') },
    },
  }, async (request) => credits.transactions(request.principal.account.id, request.query))
}

export default defineGroup({
  name: 'credits',
  prefix: '/credits',
  tag: { name: 'credits', description: 'Credit balance and ledger (read-only)' },
  schemas: CREDIT_SCHEMAS,
  service: (context) => new CreditService(context),
  routes,
})
