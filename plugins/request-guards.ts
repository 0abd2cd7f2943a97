import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { ApiError } from '../src/errors.js'

/**
 * More headers than any real client sends. Node keeps at most 2,000 and drops the rest silently,
 * so a check that looks at every header (two credentials are a 400) could be outrun by padding;
 * refusing anything above this cap closes that gap whatever Node keeps.
 */
export const MAX_HEADER_COUNT = 100

/** The JSON pointer of the first string holding U+0000 in `value`, or undefined. */
export function findNul(value: unknown, pointer: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? pointer : undefined
  if (value === null || typeof value !== 'object') return undefined
  for (const [key, item] of Object.entries(value)) {
    const escaped = key.replaceAll('~', '~0').replaceAll('/', '~1')
    if (key.includes('\u0000')) return `${pointer}/${escaped}`
    const found = findNul(item, `${pointer}/${escaped}`)
    if (found) return found
  }
  return undefined
}

function nulError(field: string): ApiError {
  return new ApiError('validation_failed', `${field} contains the NUL character (U+0000), which no field may hold.`, {
    errors: [{ field, message: 'may not contain U+0000' }],
  })
}

/**
 * Checks every request needs before any route sees it: a header-count cap, JSON bodies parsed
 * by one parser (an empty body with a JSON content type means "no body"), and no U+0000 in any
 * string of the query, path or body — PostgreSQL cannot store it, and it is never meaningful.
 */
export default fp(async (fastify) => {
  // A JSON API: bodies of any other type (Fastify also parses text/plain by default) are a 415.
  fastify.removeContentTypeParser('text/plain')
  const parseJson = fastify.getDefaultJsonParser('error', 'error')
  fastify.removeContentTypeParser('application/json')
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string
    // `Content-Type: application/json` and nothing else (some clients send it on every POST).
    if (text.length === 0) return done(null, undefined)
    parseJson(request, text, (error, value) => {
      if (error) return done(error, undefined)
      // JSON can only spell U+0000 as an escape: the text tells whether the tree needs a walk.
      const field = text.includes('\\u0000') ? findNul(value, '/body') : undefined
      if (field) return done(nulError(field), undefined)
      done(null, value)
    })
  })

  fastify.addHook('onRequest', (request, _reply, done) => {
    // rawHeaders is a flat [name, value, name, value…] list.
    if (request.raw.rawHeaders.length > MAX_HEADER_COUNT * 2) {
      return done(new ApiError('request_header_fields_too_large', `Send at most ${MAX_HEADER_COUNT} request headers.`))
    }
    done()
  })

  fastify.addHook('preValidation', (request: FastifyRequest, _reply, done) => {
    const field = findNul(request.params, '/params') ?? findNul(request.query, '/querystring')
    done(field ? nulError(field) : undefined)
  })
}, { name: 'request-guards', dependencies: ['errors'] })
