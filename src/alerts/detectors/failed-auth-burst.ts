import { sql } from 'drizzle-orm'
import { apiKeys, failedAuthEvents } from '../../db/schema/index.js'
import { rowsOf } from '../../db/rows.js'
import { loadAccountContexts } from '../accounts.js'
import { DETECTION_WINDOW_MS, REPEAT_BUCKET_MS, bucketOf, minus, windowDetails } from '../window.js'
import type { AlertCandidate, Detector } from '../types.js'

interface FailureGroup {
  account_id: string
  client_ip: string
  failures: number
  key_prefixes: string[] | null
  key_ids: string[] | null
  reasons: string[] | null
}

/** Addresses listed in an account-wide alert's details, busiest first. */
const MAX_LISTED_IPS = 10

const sorted = (values: Iterable<string>) => [...new Set(values)].sort()

/**
 * Failed authentications in the window, per (account, client IP). A failure belongs to an account
 * when the key was identified (`account_id`: expired, revoked, outside its allowlist) or when its
 * display prefix is one of the account's keys' (a guessed or corrupted key; the prefix index
 * answers this). Failures that name no account (no key, or an unknown prefix) alert nobody.
 *
 * Two findings, both `critical`: (a) one address reached the threshold against the account;
 * (b) the account's keys were the target of ≥ threshold failures from several addresses — a
 * distributed attempt that no single address reveals.
 */
export const failedAuthBurst: Detector = {
  type: 'failed_auth_burst',
  async detect({ db, now }) {
    const windowStart = minus(now, DETECTION_WINDOW_MS)
    const from = windowStart.toISOString()
    const to = now.toISOString()
    const groups = rowsOf<FailureGroup>(await db.execute(sql`
      with attributed as (
        select f.id, f.client_ip, f.key_prefix, f.reason, f.account_id, f.key_id
          from ${failedAuthEvents} f
         where f.account_id is not null
           and f.created_at >= ${from}::timestamptz and f.created_at < ${to}::timestamptz
        union
        select f.id, f.client_ip, f.key_prefix, f.reason, k.account_id, k.id
          from ${failedAuthEvents} f
          join ${apiKeys} k on k.display_prefix = f.key_prefix
         where f.account_id is null
           and f.created_at >= ${from}::timestamptz and f.created_at < ${to}::timestamptz
      )
      select account_id, client_ip,
             count(distinct id)::int as failures,
             array_agg(distinct key_prefix) filter (where key_prefix is not null) as key_prefixes,
             array_agg(distinct key_id) filter (where key_id is not null) as key_ids,
             array_agg(distinct reason) as reasons
        from attributed
       group by account_id, client_ip`))

    const byAccount = new Map<string, FailureGroup[]>()
    for (const group of groups) {
      const accountGroups = byAccount.get(group.account_id)
      if (accountGroups) accountGroups.push(group)
      else byAccount.set(group.account_id, [group])
    }
    const contexts = await loadAccountContexts(db, byAccount.keys())
    const bucket = bucketOf(now, REPEAT_BUCKET_MS)
    const window = windowDetails(windowStart, now)
    const candidates: AlertCandidate[] = []

    for (const [accountId, accountGroups] of byAccount) {
      const settings = contexts.get(accountId)?.alerts.failed_auth_burst
      if (!settings?.enabled) continue
      for (const group of accountGroups) {
        if (group.failures < settings.threshold) continue
        const keyIds = group.key_ids ?? []
        candidates.push({
          accountId,
          type: 'failed_auth_burst',
          severity: 'critical',
          keyId: keyIds.length === 1 ? keyIds[0]! : null,
          details: {
            scope: 'ip',
            ip: group.client_ip,
            failures: group.failures,
            key_prefixes: sorted(group.key_prefixes ?? []),
            reasons: sorted(group.reasons ?? []),
            threshold: settings.threshold,
            ...window,
          },
          dedupeKey: `failed_auth_burst:ip:${group.client_ip}:${bucket}`,
        })
      }
      const failures = accountGroups.reduce((total, group) => total + group.failures, 0)
      if (accountGroups.length < 2 || failures < settings.threshold) continue
      const keyIds = sorted(accountGroups.flatMap((group) => group.key_ids ?? []))
      candidates.push({
        accountId,
        type: 'failed_auth_burst',
        severity: 'critical',
        keyId: keyIds.length === 1 ? keyIds[0]! : null,
        details: {
          scope: 'account',
          failures,
          ip_count: accountGroups.length,
          ips: [...accountGroups]
            .sort((a, b) => b.failures - a.failures || a.client_ip.localeCompare(b.client_ip))
            .slice(0, MAX_LISTED_IPS)
            .map((group) => ({ ip: group.client_ip, failures: group.failures })),
          key_prefixes: sorted(accountGroups.flatMap((group) => group.key_prefixes ?? [])),
          reasons: sorted(accountGroups.flatMap((group) => group.reasons ?? [])),
          threshold: settings.threshold,
          ...window,
        },
        dedupeKey: `failed_auth_burst:account:${bucket}`,
      })
    }
    return candidates
  },
}
