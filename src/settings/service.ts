import { eq } from 'drizzle-orm'
import { Value } from '@sinclair/typebox/value'
import { accounts } from '../db/schema/index.js'
import { ApiError } from '../errors.js'
import { recordAudit, type Actor } from '../audit/record.js'
import { holdsEveryScope, type Scope } from '../scopes.js'
import type { ServiceContext } from '../service-context.js'
import { SecuritySettingsSchema, mergeSettings, resolveSettings, type SecuritySettings } from './settings.js'

declare module '../service-context.js' {
  interface ServiceRegistry {
    settings: SettingsService
  }
}

/** An account's security settings: alert thresholds and the maximum key lifetime. */
export class SettingsService {
  constructor(private readonly context: ServiceContext) {}

  async get(accountId: string): Promise<SecuritySettings> {
    const [row] = await this.context.db.select({ stored: accounts.securitySettings }).from(accounts).where(eq(accounts.id, accountId))
    if (!row) throw new ApiError('not_found', `No account ${accountId}.`)
    return resolveSettings(row.stored)
  }

  /**
   * Deep-merges `patch` onto the account's stored overrides and stores the result, with an audit
   * entry holding the effective settings before and after, in one transaction (the row lock
   * serialises concurrent PATCHes, so none is lost). A patch that changes nothing writes nothing.
   */
  async update(accountId: string, patch: unknown, actor: Actor, callerScopes: ReadonlySet<Scope>): Promise<SecuritySettings> {
    // These settings are the account's own alarms and key policy: a key that could switch them off
    // without holding every scope would be a way around the scopes themselves.
    if (!holdsEveryScope(callerScopes)) {
      throw new ApiError('owner_key_required', 'Changing the security settings needs a key holding all 13 scopes; reading them needs keys:manage.')
    }
    const { settings, changed } = await this.context.db.transaction(async (tx) => {
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
      await tx.update(accounts).set({ securitySettings: merged as Record<string, unknown>, updatedAt: this.context.clock.now() }).where(eq(accounts.id, accountId))
      await recordAudit(tx, actor, { accountId, action: 'settings.updated', targetType: 'account', targetId: accountId, before, after })
      return { settings: after, changed: true }
    })
    // The verifier caches the account (settings included) on every instance.
    if (changed) await this.context.cacheBus.publish({ type: 'account.changed', accountId })
    return settings
  }
}
