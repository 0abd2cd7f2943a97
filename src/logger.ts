import type { FastifyServerOptions } from 'fastify'
import type { DestinationStream } from 'pino'
import type { Config } from './config.js'

/** Anything shaped like one of our keys, wherever it appears in a log line. */
const KEY_PATTERN = /vxp_[0-9A-Za-z]{4,}/g

export function redactKeys(text: string): string {
  return text.replace(KEY_PATTERN, 'vxp_[REDACTED]')
}

/**
 * Logger options shared by the server and the tests. Two layers keep secrets out of logs: the
 * credential headers are redacted by path, and every serialised line is scrubbed of key-shaped
 * strings (a key pasted into a query string, an error message or a body still never lands).
 */
export function loggerOptions(config: Pick<Config, 'LOG_LEVEL'>, stream?: DestinationStream): NonNullable<FastifyServerOptions['logger']> {
  return {
    level: config.LOG_LEVEL,
    ...(stream ? { stream } : {}),
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["x-api-key"]',
        'req.headers.cookie',
        'headers.authorization',
        'headers["x-api-key"]',
        '*.key',
        '*.secret',
      ],
      censor: '[REDACTED]',
    },
    hooks: {
      streamWrite: redactKeys,
    },
    serializers: {
      req(request: { method: string; url: string; routeOptions?: { url?: string }; ip?: string; id?: string }) {
        return { method: request.method, url: redactKeys(request.url), route: request.routeOptions?.url, ip: request.ip }
      },
    },
  } as NonNullable<FastifyServerOptions['logger']>
}
