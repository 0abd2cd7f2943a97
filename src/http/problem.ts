import { ApiError, ERROR_TYPE_BASE, type ErrorCode, type FieldError } from '../errors.js'
import { LABEL_PATTERN } from '../text.js'

/** RFC 9457 problem document, as every error response carries it. */
export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  code: ErrorCode
  request_id: string
  errors?: FieldError[]
  [extension: string]: unknown
}

export function toProblem(error: ApiError, requestId: string): Problem {
  return {
    type: ERROR_TYPE_BASE + error.code,
    title: error.title,
    status: error.status,
    detail: error.detail,
    code: error.code,
    request_id: requestId,
    ...(error.options.errors ? { errors: error.options.errors } : {}),
    ...error.options.extensions,
  }
}

interface AjvIssue {
  instancePath: string
  keyword: string
  message?: string
  params: Record<string, unknown>
}

/** Turns Fastify's validation failure into field errors a client can act on. */
/** At most this many field errors are reported: enough to fix a request, too few to amplify one. */
export const MAX_FIELD_ERRORS = 20

export function validationError(issues: readonly AjvIssue[], context: string | undefined): ApiError {
  const errors = issues.slice(0, MAX_FIELD_ERRORS).map((issue) => {
    let field = `/${context ?? 'body'}${issue.instancePath}`
    let message = issue.message ?? 'is invalid'
    if (issue.keyword === 'additionalProperties') {
      field += `/${String(issue.params.additionalProperty)}`
      message = 'is not a known field'
    } else if (issue.keyword === 'pattern' && issue.params.pattern === LABEL_PATTERN) {
      message = 'must have a visible character and no control, bidi-override or line-separator characters'
    } else if (issue.keyword === 'required') {
      field += `/${String(issue.params.missingProperty)}`
      message = 'is required'
    }
    return { field, message }
  })
  const first = errors[0]
  return new ApiError('validation_failed', first ? `${first.field} ${first.message}.` : 'The request is invalid.', { errors })
}

/** Maps Fastify's own client errors (body parsing, content type) into the catalogue. */
export function fromFastifyError(error: { code?: string; statusCode?: number; message: string }): ApiError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('payload_too_large', 'The request body is larger than this API accepts.')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('unsupported_media_type', 'Send request bodies as application/json.')
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError('bad_request', 'The body is empty but Content-Type says JSON; send {} or no Content-Type.')
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError('bad_request', 'The request body is not valid JSON.')
    case 'FST_ERR_BAD_URL':
      return new ApiError('bad_request', 'The URL is not validly percent-encoded.')
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ApiError('uri_too_long', 'A path parameter is longer than this API accepts.')
  }
  if (error.statusCode === 404) return new ApiError('route_not_found', 'No such route.')
  if (error.statusCode === 413) return new ApiError('payload_too_large', 'The request body is larger than this API accepts.')
  if (error.statusCode === 415) return new ApiError('unsupported_media_type', 'Send request bodies as application/json.')
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return new ApiError('bad_request', error.statusCode === 400 && error.message.startsWith('Body') ? error.message : 'The request could not be understood.')
  }
  return undefined
}

/**
 * A date-time the schema accepted but JavaScript cannot represent (a leap second, 23:59:60) is a
 * 400 naming the field, never an Invalid Date that fails later as a 500.
 */
export function parseTimestamp(value: string, field: string): Date {
  const date = new Date(value)
  if (Number.isNaN(date.getTime())) {
    throw new ApiError('validation_failed', `${field} is not a representable date-time.`, {
      errors: [{ field, message: 'is not a representable date-time' }],
    })
  }
  return date
}

/** Node's own client errors (before any request object exists), as the catalogue names them. */
export function fromClientError(error: { code?: string }): ApiError {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new ApiError('request_timeout', 'The request was not received in time.')
  if (error.code === 'HPE_HEADER_OVERFLOW') return new ApiError('request_header_fields_too_large', 'The request headers are larger than this API accepts.')
  return new ApiError('bad_request', 'The request could not be parsed as HTTP/1.1.')
}

/**
 * A problem document as a complete raw HTTP/1.1 response, for the one place that has only a
 * socket to answer on (Node's clientError). The connection is closed after it.
 */
export function rawProblemResponse(error: ApiError, requestId: string): string {
  const body = JSON.stringify(toProblem(error, requestId))
  return [
    `HTTP/1.1 ${error.status} ${error.title}`,
    'Content-Type: application/problem+json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Request-Id: ${requestId}`,
    'Cache-Control: no-store',
    'Connection: close',
    '',
    body,
  ].join('\r\n')
}
