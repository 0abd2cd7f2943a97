import { and, eq, inArray, sql } from 'drizzle-orm'
import type { CountryCode } from 'libphonenumber-js'
import { contactImports, contacts, type ContactImportRow, type ImportRowError } from '../../db/schema/index.js'
import { newId } from '../../ids.js'
import { rowsOf } from '../../db/rows.js'
import type { Transaction } from '../../db/executor.js'
import type { ServiceContext } from '../../service-context.js'
import { normalizeContact, type ContactFields, type ContactInput } from '../normalize.js'
import { csvRowToInput, type ColumnTarget } from './mapping.js'
import type { RawRecord } from './records.js'

/**
 * One batch of an import: its rows checked (no database), then written with the import's counters
 * in one transaction. process.ts runs the batches in order.
 */

/** Errors an import keeps (the counters count them all). */
export const MAX_REPORTED_ERRORS = 100

const CONTACT_KEYS = new Set(['phone', 'first_name', 'last_name', 'email', 'timezone', 'tags', 'custom_fields', 'do_not_call', 'external_id'])

/**
 * A checked row, as small as the commit needs it: a batch waits for the previous one's commit and
 * so outlives a young-generation GC or two, and whatever it holds is promoted to old space (a
 * 1M-row import's RSS grew with the rows' object graphs). The row is serialised once, here.
 */
interface ValidRow {
  row: number
  phone: string
  externalId: string | null
  /** The row as the INSERT reads it (jsonb_to_recordset, see writeContacts). */
  json: string
}

interface BatchOutcome {
  created: number
  updated: number
  skipped: number
  failed: number
  errors: ImportRowError[]
}

/** One record as the fields a JSON client would have sent, or the reason it cannot be. */
function recordInput(record: RawRecord, targets: readonly ColumnTarget[]): ContactInput | ImportRowError {
  if (record.kind === 'unreadable') return { row: record.row, field: '', message: record.message }
  if (record.kind === 'csv') return csvRowToInput(record.values, targets)
  const value = record.value
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { row: record.row, field: '', message: 'is not a JSON object' }
  const unknown = Object.keys(value).find((key) => !CONTACT_KEYS.has(key))
  if (unknown) return { row: record.row, field: unknown, message: 'is not a contact field' }
  return value as ContactInput
}

export interface PreparedBatch {
  valid: ValidRow[]
  /** Rows read, valid or not: what the batch adds to `processed`. */
  size: number
  outcome: BatchOutcome
}

/**
 * Checks and normalises rows as they are read (no database) into the next batch: what is valid,
 * and what failed and why. A raw record is garbage as soon as it is added, so a batch waiting for
 * its commit holds only its checked rows.
 */
export class BatchBuilder {
  private valid: ValidRow[] = []
  private size = 0
  private outcome: BatchOutcome = emptyOutcome()
  private readonly firstByPhone = new Map<string, number>()
  private readonly firstByExternalId = new Map<string, number>()

  constructor(private readonly imp: ContactImportRow, private readonly targets: readonly ColumnTarget[]) {}

  /** Rows added since the last take(), valid or not. */
  get length(): number {
    return this.size
  }

  add(record: RawRecord): void {
    this.size++
    const { outcome } = this
    const input = recordInput(record, this.targets)
    if ('message' in input) {
      outcome.failed++
      outcome.errors.push(input)
      return
    }
    const normalized = normalizeContact(input, { defaultCountry: (this.imp.defaultCountry ?? undefined) as CountryCode | undefined, requirePhone: true })
    if (!normalized.ok) {
      outcome.failed++
      for (const problem of normalized.problems) outcome.errors.push({ row: record.row, field: problem.field, message: problem.message })
      return
    }
    const fields = normalized.fields as ContactFields & { phone: string }
    if (this.imp.tag) fields.tags = [...new Set([...(fields.tags ?? []), this.imp.tag])]
    // A phone (or external id) twice in one batch would make one statement touch a row twice.
    const earlier = this.firstByPhone.get(fields.phone) ?? (fields.external_id ? this.firstByExternalId.get(fields.external_id) : undefined)
    if (earlier !== undefined) {
      outcome.skipped++
      outcome.errors.push({ row: record.row, field: this.firstByPhone.has(fields.phone) ? 'phone' : 'external_id', message: `duplicate of row ${earlier} in this file` })
      return
    }
    this.firstByPhone.set(fields.phone, record.row)
    if (fields.external_id) this.firstByExternalId.set(fields.external_id, record.row)
    this.valid.push({ row: record.row, phone: fields.phone, externalId: fields.external_id ?? null, json: rowJson(record.row, fields) })
  }

  /** The batch so far; the builder starts the next one. */
  take(): PreparedBatch {
    const batch: PreparedBatch = { valid: this.valid, size: this.size, outcome: this.outcome }
    this.valid = []
    this.size = 0
    this.outcome = emptyOutcome()
    this.firstByPhone.clear()
    this.firstByExternalId.clear()
    return batch
  }
}

function emptyOutcome(): BatchOutcome {
  return { created: 0, updated: 0, skipped: 0, failed: 0, errors: [] }
}

/** The columns writeContacts reads, in its recordset's names. */
function rowJson(row: number, fields: ContactFields & { phone: string }): string {
  return JSON.stringify({
    id: newId('contact'), phone: fields.phone, first_name: fields.first_name ?? null, last_name: fields.last_name ?? null,
    email: fields.email ?? null, timezone: fields.timezone ?? null, tags: fields.tags ?? [], custom_fields: fields.custom_fields ?? {},
    do_not_call: fields.do_not_call ?? false, external_id: fields.external_id ?? null, import_row: row,
  })
}

/**
 * Writes a checked batch and its counters in one transaction, after taking the import row's lock
 * and checking `processed` is still `expected`; false (nothing written) if another run got there first.
 */
export async function commitBatch(context: ServiceContext, imp: ContactImportRow, expected: number, { valid, size, outcome }: PreparedBatch): Promise<boolean> {
  const now = context.clock.now()
  return context.db.transaction(async (tx) => {
    const [locked] = await tx.select().from(contactImports).where(eq(contactImports.id, imp.id)).for('update')
    // Another run got here first (a resumed job while this one still ran): it owns the import.
    if (!locked || locked.status !== 'running' || locked.processed !== expected) return false

    // An external id already on another contact (another phone) would fail the whole statement.
    const externalIds = valid.flatMap((row) => (row.externalId ? [row.externalId] : []))
    const taken = externalIds.length === 0 ? [] : await tx.select({ externalId: contacts.externalId, phone: contacts.phone, id: contacts.id, importId: contacts.importId, importRow: contacts.importRow })
      .from(contacts).where(and(eq(contacts.accountId, imp.accountId), inArray(contacts.externalId, externalIds)))
    const takenBy = new Map(taken.map((row) => [row.externalId!, row]))
    const writable = valid.filter((row) => {
      const owner = row.externalId ? takenBy.get(row.externalId) : undefined
      if (!owner || owner.phone === row.phone) return true
      if (owner.importId === imp.id) {
        outcome.skipped++
        outcome.errors.push({ row: row.row, field: 'external_id', message: `duplicate of row ${owner.importRow} in this file` })
      } else {
        outcome.failed++
        outcome.errors.push({ row: row.row, field: 'external_id', message: `belongs to contact ${owner.id}, which has another phone number` })
      }
      return false
    })

    if (writable.length > 0) {
      const written = await writeContacts(tx, imp, writable, now)
      outcome.created += written.created
      outcome.updated += written.updated
      const unwritten = new Set(written.unwritten)
      const rest = unwritten.size === 0 ? [] : writable.filter((row) => unwritten.has(row.phone))
      if (rest.length > 0) {
        const existing = await tx.select({ phone: contacts.phone, importId: contacts.importId, importRow: contacts.importRow }).from(contacts)
          .where(and(eq(contacts.accountId, imp.accountId), inArray(contacts.phone, rest.map((row) => row.phone))))
        const byPhone = new Map(existing.map((row) => [row.phone, row]))
        for (const row of rest) {
          outcome.skipped++
          const owner = byPhone.get(row.phone)
          if (owner?.importId === imp.id) outcome.errors.push({ row: row.row, field: 'phone', message: `duplicate of row ${owner.importRow} in this file` })
        }
      }
    }

    const room = Math.max(0, MAX_REPORTED_ERRORS - locked.errors.length)
    await tx.update(contactImports).set({
      processed: expected + size,
      created: locked.created + outcome.created,
      updated: locked.updated + outcome.updated,
      skipped: locked.skipped + outcome.skipped,
      failed: locked.failed + outcome.failed,
      errors: room > 0 && outcome.errors.length > 0 ? [...locked.errors, ...outcome.errors.slice(0, room)] : locked.errors,
      heartbeatAt: now,
    }).where(eq(contactImports.id, imp.id))
    return true
  })
}

/**
 * A batch's rows as JSON arrays of at most JSON_PART_CHARS each. One string for a 2,000-row batch
 * (~500 KB) lands in V8's large-object space, which only a full GC frees: a 1M-row import grew the
 * service's RSS by up to ~100 MB with them. Parts this size die young, at the next scavenge.
 */
const JSON_PART_CHARS = 64 * 1024

function jsonParts(rows: readonly ValidRow[]): string[] {
  const parts: string[] = []
  let group: string[] = []
  let length = 0
  for (const { json } of rows) {
    if (group.length > 0 && length + json.length > JSON_PART_CHARS) {
      parts.push(`[${group.join(',')}]`)
      group = []
      length = 0
    }
    group.push(json)
    length += json.length + 1
  }
  if (group.length > 0) parts.push(`[${group.join(',')}]`)
  return parts
}

interface Written {
  created: number
  updated: number
  /** Phones neither inserted nor updated: a contact that already had them was left as it is. */
  unwritten: string[]
}

/**
 * One INSERT for the whole batch, its rows in a few JSON parameters (see jsonParts): building a
 * query of thousands of rows × fifteen columns through the query builder cost more than
 * PostgreSQL's work on it. It answers one row of counts and the phones it did not write (usually
 * none), not a row per contact: 2,000 result rows a batch were garbage that lived long enough to
 * be promoted.
 */
async function writeContacts(tx: Transaction, imp: ContactImportRow, rows: ValidRow[], now: Date): Promise<Written> {
  const parts = jsonParts(rows)
  const at = now.toISOString()
  // Given fields replace, tags and custom fields merge, an opt-out is never lifted by a file; a
  // contact this same import created is a duplicate in the file, not something to update.
  const onConflict = imp.onConflict === 'update'
    ? sql`do update set
        first_name = coalesce(excluded.first_name, contacts.first_name),
        last_name = coalesce(excluded.last_name, contacts.last_name),
        email = coalesce(excluded.email, contacts.email),
        timezone = coalesce(excluded.timezone, contacts.timezone),
        tags = array(select distinct tag from unnest(contacts.tags || excluded.tags) as tag order by tag),
        custom_fields = contacts.custom_fields || excluded.custom_fields,
        do_not_call = contacts.do_not_call or excluded.do_not_call,
        external_id = coalesce(excluded.external_id, contacts.external_id),
        updated_at = ${at}::timestamptz
      where contacts.import_id is distinct from ${imp.id}`
    : sql`do nothing`
  const result = await tx.execute(sql`
    with input as materialized (
      select r.* from unnest(array[${sql.join(parts.map((part) => sql`${part}::jsonb`), sql`, `)}]) as part, jsonb_to_recordset(part) as r(id text, phone text, first_name text, last_name text, email text, timezone text,
        tags text[], custom_fields jsonb, do_not_call boolean, external_id text, import_row integer)
    ), written as (
      insert into contacts (id, account_id, phone, first_name, last_name, email, timezone, tags, custom_fields, do_not_call, external_id, import_id, import_row, created_at, updated_at)
      select r.id, ${imp.accountId}, r.phone, r.first_name, r.last_name, r.email, r.timezone, r.tags, r.custom_fields, r.do_not_call, r.external_id, ${imp.id}, r.import_row, ${at}::timestamptz, ${at}::timestamptz
      from input r
      on conflict (account_id, phone) ${onConflict}
      returning phone, (xmax = 0) as inserted
    )
    select (select count(*) from written where inserted)::int as created,
      (select count(*) from written where not inserted)::int as updated,
      array(select i.phone from input i where not exists (select 1 from written w where w.phone = i.phone)) as unwritten`)
  const [counts] = rowsOf<Written>(result)
  if (!counts) throw new Error('the batch INSERT answered no row')
  return counts
}
