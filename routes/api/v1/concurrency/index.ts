import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { problemResponses } from '../../../../src/http/schemas.js'
import { ConcurrencyService } from '../../../../src/calls/concurrency.js'
import { defineGroup } from '../group.js'
import { ConcurrencySchema } from '../calls/schemas.js'

const routes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/', {
    config: { scope: 'calls:read' },
    schema: {
      tags: ['calls'], summary: 'Concurrent-call slots', operationId: 'getConcurrency',
      description: 'How many calls the account may have live at once, how many are, and how many wait for a slot.',
      response: { 200: Type.Ref(ConcurrencySchema), ...problemResponses() },
    },
  }, async (request) => fastify.services.concurrency.get(request.principal.account.id))
}

export default defineGroup({
  name: 'concurrency',
  prefix: '/concurrency',
  schemas: [ConcurrencySchema],
  service: (context) => new ConcurrencyService(context),
  routes,
})
