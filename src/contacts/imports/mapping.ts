import type { ContactInput } from '../normalize.js'

/**
 * How a CSV column becomes a contact field. By default a column named like a field (`phone`,
 * `First Name` → first_name) is that field and every other column a custom field; a `mapping`
 * overrides any column: `{ "Mobile": "phone", "Plan": "custom_fields.plan", "Notes": "ignore" }`.
 */

export const MAPPABLE_FIELDS = ['phone', 'first_name', 'last_name', 'email', 'timezone', 'tags', 'do_not_call', 'external_id'] as const
type MappableField = (typeof MAPPABLE_FIELDS)[number]

export type ColumnTarget = { field: MappableField } | { custom: string } | { ignore: true }

const CUSTOM_PREFIX = 'custom_fields.'
const CUSTOM_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/

/** `First Name` → `first_name`. */
function fieldName(header: string): string {
  return header.trim().toLowerCase().replace(/[\s-]+/g, '_')
}

/** Checks a mapping's targets; returns the problem, or null. */
export function mappingProblem(mapping: Record<string, string>): string | null {
  for (const [column, target] of Object.entries(mapping)) {
    if (target === 'ignore' || (MAPPABLE_FIELDS as readonly string[]).includes(target)) continue
    if (target.startsWith(CUSTOM_PREFIX) && CUSTOM_KEY.test(target.slice(CUSTOM_PREFIX.length))) continue
    return `"${column}" maps to "${target}", which is not ${MAPPABLE_FIELDS.join(', ')}, custom_fields.<name> or ignore`
  }
  return null
}

export function columnTargets(header: readonly string[], mapping: Record<string, string> | null): ColumnTarget[] {
  return header.map((column) => {
    const target = mapping?.[column] ?? fieldName(column)
    if (target === 'ignore') return { ignore: true }
    if ((MAPPABLE_FIELDS as readonly string[]).includes(target)) return { field: target as MappableField }
    if (target.startsWith(CUSTOM_PREFIX)) return { custom: target.slice(CUSTOM_PREFIX.length) }
    return CUSTOM_KEY.test(target) ? { custom: target } : { ignore: true }
  })
}

const TRUE = new Set(['true', 'yes', 'y', '1'])
const FALSE = new Set(['false', 'no', 'n', '0'])

/** One CSV row as the fields a JSON client would have sent. Empty cells are absent. */
export function csvRowToInput(values: readonly string[], targets: readonly ColumnTarget[]): ContactInput {
  const input: ContactInput & { custom_fields?: Record<string, string> } = {}
  targets.forEach((target, index) => {
    const cell = values[index]
    if (cell === undefined || cell === '' || 'ignore' in target) return
    if ('custom' in target) {
      input.custom_fields = { ...input.custom_fields, [target.custom]: cell }
      return
    }
    switch (target.field) {
      case 'tags':
        input.tags = cell.split(';').map((tag) => tag.trim()).filter(Boolean)
        break
      case 'do_not_call': {
        const word = cell.toLowerCase()
        input.do_not_call = TRUE.has(word) ? true : FALSE.has(word) ? false : cell
        break
      }
      default:
        input[target.field] = cell
    }
  })
  return input
}
