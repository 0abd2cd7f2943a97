/**
 * The one error catalogue. Every error the API can answer with is named here once, with its HTTP
 * status and title; handlers and plugins throw `new ApiError(code, detail)` and the errors plugin
 * renders it as RFC 9457 problem+json. Codes are part of the public contract: never rename one.
 */
export const ERROR_CATALOGUE = {
  bad_request: { status: 400, title: 'Bad request' },
  validation_failed: { status: 400, title: 'Request validation failed' },
  ambiguous_credentials: { status: 400, title: 'Ambiguous credentials' },
  invalid_ip_allowlist: { status: 400, title: 'Invalid IP allowlist' },
  invalid_cursor: { status: 400, title: 'Invalid pagination cursor' },
  invalid_idempotency_key: { status: 400, title: 'Invalid Idempotency-Key' },
  unsupported_schema_version: { status: 400, title: 'Unsupported schema version' },
  missing_api_key: { status: 401, title: 'Missing API key' },
  invalid_api_key: { status: 401, title: 'Invalid API key' },
  expired_api_key: { status: 401, title: 'Expired API key' },
  revoked_api_key: { status: 401, title: 'Revoked API key' },
  ip_not_allowed: { status: 403, title: 'IP address not allowed' },
  insufficient_scope: { status: 403, title: 'Insufficient scope' },
  scope_not_grantable: { status: 403, title: 'Scope not grantable' },
  owner_key_required: { status: 403, title: 'Owner-level key required' },
  not_found: { status: 404, title: 'Not found' },
  route_not_found: { status: 404, title: 'Route not found' },
  agent_not_found: { status: 404, title: 'Agent not found' },
  contact_not_found: { status: 404, title: 'Contact not found' },
  key_already_rotated: { status: 409, title: 'Key already rotated' },
  key_revoked: { status: 409, title: 'Key revoked' },
  idempotency_in_progress: { status: 409, title: 'Idempotent request in progress' },
  contact_exists: { status: 409, title: 'Contact exists' },
  call_already_ended: { status: 409, title: 'Call already ended' },
  agent_in_use: { status: 409, title: 'Agent in use' },
  insufficient_credits: { status: 402, title: 'Insufficient credits' },
  do_not_call: { status: 422, title: 'Do not call' },
  concurrency_limit: { status: 429, title: 'Concurrent-call limit reached' },
  request_timeout: { status: 408, title: 'Request timeout' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  uri_too_long: { status: 414, title: 'URI too long' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  idempotency_key_reused: { status: 422, title: 'Idempotency-Key reused' },
  rate_limited: { status: 429, title: 'Rate limit exceeded' },
  too_many_failed_attempts: { status: 429, title: 'Too many failed authentication attempts' },
  request_header_fields_too_large: { status: 431, title: 'Request header fields too large' },
  internal_error: { status: 500, title: 'Internal server error' },
  service_unavailable: { status: 503, title: 'Service unavailable' },
  database_unavailable: { status: 503, title: 'Database unavailable' },
} as const satisfies Record<string, { status: number; title: string }>

export type ErrorCode = keyof typeof ERROR_CATALOGUE

export const ERROR_TYPE_BASE = 'https://docs.voxpria.com/errors/'

export interface FieldError {
  /** JSON pointer or dotted location of the offending value, e.g. `/body/scopes/0`. */
  field: string
  message: string
}

export interface ApiErrorOptions {
  errors?: FieldError[]
  /** Response headers that belong to this error (WWW-Authenticate, Retry-After, …). */
  headers?: Record<string, string>
  /** Extra members added to the problem document (RFC 9457 extension members). */
  extensions?: Record<string, unknown>
}

export class ApiError extends Error {
  readonly status: number
  readonly title: string

  constructor(readonly code: ErrorCode, readonly detail: string, readonly options: ApiErrorOptions = {}) {
    super(detail)
    this.name = 'ApiError'
    this.status = ERROR_CATALOGUE[code].status
    this.title = ERROR_CATALOGUE[code].title
  }
}

/** A 400 `validation_failed` listing every problem found, the detail naming the first. */
export function invalidFields(errors: FieldError[]): ApiError {
  return new ApiError('validation_failed', `${errors[0]!.field} ${errors[0]!.message}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}.`, { errors })
}
