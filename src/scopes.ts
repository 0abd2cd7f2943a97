/**
 * The 13 permission scopes. `X:write` implies `X:read`; `keys:manage` implies nothing else.
 * Order is the order documented to customers.
 */
export const SCOPES = [
  'calls:read', 'calls:write',
  'campaigns:read', 'campaigns:write',
  'agents:read', 'agents:write',
  'contacts:read', 'contacts:write',
  'credits:read',
  'webhooks:read', 'webhooks:write',
  'analytics:read',
  'keys:manage',
] as const

export type Scope = (typeof SCOPES)[number]

const SCOPE_SET: ReadonlySet<string> = new Set(SCOPES)

export function isScope(value: string): value is Scope {
  return SCOPE_SET.has(value)
}

/** The scopes a key effectively holds, with every write scope's read scope added. */
export function effectiveScopes(granted: readonly string[]): Set<Scope> {
  const effective = new Set<Scope>()
  for (const scope of granted) {
    if (!isScope(scope)) continue
    effective.add(scope)
    if (scope.endsWith(':write')) {
      const read = scope.replace(/:write$/, ':read')
      if (isScope(read)) effective.add(read)
    }
  }
  return effective
}

export function hasScope(granted: readonly string[] | ReadonlySet<Scope>, needed: Scope): boolean {
  const effective = granted instanceof Set ? granted : effectiveScopes(granted as readonly string[])
  return effective.has(needed)
}

/**
 * True when the key effectively holds all 13 scopes (its writes imply their reads): the account's
 * owner-level key. Changing the account's security settings needs one.
 */
export function holdsEveryScope(granted: readonly string[] | ReadonlySet<Scope>): boolean {
  const effective = granted instanceof Set ? granted : effectiveScopes(granted as readonly string[])
  return SCOPES.every((scope) => effective.has(scope))
}

/** Sorted, de-duplicated, in catalogue order: how scopes are stored and returned. */
export function normaliseScopes(scopes: readonly Scope[]): Scope[] {
  const wanted = new Set(scopes)
  return SCOPES.filter((scope) => wanted.has(scope))
}
