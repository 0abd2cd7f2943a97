import { Type, type TSchema } from '@sinclair/typebox'
import { idPattern } from '../../../../src/ids.js'
import { Nullable, StringEnum, Timestamp } from '../../../../src/http/schema-kit.js'
import { PageQuerySchema, pageOf } from '../../../../src/http/schemas.js'
import { MAX_CUSTOM_FIELDS, MAX_TAGS, MAX_TAG_LENGTH } from '../../../../src/contacts/normalize.js'
import { IMPORT_STATUSES } from '../../../../src/db/schema/index.js'

const Phone = Type.String({ minLength: 1, maxLength: 64, description: 'E.164 (+14155550123), or a national format with default_country', examples: ['+14155550123'] })
const Name = Nullable(Type.String({ maxLength: 100 }))
const Tags = Type.Array(Type.String({ minLength: 1, maxLength: MAX_TAG_LENGTH }), { maxItems: MAX_TAGS })
// One type list, not anyOf: Ajv's coercion would otherwise turn a number into the first branch's string.
const CustomValue = Type.Unsafe<string | number | boolean>({ type: ['string', 'number', 'boolean'], maxLength: 500 })
const CustomFields = Type.Record(Type.String(), CustomValue, {
  maxProperties: MAX_CUSTOM_FIELDS, description: 'Up to 50 fields: string, number or boolean values. They fill agent variables of the same name.',
})
const Country = Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2: how to read a phone number without a + (e.g. US)' })

export const ContactSchema = Type.Object({
  id: Type.String({ pattern: idPattern('contact') }),
  phone: Type.String({ description: 'E.164' }),
  first_name: Nullable(Type.String()),
  last_name: Nullable(Type.String()),
  email: Nullable(Type.String()),
  timezone: Nullable(Type.String({ description: 'IANA time zone' })),
  tags: Type.Array(Type.String()),
  custom_fields: CustomFields,
  do_not_call: Type.Boolean({ description: 'Never dialled; set by you, or when the contact asks not to be called again' }),
  external_id: Nullable(Type.String({ description: 'Your id for this contact; unique per account' })),
  created_at: Timestamp,
  updated_at: Timestamp,
}, { $id: 'Contact', additionalProperties: false, description: 'A CRM contact' })

export const ContactListSchema = pageOf(Type.Ref(ContactSchema), 'ContactList', 'contacts')

const EXAMPLE = {
  phone: '+14155550123', first_name: 'Dana', last_name: 'Reyes', email: 'dana@example.com', timezone: 'America/Los_Angeles',
  tags: ['vip'], custom_fields: { plan: 'gold', visits: 3 }, external_id: 'crm-1042',
}

export const CreateContactBody = Type.Object({
  phone: Phone,
  default_country: Type.Optional(Country),
  first_name: Type.Optional(Name),
  last_name: Type.Optional(Name),
  email: Type.Optional(Nullable(Type.String({ format: 'email', maxLength: 254 }))),
  timezone: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  tags: Type.Optional(Tags),
  custom_fields: Type.Optional(CustomFields),
  do_not_call: Type.Optional(Type.Boolean()),
  external_id: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 255 }))),
}, { additionalProperties: false, examples: [EXAMPLE] })

export const UpdateContactBody = Type.Object({
  phone: Type.Optional(Phone),
  default_country: Type.Optional(Country),
  first_name: Type.Optional(Name),
  last_name: Type.Optional(Name),
  email: Type.Optional(Nullable(Type.String({ format: 'email', maxLength: 254 }))),
  timezone: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  tags: Type.Optional(Tags),
  custom_fields: Type.Optional(CustomFields),
  do_not_call: Type.Optional(Type.Boolean()),
  external_id: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 255 }))),
}, { additionalProperties: false, examples: [{ tags: ['vip', 'renewal'], do_not_call: false }] })

export const ContactListQuery = Type.Object({
  ...PageQuerySchema.properties,
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Prefix of the first name, last name, email or phone' })),
  tag: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_TAG_LENGTH, description: 'Only contacts with this tag' })),
  phone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Exactly this number (E.164)' })),
  external_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  do_not_call: Type.Optional(Type.Boolean()),
  created_after: Type.Optional(Type.String({ format: 'date-time', description: 'Created at or after' })),
  created_before: Type.Optional(Type.String({ format: 'date-time', description: 'Created before' })),
}, { additionalProperties: false })

const RowError = Type.Object({
  row: Type.Integer({ description: 'Data row, from 1 (the CSV header not counted)' }),
  field: Type.String({ description: 'The field, or empty for the whole row' }),
  message: Type.String(),
}, { additionalProperties: false })

export const ContactImportSchema = Type.Object({
  id: Type.String({ pattern: idPattern('contactImport') }),
  status: StringEnum(IMPORT_STATUSES),
  format: StringEnum(['csv', 'ndjson']),
  on_conflict: StringEnum(['skip', 'update']),
  default_country: Nullable(Type.String()),
  tag: Nullable(Type.String()),
  bytes: Type.Integer({ minimum: 0 }),
  processed: Type.Integer({ minimum: 0, description: 'Rows read so far' }),
  created: Type.Integer({ minimum: 0 }),
  updated: Type.Integer({ minimum: 0 }),
  skipped: Type.Integer({ minimum: 0, description: 'Existing contacts left as they were (on_conflict=skip), and duplicates within the file' }),
  failed: Type.Integer({ minimum: 0, description: 'Rows that could not be imported (see errors)' }),
  errors: Type.Array(RowError, { description: 'The first 100 row problems' }),
  failure_reason: Nullable(Type.String({ description: 'Why a failed import stopped' })),
  created_at: Timestamp,
  started_at: Nullable(Timestamp),
  completed_at: Nullable(Timestamp),
}, { $id: 'ContactImport', additionalProperties: false, description: 'A bulk import job and its progress' })

export const ContactImportListSchema = pageOf(Type.Ref(ContactImportSchema), 'ContactImportList', 'imports')

export const ImportQuery = Type.Object({
  on_conflict: Type.Optional(StringEnum(['skip', 'update'], { default: 'skip', description: 'An existing phone number: leave the contact (skip) or update it with the row’s fields' })),
  default_country: Type.Optional(Country),
  tag: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_TAG_LENGTH, description: 'Added to every imported contact' })),
  mapping: Type.Optional(Type.String({ maxLength: 10_000, description: 'CSV only. JSON object: column → phone | first_name | last_name | email | timezone | tags | do_not_call | external_id | custom_fields.<name> | ignore' })),
}, { additionalProperties: false })

export const ImportListQuery = Type.Object({
  ...PageQuerySchema.properties,
  status: Type.Optional(StringEnum(IMPORT_STATUSES)),
}, { additionalProperties: false })

/** Registered in this order (a schema's references come before it). */
export const CONTACT_SCHEMAS: TSchema[] = [ContactSchema, ContactListSchema, ContactImportSchema, ContactImportListSchema]
