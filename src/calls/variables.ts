import type { ContactRow } from '../db/schema/index.js'
import { invalidFields, type FieldError } from '../errors.js'
import type { AgentConfig } from '../agents/config.js'

/** The values a contact offers agent variables: its fields, then its custom fields. */
export function contactValues(contact: ContactRow | null, to: string): Record<string, string> {
  if (!contact) return { phone: to }
  const values: Record<string, string> = {}
  for (const [name, value] of Object.entries(contact.customFields)) values[name] = String(value)
  const fields = { phone: contact.phone, first_name: contact.firstName, last_name: contact.lastName, email: contact.email, timezone: contact.timezone, external_id: contact.externalId }
  for (const [name, value] of Object.entries(fields)) if (value !== null) values[name] = value
  return values
}

/**
 * The agent's declared variables, filled from the request, then the contact, then their defaults.
 * A variable the agent does not declare, or a required one nobody supplies, is a 400 naming it.
 */
export function resolveVariables(declared: AgentConfig['variables'], offered: Record<string, string>, given: Record<string, string>): Record<string, string> {
  const names = new Set(declared.map((variable) => variable.name))
  const errors: FieldError[] = Object.keys(given).filter((name) => !names.has(name))
    .map((name) => ({ field: `/body/variables/${name}`, message: 'is not a variable this agent declares' }))
  const resolved: Record<string, string> = {}
  for (const variable of declared) {
    const value = given[variable.name] ?? offered[variable.name] ?? variable.default
    if (value === undefined) errors.push({ field: `/body/variables/${variable.name}`, message: 'is required by the agent and neither the request nor the contact gives it' })
    else resolved[variable.name] = value
  }
  if (errors.length > 0) throw invalidFields(errors)
  return resolved
}
