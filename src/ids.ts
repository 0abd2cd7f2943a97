import { randomBytes, randomUUID } from 'node:crypto'

/**
 * Public identifiers are prefixed and opaque (`key_…`, `acct_…`): the prefix tells a support
 * engineer what an id is, and the random body leaks no count or creation order.
 */
export const ID_PREFIXES = {
  account: 'acct',
  key: 'key',
  creditTransaction: 'ctx',
  auditEntry: 'aud',
  alert: 'alert',
  event: 'evt',
  agent: 'agt',
  contact: 'con',
  contactImport: 'imp',
  call: 'call',
} as const

export type IdKind = keyof typeof ID_PREFIXES

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/** Uniform base62 characters from a CSPRNG, rejecting bytes ≥ 248 so no character is favoured. */
export function randomBase62(length: number): string {
  let out = ''
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += BASE62[byte % 62]
      if (out.length === length) break
    }
  }
  return out
}

export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${randomBase62(22)}`
}

export function idPattern(kind: IdKind): string {
  return `^${ID_PREFIXES[kind]}_[0-9A-Za-z]{22}$`
}

/**
 * Request ids (`req_` + 32 hex): 48 bits of millisecond time, then the last 20 hex digits of a
 * random UUID (74 random bits: its version and variant bits are fixed). An
 * exception to the opaque ids above, on purpose: a request id is shown only to the caller who made
 * the request, and as the usage log's primary key a time-ordered id is appended at the right edge
 * of the index, where a random one would land on a random page for every request logged.
 * randomUUID draws from a cached entropy pool: cheaper per request than a randomBytes call.
 */
export function newRequestId(): string {
  return `req_${Date.now().toString(16).padStart(12, '0')}${randomUUID().replaceAll('-', '').slice(12)}`
}
