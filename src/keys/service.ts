import { and, eq } from 'drizzle-orm'
import { accounts, apiKeys, type ApiKeyRow } from '../db/schema/index.js'
import type { Executor, Transaction } from '../db/executor.js'
import { ApiError } from '../errors.js'
import { newId } from '../ids.js'
import { generateApiKey, displayPrefix, lastFour } from './format.js'
import { keyDigest } from './digest.js'
import { resolvePepper } from './pepper.js'
import { validateAllowlist, MAX_ALLOWLIST_ENTRIES } from '../cidr.js'
import { effectiveScopes, normaliseScopes, type Scope } from '../scopes.js'
import { recordAudit, type Actor } from '../audit/record.js'
import { resolveSettings } from '../settings/settings.js'
import { listPage, type ListQuery } from '../resource/list-page.js'
import { findOwned } from '../resource/find-owned.js'
import { auditedUpdate } from '../resource/audited-update.js'
import type { ServiceContext } from '../service-context.js'
import { attentionReasons, needsAttentionFilter, rotationDueAt } from './hygiene.js'

declare module '../service-context.js' {
  interface ServiceRegistry {
    keys: KeyService
  }
}

export const DEFAULT_ROTATION_OVERLAP_SECONDS = 86_400
export const MAX_ROTATION_OVERLAP_SECONDS = 604_800

export type KeyStatus = 'active' | 'expired' | 'revoked'

export function keyStatus(row: Pick<ApiKeyRow, 'revokedAt' | 'expiresAt'>, now = new Date()): KeyStatus {
  if (row.revokedAt && row.revokedAt <= now) return 'revoked'
  if (row.expiresAt && row.expiresAt <= now) return 'expired'
  return 'active'
}

/** The public view of a key: never the secret, never the digest. Also what the audit log stores. */
export function presentKey(row: ApiKeyRow, now = new Date()) {
  return {
    id: row.id,
    name: row.name,
    prefix: row.displayPrefix,
    last_four: row.lastFour,
    scopes: row.scopes as Scope[],
    ip_allowlist: row.ipAllowlist,
    status: keyStatus(row, now),
    created_at: row.createdAt.toISOString(),
    expires_at: row.expiresAt?.toISOString() ?? null,
    last_used_at: row.lastUsedAt?.toISOString() ?? null,
    revoked_at: row.revokedAt?.toISOString() ?? null,
    rotated_from: row.rotatedFrom,
    replaced_by: row.replacedBy,
    created_by: row.createdBy,
    rotation_due_at: rotationDueAt(row).toISOString(),
    attention: attentionReasons(row, now),
  }
}

export type PublicKey = ReturnType<typeof presentKey>

export interface NewKeyInput {
  name: string
  scopes: Scope[]
  ipAllowlist?: string[] | undefined
  expiresAt?: Date | null | undefined
}

export interface KeyPatch {
  name?: string | undefined
  scopes?: Scope[] | undefined
  ipAllowlist?: string[] | undefined
  expiresAt?: Date | null | undefined
}

const LABEL = 'API key'

function canonicalAllowlist(entries: readonly string[]): string[] {
  if (entries.length > MAX_ALLOWLIST_ENTRIES) {
    throw new ApiError('invalid_ip_allowlist', `An allowlist holds at most ${MAX_ALLOWLIST_ENTRIES} entries; got ${entries.length}.`)
  }
  const { entries: canonical, invalid } = validateAllowlist(entries)
  if (invalid.length > 0) {
    throw new ApiError('invalid_ip_allowlist', `"${invalid[0]!.entry}" is not an IPv4/IPv6 address or CIDR.`, {
      errors: invalid.map(({ index, entry }) => ({ field: `/ip_allowlist/${index}`, message: `"${entry}" is not an IPv4/IPv6 address or CIDR` })),
    })
  }
  return canonical
}

function assertFuture(expiresAt: Date | null | undefined, now: Date): void {
  if (expiresAt && expiresAt <= now) {
    throw new ApiError('validation_failed', 'expires_at must be in the future.', {
      errors: [{ field: '/expires_at', message: 'must be in the future' }],
    })
  }
}

/** The account's maximum key lifetime in ms, or null when it sets none. */
async function maxLifetimeMs(tx: Executor, accountId: string): Promise<number | null> {
  const [account] = await tx.select({ settings: accounts.securitySettings }).from(accounts).where(eq(accounts.id, accountId))
  const days = resolveSettings(account?.settings).max_key_lifetime_days
  return days === null ? null : days * 24 * 3600 * 1000
}

/**
 * Applies a maximum key lifetime counted from `start`: no expiry requested → the longest allowed;
 * an expiry beyond it → 400. With `explicitOnly` (PATCH) an omitted expiry is left alone.
 */
function withinLifetime(requested: Date | null | undefined, lifetimeMs: number | null, start: Date, options: { explicitOnly?: boolean } = {}): Date | null | undefined {
  if (lifetimeMs === null) return requested
  const latest = new Date(start.getTime() + lifetimeMs)
  if (requested === undefined && options.explicitOnly) return undefined
  if (requested === undefined || requested === null) {
    if (options.explicitOnly) {
      throw new ApiError('validation_failed', `This account requires keys to expire within ${lifetimeMs / 86_400_000} days of creation.`, {
        errors: [{ field: '/expires_at', message: 'may not be removed: the account sets a maximum key lifetime' }],
      })
    }
    return latest
  }
  if (requested > latest) {
    throw new ApiError('validation_failed', `expires_at is beyond the account's maximum key lifetime (${latest.toISOString()}).`, {
      errors: [{ field: '/expires_at', message: `must be no later than ${latest.toISOString()}` }],
    })
  }
  return requested
}

/** A key may hand out only what it holds itself, so a restricted key cannot mint a stronger one. */
function assertGrantable(scopes: readonly Scope[], grantorScopes: readonly Scope[] | undefined): void {
  if (!grantorScopes) return
  const held = effectiveScopes(grantorScopes)
  const missing = scopes.filter((scope) => !held.has(scope))
  if (missing.length > 0) {
    throw new ApiError('scope_not_grantable', `This key does not hold ${missing.join(', ')}, so it cannot grant them or manage a key that has them.`, {
      extensions: { scopes: missing },
    })
  }
}

/**
 * Key management. `grantorScopes` is the calling key's (absent for operators, who may do
 * anything): a key manages only keys whose scopes it holds itself. Every change publishes
 * `key.changed` on the cache bus after it commits, so every instance drops its cached copy.
 */
export class KeyService {
  private readonly pepper: string

  constructor(private readonly context: ServiceContext) {
    this.pepper = resolvePepper(context.config)
  }

  private changed(keyId: string, accountId: string): void {
    void this.context.cacheBus.publish({ type: 'key.changed', keyId, accountId })
  }

  /** Inserts a key inside the caller's transaction; returns the row and the secret (shown once). */
  async insertKey(tx: Executor, accountId: string, input: NewKeyInput, actor: Actor, extra: { rotatedFrom?: string } = {}) {
    const secret = generateApiKey()
    const [row] = await tx.insert(apiKeys).values({
      id: newId('key'),
      accountId,
      name: input.name,
      digest: keyDigest(this.pepper, secret),
      displayPrefix: displayPrefix(secret),
      lastFour: lastFour(secret),
      scopes: normaliseScopes(input.scopes),
      ipAllowlist: canonicalAllowlist(input.ipAllowlist ?? []),
      expiresAt: input.expiresAt ?? null,
      rotatedFrom: extra.rotatedFrom ?? null,
      createdBy: actor.id,
      createdAt: this.context.clock.now(),
    }).returning()
    await recordAudit(tx, actor, {
      accountId, action: 'key.created', targetType: 'key', targetId: row!.id, before: null, after: presentKey(row!, this.context.clock.now()),
    })
    return { row: row!, secret }
  }

  async create(accountId: string, input: NewKeyInput, actor: Actor, grantorScopes?: readonly Scope[]) {
    assertGrantable(input.scopes, grantorScopes)
    const now = this.context.clock.now()
    assertFuture(input.expiresAt, now)
    const { row, secret } = await this.context.db.transaction(async (tx) => {
      const expiresAt = withinLifetime(input.expiresAt, await maxLifetimeMs(tx, accountId), now)
      return this.insertKey(tx, accountId, { ...input, expiresAt }, actor)
    })
    return { ...presentKey(row, now), key: secret }
  }

  async list(accountId: string, page: ListQuery & { needsAttention?: boolean | undefined }) {
    const now = this.context.clock.now()
    return listPage({
      columns: apiKeys,
      page,
      filters: { needs_attention: page.needsAttention },
      fetch: ({ after, orderBy, limit }) => this.context.db.select().from(apiKeys)
        .where(and(eq(apiKeys.accountId, accountId), page.needsAttention ? needsAttentionFilter(now) : undefined, after))
        .orderBy(...orderBy).limit(limit),
      present: (row) => presentKey(row, now),
    })
  }

  async get(accountId: string, keyId: string) {
    return presentKey(await findOwned<ApiKeyRow>(this.context.db, apiKeys, accountId, keyId, { label: LABEL }), this.context.clock.now())
  }

  async update(accountId: string, keyId: string, patch: KeyPatch, actor: Actor, grantorScopes?: readonly Scope[]) {
    if (patch.scopes) assertGrantable(patch.scopes, grantorScopes)
    const now = this.context.clock.now()
    assertFuture(patch.expiresAt, now)
    const { row } = await this.context.db.transaction((tx) => auditedUpdate<ApiKeyRow>(tx, {
      table: apiKeys, accountId, id: keyId, label: LABEL, actor, action: 'key.updated', targetType: 'key',
      present: (key) => presentKey(key, now),
      change: async (before) => {
        if (before.revokedAt) throw new ApiError('key_revoked', 'A revoked key cannot be changed.')
        // Widening a stronger key's allowlist or expiry would hand its power to a weaker caller.
        assertGrantable(before.scopes as Scope[], grantorScopes)
        if (before.replacedBy && patch.expiresAt !== undefined && (patch.expiresAt === null || !before.expiresAt || patch.expiresAt > before.expiresAt)) {
          throw new ApiError('key_already_rotated', `Key ${keyId} was rotated: its sunset can be brought forward, never pushed back.`)
        }
        const changes: Partial<typeof apiKeys.$inferInsert> = {}
        if (patch.name !== undefined) changes.name = patch.name
        if (patch.scopes !== undefined) changes.scopes = normaliseScopes(patch.scopes)
        if (patch.ipAllowlist !== undefined) changes.ipAllowlist = canonicalAllowlist(patch.ipAllowlist)
        if (patch.expiresAt !== undefined) {
          changes.expiresAt = withinLifetime(patch.expiresAt, await maxLifetimeMs(tx, accountId), before.createdAt, { explicitOnly: true }) ?? null
        }
        return changes
      },
    }))
    this.changed(keyId, accountId)
    return presentKey(row, now)
  }

  /**
   * Revokes at once. Revoking an already revoked key is a no-op that returns it unchanged. As for
   * PATCH and rotate, a caller may revoke only a key whose scopes it holds itself: a weaker key
   * must not be able to switch off a stronger one.
   */
  async revoke(accountId: string, keyId: string, actor: Actor, grantorScopes?: readonly Scope[]) {
    const now = this.context.clock.now()
    const { row } = await this.context.db.transaction((tx) => auditedUpdate<ApiKeyRow>(tx, {
      table: apiKeys, accountId, id: keyId, label: LABEL, actor, action: 'key.revoked', targetType: 'key',
      present: (key) => presentKey(key, now),
      change: (before) => {
        assertGrantable(before.scopes as Scope[], grantorScopes)
        return before.revokedAt ? null : { revokedAt: now }
      },
    }))
    this.changed(keyId, accountId)
    return presentKey(row, now)
  }

  /**
   * Issues a successor with the same name, scopes and allowlist; the old key keeps working for
   * the overlap window so deployments can switch over, then expires. A key rotates only once:
   * the row lock plus the `replaced_by` check make a second, concurrent rotation a 409.
   */
  async rotate(accountId: string, keyId: string, expireOldInSeconds: number, actor: Actor, grantorScopes?: readonly Scope[]) {
    const now = this.context.clock.now()
    const result = await this.context.db.transaction(async (tx: Transaction) => {
      const old = await findOwned<ApiKeyRow>(tx, apiKeys, accountId, keyId, { forUpdate: true, label: LABEL })
      // Rotation mints a new secret with the old key's scopes: only a caller holding them may.
      assertGrantable(old.scopes as Scope[], grantorScopes)
      if (old.replacedBy) throw new ApiError('key_already_rotated', `Key ${keyId} was already rotated; rotate ${old.replacedBy} instead.`)
      if (keyStatus(old, now) !== 'active') throw new ApiError('key_revoked', `Key ${keyId} is ${keyStatus(old, now)} and cannot be rotated.`)
      // The successor inherits name, scopes and allowlist — not the old key's expiry, which would
      // make it die with its predecessor — and gets the account's maximum lifetime, if any.
      const { row: successor, secret } = await this.insertKey(tx, accountId, {
        name: old.name, scopes: old.scopes as Scope[], ipAllowlist: old.ipAllowlist,
        expiresAt: withinLifetime(undefined, await maxLifetimeMs(tx, accountId), now),
      }, actor, { rotatedFrom: old.id })
      const sunset = new Date(now.getTime() + expireOldInSeconds * 1000)
      const expiresAt = old.expiresAt && old.expiresAt < sunset ? old.expiresAt : sunset
      const [retired] = await tx.update(apiKeys).set({ replacedBy: successor.id, replacedAt: now, expiresAt })
        .where(eq(apiKeys.id, old.id)).returning()
      await recordAudit(tx, actor, {
        accountId, action: 'key.rotated', targetType: 'key', targetId: old.id, before: presentKey(old, now), after: presentKey(retired!, now),
      })
      return { successor, secret, retired: retired! }
    })
    this.changed(keyId, accountId)
    return { ...presentKey(result.successor, now), key: result.secret, previous_key: presentKey(result.retired, now) }
  }

  /**
   * The account a key belongs to, for operator tools (the CLI) that are handed only a key id; the
   * tenant-scoped methods then take over. Unknown ids are a not_found ApiError.
   */
  async accountOf(keyId: string): Promise<string> {
    const [row] = await this.context.db.select({ accountId: apiKeys.accountId }).from(apiKeys).where(eq(apiKeys.id, keyId))
    if (!row) throw new ApiError('not_found', `No API key ${keyId}.`)
    return row.accountId
  }
}
