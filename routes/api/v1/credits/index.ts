import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { CreditBalanceSchema, CreditTransactionListSchema, PageQuerySchema, problemResponses } from '../../../../src/http/schemas.js'
import { getBalance, listCreditTransactions } from '../../../../src/services/credits.js'

/** Credits: read-only. Amounts are integers in cents. */
const credits: FastifyPluginAsyncTypebox = async (fastify) => {
  const read = { scope: 'credits:read' } as const

  fastify.get('/balance', {
    config: read,
    schema: {
      tags: ['credits'], summary: 'Current credit balance', operationId: 'getCreditBalance',
      response: { 200: Type.Ref(CreditBalanceSchema), ...problemResponses() },
    },
  }, async (request) => getBalance(fastify.database.db, request.principal.account.id))

  fastify.get('/transactions', {
    config: read,
    schema: {
      tags: ['credits'], summary: 'Credit ledger, newest first', operationId: 'listCreditTransactions',
      querystring: PageQuerySchema,
      response: { 200: Type.Ref(CreditTransactionListSchema), ...problemResponses('validation_failed', 'invalid_cursor') },
    },
  }, async (request) => listCreditTransactions(fastify.database.db, request.principal.account.id, request.query))
}

export default credits
