import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ApiError } from '../src/errors.js'
import { fromFastifyError, toProblem, validationError } from '../src/http/problem.js'
import { isDatabaseUnreachable } from '../src/db/availability.js'

export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: ApiError): FastifyReply {
  for (const [name, value] of Object.entries(error.options.headers ?? {})) reply.header(name, value)
  // Also here, not only in onSend: errors raised before routing skip the route's hooks.
  reply.header('x-request-id', request.id)
  return reply
    .code(error.status)
    .type('application/problem+json; charset=utf-8')
    .send(JSON.stringify(toProblem(error, request.id)))
}

/**
 * Every error leaves as RFC 9457 problem+json with a catalogue code. Anything not recognised is a
 * 500 whose body says nothing about the cause; the cause goes to the log with the request id.
 */
export default fp(async (fastify) => {
  fastify.setErrorHandler((error: Error & { validation?: unknown[]; validationContext?: string; statusCode?: number; code?: string }, request, reply) => {
    if (error instanceof ApiError) return sendProblem(request, reply, error)
    if (Array.isArray(error.validation)) {
      return sendProblem(request, reply, validationError(error.validation as Parameters<typeof validationError>[0], error.validationContext))
    }
    const mapped = fromFastifyError(error)
    if (mapped) return sendProblem(request, reply, mapped)
    if (isDatabaseUnreachable(error)) {
      // An outage, logged once per episode by the database plugin; the client may simply retry.
      request.log.debug({ err: error }, 'request needed the database, which is unreachable')
      return sendProblem(request, reply, new ApiError('database_unavailable', 'The database is unreachable; retry shortly.', {
        headers: { 'retry-after': '1' },
      }))
    }
    request.log.error({ err: error }, 'unhandled error')
    return sendProblem(request, reply, new ApiError('internal_error', 'Something went wrong on our side. Quote the request_id if you contact support.'))
  })

  fastify.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]
    return sendProblem(request, reply, new ApiError('route_not_found', `No route ${request.method} ${path}.`))
  })
}, { name: 'errors' })
