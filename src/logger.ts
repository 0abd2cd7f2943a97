import type { FastifyServerOptions } from 'fastify'
import type { DestinationStream } from 'pino'
import type { Config } from './config.js'

/**
 * Anything shaped like one of our keys, wherever it appears in a log line — also percent-encoded
 * (`vxp%5F…` in a query string, any of its characters, once or twice encoded), since a URL is
 * logged as sent. Case-insensitive: over-redacting a `VXP_` word costs nothing.
 */
const encoded = (literal: string, hex: string) => `(?:${literal}|%(?:25)?${hex})`
const KEY_CHARACTER = `(?:[0-9a-z]|%(?:25)?(?:3[0-9]|4[1-9a-f]|5[0-9a]|6[1-9a-f]|7[0-9a]))`
const KEY_PATTERN = new RegExp(`${encoded('v', '76')}${encoded('x', '78')}${encoded('p', '70')}${encoded('_', '5f')}${KEY_CHARACTER}{4,}`, 'gi')

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
