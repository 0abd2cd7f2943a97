import { and, isNull, lte, or, gt, sql, type SQL } from 'drizzle-orm'
import { apiKeys, type ApiKeyRow } from '../db/schema/index.js'
import { SCOPES, holdsEveryScope } from '../scopes.js'

const DAY_MS = 24 * 3600 * 1000
/** Keys should be rolled every 90 days. */
export const ROTATION_PERIOD_MS = 90 * DAY_MS
/** From this long before rotation is due, the key is flagged and its responses carry a header. */
export const ROTATION_WARNING_MS = 14 * DAY_MS
/** A key unused this long is idle. */
export const IDLE_AFTER_MS = 90 * DAY_MS

export const ATTENTION_REASONS = ['rotation_due', 'never_used', 'idle', 'no_ip_allowlist', 'all_scopes', 'no_expiry'] as const
export type AttentionReason = (typeof ATTENTION_REASONS)[number]

export function rotationDueAt(key: Pick<ApiKeyRow, 'createdAt'>): Date {
  return new Date(key.createdAt.getTime() + ROTATION_PERIOD_MS)
}

/** True from 14 days before rotation is due (and after, while the key stays unrotated). */
export function isRotationDueSoon(key: Pick<ApiKeyRow, 'createdAt'>, nowMs: number): boolean {
  return nowMs >= key.createdAt.getTime() + ROTATION_PERIOD_MS - ROTATION_WARNING_MS
}

function isLive(key: Pick<ApiKeyRow, 'revokedAt' | 'expiresAt'>, now: Date): boolean {
  return !(key.revokedAt && key.revokedAt <= now) && !(key.expiresAt && key.expiresAt <= now)
}

/**
 * What a security team should look at for this key. Only live keys need attention: a revoked or
 * expired key is already harmless. Mirrors `needsAttentionFilter`, which selects the same keys in SQL.
 */
export function attentionReasons(key: ApiKeyRow, now: Date): AttentionReason[] {
  if (!isLive(key, now)) return []
  const reasons: AttentionReason[] = []
  if (isRotationDueSoon(key, now.getTime())) reasons.push('rotation_due')
  if (!key.lastUsedAt) reasons.push('never_used')
  else if (now.getTime() - key.lastUsedAt.getTime() >= IDLE_AFTER_MS) reasons.push('idle')
  if (key.ipAllowlist.length === 0) reasons.push('no_ip_allowlist')
  if (holdsEveryScope(key.scopes)) reasons.push('all_scopes')
  if (!key.expiresAt) reasons.push('no_expiry')
  return reasons
}

/**
 * The SQL form of `holdsEveryScope(scopes)`: each read scope is held itself or through its write
 * scope, so a key with every `:write` plus the three standalone scopes counts as all 13.
 */
function holdsEveryScopeSql(): SQL {
  const literal = (scopes: readonly string[]) => sql.raw(`ARRAY[${scopes.map((scope) => `'${scope}'`).join(',')}]::text[]`)
  const conditions = SCOPES.filter((scope) => !scope.endsWith(':write')).map((scope) => {
    const write = scope.replace(/:read$/, ':write')
    const holders = write !== scope && (SCOPES as readonly string[]).includes(write) ? [scope, write] : [scope]
    return sql`${apiKeys.scopes} && ${literal(holders)}`
  })
  return and(...conditions)!
}

/** The SQL form of `attentionReasons(key).length > 0`, so the filter paginates like any list. */
export function needsAttentionFilter(now: Date): SQL {
  const rotationWarnFrom = new Date(now.getTime() - (ROTATION_PERIOD_MS - ROTATION_WARNING_MS))
  const idleBefore = new Date(now.getTime() - IDLE_AFTER_MS)
  return and(
    or(isNull(apiKeys.revokedAt), gt(apiKeys.revokedAt, now)),
    or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now)),
    or(
      lte(apiKeys.createdAt, rotationWarnFrom),
      isNull(apiKeys.lastUsedAt),
      lte(apiKeys.lastUsedAt, idleBefore),
      sql`cardinality(${apiKeys.ipAllowlist}) = 0`,
      holdsEveryScopeSql(),
      isNull(apiKeys.expiresAt),
    ),
  )!
}
