import { pgTable, text, integer, boolean, jsonb, timestamp, index, uniqueIndex, primaryKey, customType, type AnyPgColumn } from 'drizzle-orm/pg-core'
import { sql, type InferSelectModel, type SQL } from 'drizzle-orm'
import { accounts } from './accounts.js'

/** Raw bytes: postgres.js hands back a Buffer, PGlite a Uint8Array; both are Uint8Arrays. */
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({ dataType: () => 'bytea' })

export type CustomFieldValue = string | number | boolean

/**
 * What the list's `q` searches by prefix: the first name, last name and email, lower-cased, each
 * one lexeme as it is (array_to_tsvector does not parse words) and prefixed with the account id,
 * so a prefix query (`'acct_… ada':*`) reads only that account's part of the index. One GIN index
 * over them, not a btree per column: three btrees were a large part of what writing a contact
 * cost (a 100,000-row COPY took 1.6–2.1 s with them, 1.44–1.60 s with this index), where GIN's
 * pending list takes new entries in bulk. The list's filter (src/contacts/search.ts) repeats this expression, so the
 * planner matches the index; test/contacts/search.test.ts holds the two together.
 */
export function contactSearchTerms(table: { accountId: AnyPgColumn; firstName: AnyPgColumn; lastName: AnyPgColumn; email: AnyPgColumn }): SQL {
  const term = (column: AnyPgColumn) => sql`${table.accountId} || ' ' || lower(${column})`
  return sql`array_to_tsvector(array_remove(array[${term(table.firstName)}, ${term(table.lastName)}, ${term(table.email)}], null))`
}

/**
 * A CRM contact: who a call or campaign dials. One phone number per contact per account (E.164,
 * unique), and optionally the customer's own id for it (`external_id`, unique too). Every filter
 * of the list is served by an index.
 */
export const contacts = pgTable('contacts', {
  id: text('id').primaryKey(),
  accountId: text('account_id').notNull().references(() => accounts.id),
  /** E.164, normalised by libphonenumber-js. */
  phone: text('phone').notNull(),
  firstName: text('first_name'),
  lastName: text('last_name'),
  email: text('email'),
  /** IANA zone (America/New_York): campaigns dial within its calling window. */
  timezone: text('timezone'),
  tags: text('tags').array().notNull().default([]),
  customFields: jsonb('custom_fields').$type<Record<string, CustomFieldValue>>().notNull().default({}),
  /** Never dial: set by the customer, or by the contact asking not to be called again. */
  doNotCall: boolean('do_not_call').notNull().default(false),
  externalId: text('external_id'),
  /** The import that created it, and its row there: how a duplicate within one file is told apart. */
  importId: text('import_id'),
  importRow: integer('import_row'),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull(),
}, (table) => [
  // text_pattern_ops: the same index answers `phone = …` (uniqueness, the phone filter) and the
  // `q` prefix search on phone numbers.
  uniqueIndex('contacts_account_phone_unique').on(table.accountId, table.phone.op('text_pattern_ops')),
  uniqueIndex('contacts_account_external_id_unique').on(table.accountId, table.externalId),
  index('contacts_account_created_idx').on(table.accountId, table.createdAt.desc(), table.id.desc()),
  index('contacts_tags_idx').using('gin', table.tags),
  index('contacts_search_idx').using('gin', contactSearchTerms(table)),
  index('contacts_account_do_not_call_idx').on(table.accountId, table.createdAt.desc(), table.id.desc()).where(sql`${table.doNotCall}`),
])

export const IMPORT_STATUSES = ['queued', 'running', 'completed', 'failed'] as const
/** `uploading`: the file is still streaming into staging; the API does not show the import yet. */
export type ImportStatus = (typeof IMPORT_STATUSES)[number] | 'uploading'

export interface ImportRowError {
  row: number
  field: string
  message: string
}

/**
 * A bulk import: its options, its progress (counters committed with each batch, so they are always
 * true), and the first 100 row errors.
 */
export const contactImports = pgTable('contact_imports', {
  id: text('id').primaryKey(),
  accountId: text('account_id').notNull().references(() => accounts.id),
  status: text('status').$type<ImportStatus>().notNull(),
  format: text('format').$type<'csv' | 'ndjson'>().notNull(),
  onConflict: text('on_conflict').$type<'skip' | 'update'>().notNull(),
  defaultCountry: text('default_country'),
  tag: text('tag'),
  mapping: jsonb('mapping').$type<Record<string, string>>(),
  bytes: integer('bytes').notNull(),
  /** Data rows read so far; the next batch starts after them (a restarted job skips them). */
  processed: integer('processed').notNull().default(0),
  created: integer('created').notNull().default(0),
  updated: integer('updated').notNull().default(0),
  skipped: integer('skipped').notNull().default(0),
  failed: integer('failed').notNull().default(0),
  errors: jsonb('errors').$type<ImportRowError[]>().notNull().default([]),
  failureReason: text('failure_reason'),
  createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull(),
  startedAt: timestamp('started_at', { withTimezone: true, precision: 3 }),
  completedAt: timestamp('completed_at', { withTimezone: true, precision: 3 }),
  /** Last progress: an unfinished import whose heartbeat is stale is picked up again. */
  heartbeatAt: timestamp('heartbeat_at', { withTimezone: true, precision: 3 }),
}, (table) => [
  index('contact_imports_account_created_idx').on(table.accountId, table.createdAt.desc(), table.id.desc()),
  index('contact_imports_unfinished_idx').on(table.heartbeatAt).where(sql`${table.status} in ('uploading', 'queued', 'running')`),
])

/**
 * The uploaded file, as it arrived, in chunks of 256 KB: durable staging, written by binary COPY as
 * the upload streams in and read back by the import job. Deleted when the import ends.
 */
export const contactImportChunks = pgTable('contact_import_chunks', {
  importId: text('import_id').notNull(),
  seq: integer('seq').notNull(),
  data: bytea('data').notNull(),
}, (table) => [primaryKey({ name: 'contact_import_chunks_pk', columns: [table.importId, table.seq] })])

export type ContactRow = InferSelectModel<typeof contacts>
export type ContactImportRow = InferSelectModel<typeof contactImports>
