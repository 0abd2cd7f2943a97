import { createHmac, createSecretKey, type KeyObject } from 'node:crypto'

/**
 * Keys are stored only as HMAC-SHA256(pepper, key). The pepper lives outside the database, so a
 * leaked table of digests cannot be checked against guesses offline. The lookup is an equality
 * match on a unique index over the digest: the secret itself is never compared byte by byte in
 * application code, so there is no timing signal to compare in constant time.
 */
export function keyDigest(pepper: string, key: string): string {
  return keyDigestBytes(pepper, key).toString('hex')
}

/** The same digest as raw bytes (the verifier compares these, and derives the hex form once). */
export function keyDigestBytes(pepper: string | KeyObject, key: string): Buffer {
  return createHmac('sha256', pepper).update(key).digest()
}

/** The pepper as a KeyObject, for callers that digest on every request. */
export function pepperKey(pepper: string): KeyObject {
  return createSecretKey(Buffer.from(pepper, 'utf8'))
}
