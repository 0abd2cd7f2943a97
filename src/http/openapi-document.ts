/**
 * Finishing touches on the generated OpenAPI document that hold for every operation, applied in
 * one place so no route can forget them: the media type errors really leave with, the response
 * headers the pipeline sets, the 503 any database-backed operation can answer, and bodies a route
 * declares optional (`x-body-optional`).
 */

import { ERROR_CATALOGUE, type ErrorCode } from '../errors.js'

const PROBLEM_REF = '#/components/schemas/Problem'
const header = (name: string) => ({ $ref: `#/components/headers/${name}` })

/** components.headers: every response header the service sets, described once. */
export const RESPONSE_HEADERS = {
  'X-Request-Id': {
    description: 'This request’s id (`req_…`); quote it to support. Also `request_id` in every error.',
    schema: { type: 'string', examples: ['req_019a3f5e7c2b4d7f9a1e2c3b4a5d6e7f'] },
  },
  'X-RateLimit-Limit': {
    description: 'The limit of whichever rate-limit window is closest to running out (the key’s, or for refused '
      + 'authentication the client address’s failed-attempt limit).',
    schema: { type: 'integer', examples: [100] },
  },
  'X-RateLimit-Remaining': {
    description: 'Requests left in that window.',
    schema: { type: 'integer', examples: [99] },
  },
  'X-RateLimit-Reset': {
    description: 'Unix epoch seconds at which that window’s current bucket closes.',
    schema: { type: 'integer', examples: [1796140800] },
  },
  'RateLimit-Policy': {
    description: 'Every window that applies (IETF httpapi draft), e.g. `"minute";q=100;w=60, "hour";q=1000;w=3600`.',
    schema: { type: 'string', examples: ['"minute";q=100;w=60, "hour";q=1000;w=3600'] },
  },
  'Retry-After': {
    description: 'Seconds to wait before retrying.',
    schema: { type: 'integer', examples: [12] },
  },
  'Deprecation': {
    description: 'Present when the key was rotated (RFC 9745): `@<epoch seconds>` of the rotation.',
    schema: { type: 'string', examples: ['@1796140800'] },
  },
  'Sunset': {
    description: 'Present when the key was rotated (RFC 8594): when it stops working.',
    schema: { type: 'string', examples: ['Wed, 02 Dec 2026 16:00:00 GMT'] },
  },
  'X-API-Key-Rotation-Due': {
    description: 'Present from 14 days before the key’s 90-day rotation date: that date (ISO 8601).',
    schema: { type: 'string', format: 'date-time', examples: ['2027-03-01T16:00:00.000Z'] },
  },
  'WWW-Authenticate': {
    description: 'The authentication scheme: `Bearer realm="voxpria"`.',
    schema: { type: 'string', examples: ['Bearer realm="voxpria"'] },
  },
  'Idempotent-Replayed': {
    description: '`true` when this response is the stored answer to an earlier request with the same `Idempotency-Key`.',
    schema: { type: 'string', enum: ['true'] },
  },
} as const

const RATE_LIMIT_HEADERS = ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'RateLimit-Policy'] as const
const KEY_NOTICE_HEADERS = ['Deprecation', 'Sunset', 'X-API-Key-Rotation-Due'] as const

interface Response {
  description?: string
  headers?: Record<string, unknown>
  content?: Record<string, { schema?: { $ref?: string }; example?: unknown }>
}
interface Operation {
  requestBody?: { required?: boolean; content?: Record<string, { schema?: { $ref?: string }; example?: unknown }> }
  responses?: Record<string, Response>
  'x-body-optional'?: boolean
  'x-idempotent'?: boolean
  /** A body the handler streams (no schema to validate it): content type → description. */
  'x-streamed-body'?: Record<string, { description: string; example: string }>
  [key: string]: unknown
}
interface Document {
  paths?: Record<string, Record<string, Operation>>
  components?: Record<string, unknown>
}

const EXAMPLE_DETAILS: Partial<Record<ErrorCode, string>> = {
  validation_failed: '/body/name must NOT have fewer than 1 characters.',
  missing_api_key: 'Send your API key as "Authorization: Bearer <key>" or "X-API-Key: <key>".',
  insufficient_scope: 'This operation needs the keys:manage scope, which this key does not hold.',
  rate_limited: 'This key reached its burst limit of 100 requests per minute; retry in 12 s.',
}

export function exampleProblem(code: ErrorCode) {
  const { status, title } = ERROR_CATALOGUE[code]
  return {
    type: `https://docs.voxpria.com/errors/${code}`, title, status,
    detail: EXAMPLE_DETAILS[code] ?? `${title}.`, code, request_id: 'req_019a3f5e7c2b4d7f9a1e2c3b4a5d6e7f',
    ...(code === 'validation_failed' ? { errors: [{ field: '/body/name', message: 'must NOT have fewer than 1 characters' }] } : {}),
  }
}

export function finishDocument(document: Document): Document {
  document.components = { ...document.components, headers: RESPONSE_HEADERS }
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    const authenticated = path.startsWith('/api/v1/')
    for (const operation of Object.values(item)) {
      if (!operation || typeof operation !== 'object' || !operation.responses) continue
      if (operation['x-body-optional'] && operation.requestBody) operation.requestBody.required = false
      delete operation['x-body-optional']
      const streamed = operation['x-streamed-body']
      if (streamed) {
        operation.requestBody = {
          required: true,
          content: Object.fromEntries(Object.entries(streamed).map(([type, { description, example }]) => [type, { schema: { type: 'string', description }, example }])) as never,
        }
        delete operation['x-streamed-body']
      }
      liftBodyExample(operation, document)
      if (authenticated && !operation.responses['503']) {
        operation.responses['503'] = {
          description: 'Unavailable: `database_unavailable`, `service_unavailable` (the limiter, with RATE_LIMIT_ON_REDIS_ERROR=closed); retry after Retry-After',
          content: { 'application/json': { schema: { $ref: PROBLEM_REF } } },
        }
      }
      for (const [status, response] of Object.entries(operation.responses)) {
        relabelProblem(response)
        response.headers = { ...response.headers, ...headersFor(status, authenticated, operation['x-idempotent'] === true) }
      }
    }
  }
  return document
}

/**
 * @fastify/swagger labels every response application/json; errors leave as problem+json. Each
 * gets a real example: a problem document with the first code its description lists.
 */
function relabelProblem(response: Response): void {
  const json = response.content?.['application/json']
  if (json?.schema?.$ref !== PROBLEM_REF) return
  const code = /`([a-z_]+)`/.exec(response.description ?? '')?.[1]
  response.content = { 'application/problem+json': code && code in ERROR_CATALOGUE ? { ...json, example: exampleProblem(code as ErrorCode) } : json }
}

/** A body given by $ref shows the component's first example as the media example ("Try it out"). */
function liftBodyExample(operation: Operation, document: Document): void {
  const media = operation.requestBody?.content?.['application/json']
  const name = /^#\/components\/schemas\/(.+)$/.exec(media?.schema?.$ref ?? '')?.[1]
  if (!media || !name || media.example !== undefined) return
  const schemas = (document.components?.schemas ?? {}) as Record<string, { examples?: unknown[] }>
  const example = schemas[name]?.examples?.[0]
  // A copy: the same object twice would be written as a YAML anchor and alias.
  if (example !== undefined) media.example = structuredClone(example)
}

function headersFor(status: string, authenticated: boolean, idempotent: boolean): Record<string, unknown> {
  const names: string[] = ['X-Request-Id']
  if (authenticated) names.push(...RATE_LIMIT_HEADERS)
  if (status === '429' || status === '503') names.push('Retry-After')
  if (status === '401') names.push('WWW-Authenticate')
  if (authenticated && status.startsWith('2')) names.push(...KEY_NOTICE_HEADERS)
  if (idempotent && status.startsWith('2')) names.push('Idempotent-Replayed')
  return Object.fromEntries(names.map((name) => [name, header(name)]))
}
