import { eq } from 'drizzle-orm'
import { Value } from '@sinclair/typebox/value'
import { accounts } from '../db/schema/index.js'
import type { Database } from '../db/client.js'
import type { Executor } from '../db/executor.js'
import { ApiError } from '../errors.js'
import { SecuritySettingsSchema, mergeSettings, resolveSettings, type SecuritySettings } from '../settings.js'
import { recordAudit, type Actor } from './audit.js'
import { holdsEveryScope, type Scope } from '../scopes.js'

export async function getSecuritySettings(db: Executor, accountId: string): Promise<SecuritySettings> {
  const [row] = await db.select({ stored: accounts.securitySettings }).from(accounts).where(eq(accounts.id, accountId))
  if (!row) throw new ApiError('not_found', `No account ${accountId}.`)
  return resolveSettings(row.stored)
}

/**
 * Deep-merges `patch` onto the account's stored overrides and stores the result, with an audit
 * entry holding the effective settings before and after, in one transaction (the row lock
 * serialises concurrent PATCHes, so none is lost). A patch that changes nothing writes nothing.
 */
export async function updateSecuritySettings(db: Database, accountId: string, patch: unknown, actor: Actor, callerScopes: ReadonlySet<Scope>) {
  // These settings are the account's own alarms and key policy: a key that could switch them off
  // without holding every scope would be a way around the scopes themselves.
  if (!holdsEveryScope(callerScopes)) {
    throw new ApiError('owner_key_required', 'Changing the security settings needs a key holding all 13 scopes; reading them needs keys:manage.')
  }
  return db.transaction(async (tx) => {
    const [row] = await tx.select({ stored: accounts.securitySettings }).from(accounts).where(eq(accounts.id, accountId)).for('update')
    if (!row) throw new ApiError('not_found', `No account ${accountId}.`)
    const merged = mergeSettings(row.stored, patch)
    const after = resolveSettings(merged)
    // The PATCH schema checks each field; this checks the whole, as the detectors will read it.
    const invalid = [...Value.Errors(SecuritySettingsSchema, after)]
    if (invalid.length > 0 || merged === null || typeof merged !== 'object') {
      throw new ApiError('validation_failed', 'The merged settings are not valid.', {
        errors: invalid.map((error) => ({ field: error.path || '/', message: error.message })),
      })
    }
    const before = resolveSettings(row.stored)
    if (Value.Equal(row.stored, merged)) return { settings: after, changed: false }
    await tx.update(accounts).set({ securitySettings: merged as Record<string, unknown>, updatedAt: new Date() }).where(eq(accounts.id, accountId))
    await recordAudit(tx, actor, {
      accountId, action: 'settings.updated', targetType: 'account', targetId: accountId, before, after,
    })
    return { settings: after, changed: true }
  })
}
