import { parsePhoneNumberWithError, type CountryCode } from 'libphonenumber-js'
import { IANAZone } from 'luxon'
import type { CustomFieldValue } from '../db/schema/index.js'
import { hasUnsafeCharacters } from '../text.js'

/**
 * One contact's fields as a client sends them — a JSON body, an NDJSON line, a mapped CSV row —
 * checked and put in canonical form, the same way for all three: phone to E.164, time zone
 * checked against IANA's, tags de-duplicated. Reports every problem, each naming its field.
 */

export const MAX_TAGS = 50
export const MAX_TAG_LENGTH = 64
export const MAX_CUSTOM_FIELDS = 50
export const MAX_CUSTOM_VALUE_LENGTH = 500
const MAX_NAME_LENGTH = 100
const MAX_EMAIL_LENGTH = 254
const MAX_EXTERNAL_ID_LENGTH = 255

/** The email check of ajv-formats' "fast" mode: the API's schema and the importer agree. */
const EMAIL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i
const CUSTOM_FIELD_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/

export interface ContactInput {
  phone?: unknown
  first_name?: unknown
  last_name?: unknown
  email?: unknown
  timezone?: unknown
  tags?: unknown
  custom_fields?: unknown
  do_not_call?: unknown
  external_id?: unknown
}

/** A contact's fields, canonical; absent keys were not given (a PATCH leaves them alone). */
export interface ContactFields {
  phone?: string
  first_name?: string | null
  last_name?: string | null
  email?: string | null
  timezone?: string | null
  tags?: string[]
  custom_fields?: Record<string, CustomFieldValue>
  do_not_call?: boolean
  external_id?: string | null
}

export interface FieldProblem {
  /** The field's name (`phone`, `custom_fields/plan`); the caller puts it under its own prefix. */
  field: string
  message: string
}

export type Normalized = { ok: true; fields: ContactFields } | { ok: false; problems: FieldProblem[] }

export function normalizePhone(value: string, defaultCountry: CountryCode | undefined): string | null {
  try {
    const parsed = parsePhoneNumberWithError(value, defaultCountry)
    return parsed.isValid() ? parsed.number : null
  } catch {
    return null
  }
}

export function isTimeZone(value: string): boolean {
  return IANAZone.isValidZone(value)
}

export function normalizeContact(input: ContactInput, options: { defaultCountry?: CountryCode | undefined; requirePhone: boolean }): Normalized {
  const problems: FieldProblem[] = []
  const fields: ContactFields = {}
  const problem = (field: string, message: string) => problems.push({ field, message })

  if (input.phone === undefined || input.phone === null || input.phone === '') {
    if (options.requirePhone) problem('phone', 'is required')
  } else if (typeof input.phone !== 'string' || input.phone.length > 64) {
    problem('phone', 'must be a phone number')
  } else {
    const phone = normalizePhone(input.phone, options.defaultCountry)
    if (phone) fields.phone = phone
    else problem('phone', options.defaultCountry ? `"${input.phone}" is not a valid phone number (read with default_country ${options.defaultCountry})` : `"${input.phone}" is not a valid phone number; send E.164 (+14155550123) or set default_country`)
  }

  const text = (key: 'first_name' | 'last_name' | 'external_id', max: number) => {
    const value = input[key]
    if (value === undefined) return
    if (value === null || value === '') {
      fields[key] = null
      return
    }
    if (typeof value !== 'string' || value.length > max || hasUnsafeCharacters(value)) problem(key, `must be text of at most ${max} characters, without control characters`)
    else fields[key] = value
  }
  text('first_name', MAX_NAME_LENGTH)
  text('last_name', MAX_NAME_LENGTH)
  text('external_id', MAX_EXTERNAL_ID_LENGTH)

  if (input.email !== undefined) {
    if (input.email === null || input.email === '') fields.email = null
    else if (typeof input.email !== 'string' || input.email.length > MAX_EMAIL_LENGTH || !EMAIL.test(input.email)) problem('email', 'must be an email address')
    else fields.email = input.email
  }

  if (input.timezone !== undefined) {
    if (input.timezone === null || input.timezone === '') fields.timezone = null
    else if (typeof input.timezone !== 'string' || !isTimeZone(input.timezone)) problem('timezone', `must be an IANA time zone such as America/New_York`)
    else fields.timezone = input.timezone
  }

  if (input.tags !== undefined) {
    if (!Array.isArray(input.tags) || input.tags.length > MAX_TAGS) {
      problem('tags', `must be a list of at most ${MAX_TAGS} tags`)
    } else {
      const tags: string[] = []
      input.tags.forEach((tag, index) => {
        if (typeof tag !== 'string' || tag.trim() === '' || tag.length > MAX_TAG_LENGTH || hasUnsafeCharacters(tag)) problem(`tags/${index}`, `must be 1 to ${MAX_TAG_LENGTH} visible characters`)
        else if (!tags.includes(tag.trim())) tags.push(tag.trim())
      })
      fields.tags = tags
    }
  }

  if (input.custom_fields !== undefined) {
    const custom = input.custom_fields
    if (custom === null || typeof custom !== 'object' || Array.isArray(custom) || Object.keys(custom).length > MAX_CUSTOM_FIELDS) {
      problem('custom_fields', `must be an object of at most ${MAX_CUSTOM_FIELDS} fields`)
    } else {
      const out: Record<string, CustomFieldValue> = {}
      for (const [key, value] of Object.entries(custom)) {
        if (!CUSTOM_FIELD_KEY.test(key)) problem(`custom_fields/${key}`, 'is not a valid field name (letters, digits, _; a letter or _ first)')
        else if (typeof value === 'string' ? value.length > MAX_CUSTOM_VALUE_LENGTH : typeof value !== 'boolean' && !(typeof value === 'number' && Number.isFinite(value))) {
          problem(`custom_fields/${key}`, `must be a string (at most ${MAX_CUSTOM_VALUE_LENGTH} characters), a number or a boolean`)
        } else out[key] = value
      }
      fields.custom_fields = out
    }
  }

  if (input.do_not_call !== undefined) {
    if (typeof input.do_not_call !== 'boolean') problem('do_not_call', 'must be true or false')
    else fields.do_not_call = input.do_not_call
  }

  return problems.length > 0 ? { ok: false, problems } : { ok: true, fields }
}
