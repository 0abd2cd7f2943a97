import { timingSafeEqual } from 'node:crypto'

/** Longer than any key we issue by a wide margin; anything beyond is refused unread. */
export const MAX_CREDENTIAL_LENGTH = 256

export type CredentialResult =
  | { kind: 'present'; value: string; via: 'authorization' | 'x-api-key' }
  | { kind: 'missing' }
  | { kind: 'malformed'; detail: string }
  | { kind: 'ambiguous'; detail: string }

const BEARER = /^Bearer +(\S+) *$/i
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\x00-\x1f\x7f]/

/**
 * Reads the API key from the raw header list (Node keeps only the first of duplicated
 * `Authorization` headers in `req.headers`, so duplicates are only visible in `rawHeaders`).
 * Pure: no I/O, no secret comparison beyond the two presented values.
 */
export function extractCredential(rawHeaders: readonly string[]): CredentialResult {
  const authorization: string[] = []
  const apiKey: string[] = []
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!
    // Length first: most headers are neither, and need no lower-cased copy to tell.
    if (name.length === 13 && name.toLowerCase() === 'authorization') authorization.push(rawHeaders[i + 1] ?? '')
    else if (name.length === 9 && name.toLowerCase() === 'x-api-key') apiKey.push(rawHeaders[i + 1] ?? '')
  }
  if (authorization.length > 1 || apiKey.length > 1) {
    return { kind: 'ambiguous', detail: 'Send the API key in one Authorization or X-API-Key header, not several.' }
  }
  const fromBearer = authorization[0]
  const fromHeader = apiKey[0]
  if (fromBearer === undefined && fromHeader === undefined) return { kind: 'missing' }

  let bearerValue: string | undefined
  if (fromBearer !== undefined) {
    const invalid = checkShape(fromBearer)
    if (invalid) return invalid
    const match = BEARER.exec(fromBearer)
    if (!match) return { kind: 'malformed', detail: 'The Authorization header must be "Bearer <API key>".' }
    bearerValue = match[1]!
  }
  let headerValue: string | undefined
  if (fromHeader !== undefined) {
    const invalid = checkShape(fromHeader)
    if (invalid) return invalid
    headerValue = fromHeader.trim()
    if (headerValue === '') return { kind: 'malformed', detail: 'The X-API-Key header is empty.' }
  }
  if (bearerValue !== undefined && headerValue !== undefined) {
    if (!sameValue(bearerValue, headerValue)) {
      return { kind: 'ambiguous', detail: 'The Authorization and X-API-Key headers carry different keys; send one.' }
    }
    return { kind: 'present', value: bearerValue, via: 'authorization' }
  }
  if (bearerValue !== undefined) return { kind: 'present', value: bearerValue, via: 'authorization' }
  return { kind: 'present', value: headerValue!, via: 'x-api-key' }
}

function checkShape(value: string): CredentialResult | undefined {
  if (value.length > MAX_CREDENTIAL_LENGTH) return { kind: 'malformed', detail: 'The credential is too long to be an API key.' }
  if (CONTROL_CHARACTERS.test(value)) return { kind: 'malformed', detail: 'The credential contains control characters.' }
  return undefined
}

function sameValue(a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}
