import { SCOPES } from '../scopes.js'

/** The document-level parts of the OpenAPI spec; operations come from the route schemas. */
export const OPENAPI_DEFINITION = {
  openapi: '3.1.0',
  info: {
    title: 'VoxPria API',
    version: '1.0.0',
    description: [
      'AI voice-calling platform: calls, campaigns, agents, contacts, credits, webhooks and analytics.',
      '',
      'Authenticate with an API key, as `Authorization: Bearer <key>` (recommended) or `X-API-Key: <key>`.',
      'Each operation names the one scope it needs; `X:write` implies `X:read`.',
      `Scopes: ${SCOPES.map((scope) => `\`${scope}\``).join(', ')}.`,
      '',
      'Every authenticated response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and',
      '`X-RateLimit-Reset` (Unix epoch seconds) for the window closest to running out, plus `RateLimit-Policy`.',
      'Errors are RFC 9457 `application/problem+json` with a stable `code`.',
    ].join('\n'),
  },
  components: {
    securitySchemes: {
      bearerAuth: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <API key> (recommended)' },
      apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'X-API-Key: <API key>' },
    },
  },
} as const
