import type { PublicAccount } from '../accounts/service.js'
import type { PublicKey } from '../keys/service.js'
import { SCOPES } from '../scopes.js'
import { printable } from '../text.js'

/**
 * What the CLI prints for a person. Every value that came from the database or the command line
 * passes through `printable`: a key name is set through the API by any keys:manage caller, and
 * must not be able to write ANSI escapes or fake lines into an operator's terminal.
 */

export function describePlan(account: PublicAccount): string {
  return `${account.plan} (${account.limits.requests_per_hour} requests/hour, burst ${account.limits.burst_per_minute}/minute; calls ${account.calls.rate_cents_per_minute} cents/minute, ${account.calls.concurrent_calls} at once)`
}

export function describeKey(key: PublicKey): string[] {
  return [
    `  name:    ${printable(key.name)}`,
    `  scopes:  ${key.scopes.join(', ')}`,
    `  allowed: ${key.ip_allowlist.length > 0 ? key.ip_allowlist.map(printable).join(', ') : 'any address'}`,
    `  status:  ${key.status}${key.expires_at ? `, expires ${key.expires_at}` : ''}`,
  ]
}

export function secretBlock(secret: string): string {
  return `\n    ${secret}\n\nThis key is shown ONCE and will not be shown again: store it in your secret manager now.`
}

/** Columns padded to the widest cell; cells are made printable before they are measured. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = rows.map((row) => row.map(printable))
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((row) => row[column]!.length)))
  return [header, ...cells].map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n')
}

export function keyTable(keys: readonly PublicKey[]): string {
  if (keys.length === 0) return 'No keys.'
  return table(['ID', 'NAME', 'KEY', 'STATUS', 'CREATED', 'EXPIRES', 'SCOPES'], keys.map((key) => [
    key.id,
    key.name,
    `${key.prefix}…${key.last_four}`,
    key.replaced_by && key.status === 'active' ? 'rotating' : key.status,
    key.created_at,
    key.expires_at ?? '-',
    key.scopes.length === SCOPES.length ? 'all' : key.scopes.join(','),
  ]))
}

export function accountTable(accounts: readonly (PublicAccount & { credit_balance: number })[]): string {
  if (accounts.length === 0) return 'No accounts.'
  return table(['ID', 'NAME', 'PLAN', 'BALANCE', 'CREATED'], accounts.map((account) => [
    account.id, account.name, account.plan, cents(account.credit_balance), account.created_at,
  ]))
}

/** Integer cents as dollars, for people: 1234 → $12.34. */
export function cents(amount: number): string {
  const sign = amount < 0 ? '-' : ''
  const absolute = Math.abs(amount)
  return `${sign}$${Math.floor(absolute / 100)}.${String(absolute % 100).padStart(2, '0')}`
}

export { printable }
