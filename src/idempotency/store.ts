import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto'
import { and, eq, lt, or, sql } from 'drizzle-orm'
import type { Database } from '../db/client.js'
import type { Executor } from '../db/executor.js'
import { idempotencyKeys } from '../db/schema/index.js'
import type { Clock } from '../clock.js'

/** How long the first response is kept and replayed (Stripe's 24 hours). */
export const RETENTION_MS = 24 * 3600 * 1000
/** An in-progress claim older than this is abandoned: the instance running it died mid-request. */
export const ABANDONED_AFTER_MS = 60_000

/** 1–255 printable ASCII characters, as Stripe accepts them. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]{1,255}$/

export interface StoredResponse {
  status: number
  headers: Record<string, string>
  body: string
}

export type Claim =
  | { kind: 'claimed' }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'reused' }
  | { kind: 'in_progress' }

/** What makes two requests "the same": method, path with query, and body. */
export function fingerprint(method: string, url: string, body: unknown): string {
  return createHash('sha256').update(JSON.stringify([method, url, body ?? null])).digest('base64url')
}

/**
 * Idempotency keys in PostgreSQL, so they hold across instances: the claim is an insert on the
 * (account, key) primary key before the handler runs, and whoever inserts owns the request.
 */
export class IdempotencyStore {
  constructor(private readonly db: Database, private readonly pepper: string, private readonly clock: Clock) {}

  /** `db`: run inside the caller's transaction (a create that claims and completes atomically). */
  async claim(accountId: string, key: string, print: string, db: Executor = this.db): Promise<Claim> {
    const now = this.clock.now()
    const expiresAt = new Date(now.getTime() + RETENTION_MS)
    // Insert, or take over a row whose time is up: expired, or an in-progress claim abandoned.
    const [won] = await db.insert(idempotencyKeys)
      .values({ accountId, key, fingerprint: print, status: 'in_progress', lockedAt: now, expiresAt })
      .onConflictDoUpdate({
        target: [idempotencyKeys.accountId, idempotencyKeys.key],
        set: { fingerprint: print, status: 'in_progress', lockedAt: now, expiresAt, responseStatus: null, responseSealed: null },
        setWhere: or(
          lt(idempotencyKeys.expiresAt, now),
          and(eq(idempotencyKeys.status, 'in_progress'), lt(idempotencyKeys.lockedAt, new Date(now.getTime() - ABANDONED_AFTER_MS))),
        ),
      })
      .returning({ key: idempotencyKeys.key })
    if (won) return { kind: 'claimed' }
    const [existing] = await db.select().from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.key, key)))
    // Gone between the two statements (pruned): the client may simply retry.
    if (!existing) return { kind: 'in_progress' }
    if (existing.fingerprint !== print) return { kind: 'reused' }
    if (existing.status !== 'completed' || existing.responseStatus === null || existing.responseSealed === null) return { kind: 'in_progress' }
    const { headers, body } = JSON.parse(this.open(accountId, key, existing.responseSealed)) as Omit<StoredResponse, 'status'>
    return { kind: 'replay', response: { status: existing.responseStatus, headers, body } }
  }

  async complete(accountId: string, key: string, response: StoredResponse, db: Executor = this.db): Promise<void> {
    const sealed = this.seal(accountId, key, JSON.stringify({ headers: response.headers, body: response.body }))
    await db.update(idempotencyKeys)
      .set({ status: 'completed', responseStatus: response.status, responseSealed: sealed })
      .where(and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.key, key)))
  }

  /** Forgets a claim whose request failed on our side (5xx): the client may retry with the same key. */
  async release(accountId: string, key: string): Promise<void> {
    await this.db.delete(idempotencyKeys).where(and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.key, key)))
  }

  /** Deletes expired rows, in bounded batches. */
  async prune(now = this.clock.now(), db: Executor = this.db, batch = 10_000): Promise<number> {
    let total = 0
    for (let i = 0; i < 50; i++) {
      const deleted = await db.delete(idempotencyKeys)
        .where(sql`(${idempotencyKeys.accountId}, ${idempotencyKeys.key}) in (
          select account_id, key from idempotency_keys where expires_at < ${now.toISOString()}::timestamptz limit ${batch})`)
        .returning({ key: idempotencyKeys.key })
      total += deleted.length
      if (deleted.length < batch) break
    }
    return total
  }

  /** A key per row: HMAC(pepper, account, Idempotency-Key). Without the pepper the rows stay sealed. */
  private rowKey(accountId: string, key: string): Buffer {
    return createHmac('sha256', this.pepper).update(`idempotency\u0000${accountId}\u0000${key}`).digest()
  }

  private seal(accountId: string, key: string, plain: string): string {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.rowKey(accountId, key), iv)
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
    return [iv, data, cipher.getAuthTag()].map((part) => part.toString('base64url')).join('.')
  }

  private open(accountId: string, key: string, sealed: string): string {
    const [iv, data, tag] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'))
    const decipher = createDecipheriv('aes-256-gcm', this.rowKey(accountId, key), iv!)
    decipher.setAuthTag(tag!)
    return Buffer.concat([decipher.update(data!), decipher.final()]).toString('utf8')
  }
}
