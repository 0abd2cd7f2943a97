/**
 * The instants the API stores and compares: years 0001 to 9999 UTC. PostgreSQL's timestamptz
 * reaches further, but not in the text JavaScript writes outside this range (`0000-…` is no year
 * to PostgreSQL, `+275760-…` no timestamp at all), so anything outside is a 400, never a 500.
 */
export const MIN_STORABLE_MS = Date.parse('0001-01-01T00:00:00.000Z')
export const MAX_STORABLE_MS = Date.parse('9999-12-31T23:59:59.999Z')

export function isStorableDate(date: Date): boolean {
  const ms = date.getTime()
  return Number.isFinite(ms) && ms >= MIN_STORABLE_MS && ms <= MAX_STORABLE_MS
}

/**
 * The API's `date-time` format: RFC 3339 as Ajv's own format checks it, and then a JavaScript
 * date inside the storable range. A leap second (23:59:60) is RFC 3339 but no JavaScript date.
 */
export function storableDateTimeFormat(rfc3339: (value: string) => boolean) {
  return {
    type: 'string' as const,
    validate: (value: string) => rfc3339(value) && isStorableDate(new Date(value)),
  }
}
