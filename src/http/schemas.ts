import { Type, type TSchema } from '@sinclair/typebox'
import { ERROR_CATALOGUE, type ErrorCode } from '../errors.js'
import { Nullable, StringEnum, Timestamp } from './schema-kit.js'
import { DEFAULT_LIMIT } from '../resource/list-page.js'

/**
 * Shared schemas. Each carries an `$id`, is registered once with `addSchema`, and is referenced by
 * routes with `Type.Ref`, so the OpenAPI document names it under components.schemas and SDK
 * generators produce one type for it.
 */
export { Nullable, Timestamp }

export const FieldErrorSchema = Type.Object({
  field: Type.String({ description: 'JSON pointer into the request, e.g. /body/scopes/0' }),
  message: Type.String(),
}, { $id: 'FieldError' })

export const ProblemSchema = Type.Object({
  type: Type.String({ format: 'uri' }),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  code: StringEnum(Object.keys(ERROR_CATALOGUE) as (keyof typeof ERROR_CATALOGUE)[]),
  request_id: Type.String(),
  errors: Type.Optional(Type.Array(Type.Ref(FieldErrorSchema))),
}, { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details' })

/**
 * `/{group}/{id}` path parameters: loose on purpose — an id that is not ours (or not an id at all)
 * is a 404, whatever its shape, so the length bound is all a schema says.
 */
export const IdParamsSchema = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false })

/** `?limit=1..100&cursor=` — keyset pagination. */
export const PageQuerySchema = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: DEFAULT_LIMIT, description: 'Items per page (default 20)' })),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'next_cursor from the previous page' })),
}, { additionalProperties: false })

/** A list's response: `{ data, has_more, next_cursor }`, named `id` in the document. */
export function pageOf<T extends TSchema>(item: T, id: string, description: string) {
  return Type.Object({
    data: Type.Array(item),
    has_more: Type.Boolean(),
    next_cursor: Nullable(Type.String()),
  }, { $id: id, description: `A page of ${description}, newest first` })
}

export const HealthSchema = Type.Object({ status: Type.Literal('ok') }, { $id: 'Health', description: 'The process is up' })
export const ReadinessSchema = Type.Object({
  status: StringEnum(['ready', 'unavailable']),
  checks: Type.Object({
    database: StringEnum(['ok', 'error']),
    redis: StringEnum(['ok', 'error', 'not_configured']),
  }),
}, { $id: 'Readiness', description: 'Whether the database and Redis answer' })

/** Schemas no one group owns, registered before every group's own (a schema's references come before it). */
export const SHARED_SCHEMAS: TSchema[] = [FieldErrorSchema, ProblemSchema, HealthSchema, ReadinessSchema]

/** What every /api/v1 operation can answer before its handler runs: the front door. */
const FRONT_DOOR_CODES: readonly ErrorCode[] = [
  'ambiguous_credentials', 'missing_api_key', 'invalid_api_key', 'expired_api_key', 'revoked_api_key',
  'insufficient_scope', 'ip_not_allowed', 'rate_limited', 'too_many_failed_attempts',
]

/**
 * The error responses of one operation, from the codes its handler can raise (the front door's
 * are added). Grouped by status: each response's description lists its codes, the operation's own
 * first, and its example (openapi-document.ts) is a problem document with that first code.
 */
export function problemResponses(...codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>()
  for (const code of [...codes, ...FRONT_DOOR_CODES]) {
    const { status } = ERROR_CATALOGUE[code]
    const list = byStatus.get(status) ?? []
    if (!list.includes(code)) list.push(code)
    byStatus.set(status, list)
  }
  return Object.fromEntries([...byStatus].sort(([a], [b]) => a - b).map(([status, list]) => [status, Type.Ref(ProblemSchema, {
    // The codes, in backticks: finishDocument makes the response's example from the first.
    description: `${STATUS_TEXT[status] ?? 'Error'}: ${list.map((code) => `\`${code}\``).join(', ')}`,
  })]))
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request', 401: 'Not authenticated', 402: 'Payment required', 403: 'Forbidden', 404: 'Not found', 409: 'Conflict',
  413: 'Body too large', 415: 'Unsupported content type', 422: 'Unprocessable', 429: 'Too many requests', 503: 'Unavailable',
}

