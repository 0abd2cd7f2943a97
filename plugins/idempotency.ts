import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest, FastifySchema, onSendHookHandler, preHandlerHookHandler } from 'fastify'
import { ApiError } from '../src/errors.js'
import { IDEMPOTENCY_KEY_PATTERN, fingerprint } from '../src/idempotency/store.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route creates something: with an `Idempotency-Key` header, the first response is stored
     * for 24 h and replayed for the same request, so a client can retry without creating twice.
     * `in-handler`: the body is a stream the handler must read first (an upload); the header is
     * checked here, and the handler's service claims the key with the body's hash.
     */
    idempotent?: boolean | 'in-handler'
  }
  interface FastifyRequest {
    /** Set when this request owns an idempotency claim, to be completed with its response. */
    idempotencyClaim: { accountId: string; key: string } | null
    /** The request's valid Idempotency-Key, on routes that claim it themselves (`in-handler`). */
    idempotencyKey: string | null
  }
}

/** Response headers a replay repeats; the others (request id, rate limits) are the retry's own. */
const STORED_HEADERS = ['content-type', 'location'] as const

/**
 * Idempotency as a route option, like `scope`: `config: { scope, idempotent: true }`. Stripe's
 * semantics — the same key with the same request replays the first response (`Idempotent-Replayed:
 * true`), with another request is a 422, while the first still runs a 409; a 5xx is not kept.
 * The claim is a row in PostgreSQL taken before the handler runs, so it holds across instances.
 */
export default fp(async (fastify) => {
  const store = fastify.idempotencyStore
  fastify.decorateRequest('idempotencyClaim', null)
  fastify.decorateRequest('idempotencyKey', null)

  const claim: preHandlerHookHandler = async function (request: FastifyRequest, reply: FastifyReply) {
    const header = request.headers['idempotency-key']
    if (header === undefined) return
    if (typeof header !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(header)) {
      throw new ApiError('invalid_idempotency_key', 'Idempotency-Key must be 1 to 255 printable ASCII characters, sent once.', {
        errors: [{ field: '/headers/idempotency-key', message: 'must be 1 to 255 printable ASCII characters' }],
      })
    }
    if (request.routeOptions.config.idempotent === 'in-handler') {
      request.idempotencyKey = header
      return
    }
    const accountId = request.principal.account.id
    const outcome = await store.claim(accountId, header, fingerprint(request.method, request.url, request.body))
    if (outcome.kind === 'claimed') {
      request.idempotencyClaim = { accountId, key: header }
      return
    }
    if (outcome.kind === 'reused') {
      throw new ApiError('idempotency_key_reused', 'This Idempotency-Key was used for a different request; use a new key for a new request.')
    }
    if (outcome.kind === 'in_progress') {
      throw new ApiError('idempotency_in_progress', 'A request with this Idempotency-Key is still being processed; retry shortly.', {
        headers: { 'retry-after': '1' },
      })
    }
    for (const [name, value] of Object.entries(outcome.response.headers)) reply.header(name, value)
    reply.header('idempotent-replayed', 'true')
    return reply.code(outcome.response.status).send(outcome.response.body)
  }

  const complete: onSendHookHandler = async function (request, reply, payload) {
    const owned = request.idempotencyClaim
    if (!owned) return payload
    request.idempotencyClaim = null
    if (reply.statusCode >= 500) {
      await store.release(owned.accountId, owned.key)
      return payload
    }
    const headers: Record<string, string> = {}
    for (const name of STORED_HEADERS) {
      const value = reply.getHeader(name)
      if (value !== undefined) headers[name] = String(value)
    }
    await store.complete(owned.accountId, owned.key, { status: reply.statusCode, headers, body: typeof payload === 'string' ? payload : String(payload ?? '') })
    return payload
  }

  fastify.addHook('onRoute', (route) => {
    const mode = route.config?.idempotent
    if (mode !== true && mode !== 'in-handler') return
    const preHandlers = route.preHandler ? (Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler]) : []
    route.preHandler = [...preHandlers, claim]
    if (mode === true) {
      const onSends = route.onSend ? (Array.isArray(route.onSend) ? route.onSend : [route.onSend]) : []
      route.onSend = [...onSends, complete]
    }
    // Documented, not validated by the schema: a bad key is `invalid_idempotency_key`, not a validation error.
    const schema = (route.schema ?? {}) as Record<string, unknown>
    route.schema = {
      ...schema,
      headers: {
        type: 'object',
        properties: {
          'idempotency-key': {
            type: 'string',
            description: 'Makes the create safe to retry: 1–255 printable ASCII characters (a UUID is a good choice). '
              + 'The first response is kept 24 h and replayed for the same request with `Idempotent-Replayed: true`; the same key '
              + 'with a different request is a 422 `idempotency_key_reused`, while the first request runs a 409 `idempotency_in_progress`.',
          },
        },
      },
      'x-idempotent': true,
    } as FastifySchema
  })
}, { name: 'idempotency', dependencies: ['scopes', 'idempotency-store'] })
