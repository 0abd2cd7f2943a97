import { hash, timingSafeEqual, type KeyObject } from 'node:crypto'
import { eq, sql } from 'drizzle-orm'
import { LRUCache } from 'lru-cache'
import { accounts, apiKeys, type AccountRow, type ApiKeyRow } from '../db/schema/index.js'
import type { Database } from '../db/client.js'
import { isWellFormedApiKey, displayPrefix } from '../keys/format.js'
import { keyDigestBytes, pepperKey } from '../keys/digest.js'
import { readStoredAllowlist, type CidrRange } from '../cidr.js'
import { effectiveScopes, type Scope } from '../scopes.js'
import { limitsFor, type PlanLimits } from '../plans.js'

/** Everything the request pipeline needs about a verified key, computed once per cache fill. */
export interface Principal {
  key: ApiKeyRow
  account: AccountRow
  scopes: ReadonlySet<Scope>
  /**
   * The key's CIDR ranges (empty: any address), or `unusable` when a stored entry cannot be read:
   * such a key is refused everywhere (fail closed), never treated as unrestricted.
   */
  allowlist: readonly CidrRange[] | 'unusable'
  limits: PlanLimits
  /** Epoch ms of revocation / expiry (Infinity when none): checked on every request, cheaply. */
  revokedAtMs: number
  expiresAtMs: number
}

export type Verification =
  | { ok: true; principal: Principal }
  | { ok: false; reason: 'invalid_api_key' | 'expired_api_key' | 'revoked_api_key'; displayPrefix: string | null; keyId?: string; accountId?: string }

type CacheEntry = { found: true; principal: Principal } | { found: false }

export interface VerifierOptions {
  /** How long a verified key is trusted without asking the database again. */
  ttlMs: number
  maxEntries?: number
  /** How often batched `last_used_at` updates are written. */
  lastUsedFlushMs?: number
}

/**
 * Where a presented secret is filed in the in-process cache: its SHA-256, computed in a fraction
 * of the HMAC's time (one-shot, no hasher object), which every request pays while the HMAC is
 * paid only on a miss. Unkeyed is safe here: it indexes memory, is never stored, and the secret
 * it hashes is ~290 random bits, so neither the hash nor its timing in a map lookup can be
 * turned back into a key. What the database holds and is looked up by stays the peppered HMAC.
 */
export function cacheIndex(presented: string): string {
  return hash('sha256', presented, 'base64')
}

/** How fresh `last_used_at` is kept: a newer use within this much of the last one recorded is not news. */
const LAST_USED_RESOLUTION_MS = 1_000

/** Unknown digests are remembered briefly so a flood of bad keys does not become a flood of queries. */
const NEGATIVE_TTL_MS = 5_000

/**
 * Turns a presented secret into a Principal. Malformed keys are refused with no I/O; known keys
 * come from an in-process LRU (steady state: zero database queries); revocation and expiry are
 * checked against the clock on every request, so a cached entry is never served past either.
 */
export class KeyVerifier {
  /** Keyed by `cacheIndex(secret)`; the secret itself rides along as fetch context to a miss. */
  private readonly cache: LRUCache<string, CacheEntry, string>
  private readonly pendingLastUsed = new Map<string, Date>()
  private readonly flushTimer: NodeJS.Timeout
  /** Database lookups made so far: flat in steady state (every request served from cache). */
  databaseLoads = 0

  /**
   * Prepared once: building the query is most of a cache miss's CPU cost, and a miss is what a
   * flood of new keys (or a cold instance) pays on every request.
   */
  private readonly lookup

  /** The pepper imported once as a key object: createHmac would otherwise import it per request. */
  private readonly pepper: KeyObject

  constructor(private readonly db: Database, pepper: string, private readonly options: VerifierOptions) {
    this.pepper = pepperKey(pepper)
    this.lookup = db.select({ key: apiKeys, account: accounts })
      .from(apiKeys).innerJoin(accounts, eq(accounts.id, apiKeys.accountId))
      .where(eq(apiKeys.digest, sql.placeholder('digest'))).limit(1)
      .prepare('voxpria_key_by_digest')
    this.cache = new LRUCache<string, CacheEntry, string>({
      max: options.maxEntries ?? 50_000,
      ttl: Math.max(options.ttlMs, 1),
      fetchMethod: async (_index, _stale, { options: fetchOptions, context: presented }) => {
        const { entry, settled } = await this.loadConsistent(presented)
        if (!entry.found) fetchOptions.ttl = Math.min(NEGATIVE_TTL_MS, Math.max(options.ttlMs, 1))
        // Invalidations kept arriving while it loaded: answer the requests waiting on this lookup
        // (they overlapped the change), but keep the row no longer than that.
        if (!settled) fetchOptions.ttl = 1
        return entry
      },
    })
    this.flushTimer = setInterval(() => { void this.flushLastUsed().catch(() => {}) }, options.lastUsedFlushMs ?? 5_000)
    this.flushTimer.unref()
  }

  async verify(presented: string, nowMs = Date.now()): Promise<Verification> {
    // KEY_CACHE_TTL_MS=0 turns the cache off: every request asks the database (benchmarks use it).
    const index = this.options.ttlMs === 0 ? null : cacheIndex(presented)
    // A synchronous hit first: fetch() costs a promise and its bookkeeping even on a hit. Only
    // well-formed keys are ever filed, so a hit needs no shape or checksum check.
    let entry = index === null ? undefined : this.cache.get(index)
    if (!entry) {
      if (!isWellFormedApiKey(presented)) return { ok: false, reason: 'invalid_api_key', displayPrefix: null }
      entry = index === null ? await this.load(presented) : await this.cache.fetch(index, { context: presented })
    }
    if (!entry?.found) return { ok: false, reason: 'invalid_api_key', displayPrefix: displayPrefix(presented) }
    const { principal } = entry
    const { key } = principal
    if (principal.revokedAtMs <= nowMs) {
      return { ok: false, reason: 'revoked_api_key', displayPrefix: key.displayPrefix, keyId: key.id, accountId: key.accountId }
    }
    if (principal.expiresAtMs <= nowMs) {
      return { ok: false, reason: 'expired_api_key', displayPrefix: key.displayPrefix, keyId: key.id, accountId: key.accountId }
    }
    return { ok: true, principal }
  }

  /**
   * Records use in memory; written to the database in batches, never once per request. To the
   * second: a busy key is used thousands of times a second, and one new timestamp a second says
   * as much.
   */
  touch(principal: Principal, atMs = Date.now()): void {
    const { key } = principal
    if (key.lastUsedAt && atMs - key.lastUsedAt.getTime() < LAST_USED_RESOLUTION_MS) return
    const at = new Date(atMs)
    key.lastUsedAt = at
    this.pendingLastUsed.set(key.id, at)
  }

  /**
   * Bumped by every invalidation. A lookup that was already in flight when a key changed may have
   * read the old row, and lru-cache's entries() cannot see (so cannot drop) a pending fetch: such a
   * lookup is repeated; if changes keep coming, the last read is used once and not cached.
   */
  private generation = 0

  private async loadConsistent(presented: string): Promise<{ entry: CacheEntry; settled: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const started = this.generation
      const entry = await this.load(presented)
      const settled = this.generation === started
      if (settled || attempt === 2) return { entry, settled }
    }
  }

  invalidateKey(keyId: string): void {
    this.generation++
    for (const [digest, entry] of this.cache.entries()) {
      if (entry.found && entry.principal.key.id === keyId) this.cache.delete(digest)
    }
  }

  invalidateAccount(accountId: string): void {
    this.generation++
    for (const [digest, entry] of this.cache.entries()) {
      if (entry.found && entry.principal.account.id === accountId) this.cache.delete(digest)
    }
  }

  invalidateAll(): void {
    this.generation++
    this.cache.clear()
  }

  async flushLastUsed(): Promise<void> {
    if (this.pendingLastUsed.size === 0) return
    const batch = [...this.pendingLastUsed.entries()]
    this.pendingLastUsed.clear()
    for (let i = 0; i < batch.length; i += 500) {
      const rows = batch.slice(i, i + 500).map(([id, at]) => sql`(${id}, ${at.toISOString()}::timestamptz)`)
      await this.db.execute(sql`
        update ${apiKeys} set last_used_at = v.used_at
        from (values ${sql.join(rows, sql`, `)}) as v(id, used_at)
        where ${apiKeys.id} = v.id and (${apiKeys.lastUsedAt} is null or ${apiKeys.lastUsedAt} < v.used_at)`)
    }
  }

  async close(): Promise<void> {
    clearInterval(this.flushTimer)
    await this.flushLastUsed()
  }

  /** The database lookup by HMAC digest: the only place a presented secret is peppered and hashed. */
  private async load(presented: string): Promise<CacheEntry> {
    this.databaseLoads++
    const digest = keyDigestBytes(this.pepper, presented)
    const [row] = await this.lookup.execute({ digest: digest.toString('hex') })
    if (!row) return { found: false }
    // Defence in depth: the unique index matched on the digest; confirm it without a timing signal.
    if (!timingSafeEqual(Buffer.from(row.key.digest, 'hex'), digest)) return { found: false }
    const allowlist = readStoredAllowlist(row.key.ipAllowlist)
    return {
      found: true,
      principal: {
        key: row.key,
        account: row.account,
        scopes: effectiveScopes(row.key.scopes),
        allowlist,
        limits: limitsFor(row.account),
        revokedAtMs: row.key.revokedAt?.getTime() ?? Infinity,
        expiresAtMs: row.key.expiresAt?.getTime() ?? Infinity,
      },
    }
  }
}
