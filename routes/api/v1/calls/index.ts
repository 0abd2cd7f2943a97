import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { IdParamsSchema, problemResponses } from '../../../../src/http/schemas.js'
import { CallService } from '../../../../src/calls/service.js'
import { sendJsonPage } from '../../../../src/http/json-page.js'
import { defineGroup } from '../group.js'
import { CALL_SCHEMAS, CallListQuery, CallListSchema, CallSchema, CreateCallBody } from './schemas.js'

/** Calls: trigger one, watch it, hang it up. */
const routes: FastifyPluginAsyncTypebox = async (fastify) => {
  const calls = fastify.services.calls
  const read = { scope: 'calls:read' } as const
  const write = { scope: 'calls:write' } as const

  fastify.post('/', {
    config: { ...write, idempotent: true },
    schema: {
      tags: ['calls'], summary: 'Place a call', operationId: 'createCall',
      description: 'An agent calls a contact (`contact_id`) or a number (`to`), running the agent’s current version. Answers `queued` '
        + '(or `scheduled` with `scheduled_at`); follow it with GET. On the simulated carrier, +1 NXX 555 0100–0108 behave as documented. '
        + 'Needs a balance of at least one minute at the account’s rate; at the concurrent-call limit it is a 429 unless `on_capacity` is `queue`.',
      body: CreateCallBody,
      response: {
        201: Type.Ref(CallSchema),
        ...problemResponses('validation_failed', 'agent_not_found', 'contact_not_found', 'do_not_call', 'insufficient_credits', 'concurrency_limit', 'bad_request', 'payload_too_large', 'unsupported_media_type'),
      },
    },
  }, async (request, reply) => reply.code(201).send(await calls.create(request.principal.account.id, request.body)))

  fastify.get('/', {
    config: read,
    schema: {
      tags: ['calls'], summary: 'List calls, newest first', operationId: 'listCalls',
      description: 'Filters combine; each is served by an index. A cursor continues the list it came from, with the same filters.',
      querystring: CallListQuery,
      response: { 200: Type.Ref(CallListSchema), ...problemResponses('validation_failed', 'invalid_cursor') },
    },
  }, async (request, reply) => {
    return sendJsonPage(reply, await calls.list(request.principal.account.id, request.query))
  })

  fastify.get('/:id', {
    config: read,
    schema: {
      tags: ['calls'], summary: 'Get a call', operationId: 'getCall',
      description: 'Its state, timestamps, cost, and, once it has ended, its transcript and analysis.',
      params: IdParamsSchema,
      response: { 200: Type.Ref(CallSchema), ...problemResponses('validation_failed', 'not_found') },
    },
  }, async (request) => calls.get(request.principal.account.id, request.params.id))

  fastify.post('/:id/hangup', {
    // A retried hangup with its Idempotency-Key replays the first answer instead of a 409.
    config: { ...write, idempotent: true },
    schema: {
      tags: ['calls'], summary: 'Hang up a call', operationId: 'hangupCall',
      description: 'Scheduled, queued or ringing: `canceled`, not charged. In progress: `completed` with `end_reason: api_hangup`, charged for the seconds it ran. '
        + 'Already ended: 409 `call_already_ended`.',
      params: IdParamsSchema,
      response: { 200: Type.Ref(CallSchema), ...problemResponses('validation_failed', 'not_found', 'call_already_ended') },
    },
  }, async (request) => calls.hangup(request.principal.account.id, request.params.id))
}

export default defineGroup({
  name: 'calls',
  prefix: '/calls',
  tag: { name: 'calls', description: 'Phone calls agents place: trigger, history, hang up (scopes calls:read, calls:write)' },
  schemas: CALL_SCHEMAS,
  service: (context) => new CallService(context),
  routes,
})
