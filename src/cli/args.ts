import { MAX_ALLOWLIST_ENTRIES, validateAllowlist } from '../cidr.js'
import { ID_PREFIXES, idPattern, type IdKind } from '../ids.js'
import { PLANS, isPlan, type Plan } from '../plans.js'
import { SCOPES, isScope, type Scope } from '../scopes.js'
import { hasUnsafeCharacters } from '../text.js'
import { UsageError, type Values } from './command.js'

/** Argument checks: no I/O, so a mistake is reported before any database is opened. */

export function required(values: Values, flag: string): string {
  const value = values[flag]
  if (typeof value !== 'string') throw new UsageError(`--${flag} is required`)
  return value
}

/** A label, held to the API's rule: 1 to `max` characters, not all blank, no control or bidi characters. */
export function requiredName(values: Values, flag: string, max = 100): string {
  const value = required(values, flag)
  if (!/\S/.test(value) || value.length > max) throw new UsageError(`--${flag} must be 1 to ${max} characters, not all blank`)
  if (hasUnsafeCharacters(value)) throw new UsageError(`--${flag} may not contain control, bidi-override or line-separator characters`)
  return value
}

export function plan(value: string): Plan {
  if (!isPlan(value)) throw new UsageError(`unknown plan "${value}"; plans are ${PLANS.join(', ')}`)
  return value
}

export function integer(flag: string, value: string, min: number, max: number): number {
  const number = /^\d+$/.test(value) ? Number(value) : Number.NaN
  if (!(number >= min && number <= max)) throw new UsageError(`--${flag} must be an integer from ${min} to ${max}; got "${value}"`)
  return number
}

/** Limits are PostgreSQL `integer` columns. Whether the plan allows them is the service's rule. */
export function optionalLimit(values: Values, flag: string): number | undefined {
  return values[flag] === undefined ? undefined : integer(flag, required(values, flag), 1, 2_147_483_647)
}

function list(value: string): string[] {
  return value.split(',').map((item) => item.trim()).filter((item) => item !== '')
}

export function scopeList(value: string): Scope[] {
  const scopes = list(value)
  if (scopes.length === 0) throw new UsageError('--scopes needs at least one scope')
  const unknown = scopes.filter((scope) => !isScope(scope))
  if (unknown.length > 0) throw new UsageError(`unknown scope ${unknown.map((scope) => `"${scope}"`).join(', ')}; scopes are ${SCOPES.join(', ')}`)
  return scopes as Scope[]
}

export function allowlist(value: string): string[] {
  const entries = list(value)
  if (entries.length > MAX_ALLOWLIST_ENTRIES) throw new UsageError(`--ip-allowlist holds at most ${MAX_ALLOWLIST_ENTRIES} entries`)
  const { invalid } = validateAllowlist(entries)
  if (invalid.length > 0) throw new UsageError(`--ip-allowlist: "${invalid[0]!.entry}" is not an IPv4/IPv6 address or CIDR`)
  return entries
}

/** RFC 3339 date-time with an explicit zone, as the API's `expires_at` takes it. */
export function timestamp(flag: string, value: string): Date {
  const date = new Date(value)
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(value) || Number.isNaN(date.getTime())) {
    throw new UsageError(`--${flag} must be an ISO 8601 date-time with a zone, e.g. 2030-01-31T00:00:00Z; got "${value}"`)
  }
  return date
}

const KIND_NAMES: Partial<Record<IdKind, string>> = { account: 'an account', key: 'a key' }

export function idOf(kind: IdKind, value: string): string {
  if (!new RegExp(idPattern(kind)).test(value)) throw new UsageError(`"${value}" is not ${KIND_NAMES[kind] ?? `a ${kind}`} id (${ID_PREFIXES[kind]}_…)`)
  return value
}
