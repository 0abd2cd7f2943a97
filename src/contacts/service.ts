import { and, eq, or, sql, type SQL } from 'drizzle-orm'
import type { CountryCode } from 'libphonenumber-js'
import { contacts, type ContactRow } from '../db/schema/index.js'
import type { Executor, Transaction } from '../db/executor.js'
import { ApiError, type FieldError } from '../errors.js'
import { newId } from '../ids.js'
import { recordAudit, type Actor } from '../audit/record.js'
import { createdRange, listJsonPage, type ListQuery } from '../resource/list-page.js'
import { findOwned } from '../resource/find-owned.js'
import { auditedUpdate } from '../resource/audited-update.js'
import type { ServiceContext } from '../service-context.js'
import { normalizeContact, normalizePhone, type ContactFields, type ContactInput, type FieldProblem } from './normalize.js'
import { ContactImports } from './imports/service.js'
import { PUBLIC_CONTACT_JSON, presentContact } from './present.js'
import { searchCondition } from './search.js'

declare module '../service-context.js' {
  interface ServiceRegistry {
    contacts: ContactService
  }
}

export interface ContactListQuery extends ListQuery {
  q?: string | undefined
  tag?: string | undefined
  phone?: string | undefined
  external_id?: string | undefined
  do_not_call?: boolean | undefined
  created_after?: string | undefined
  created_before?: string | undefined
}

const LABEL = 'contact'

function invalid(problems: FieldProblem[], prefix: string): ApiError {
  const errors: FieldError[] = problems.map((problem) => ({ field: `${prefix}/${problem.field}`, message: problem.message }))
  return new ApiError('validation_failed', `${errors[0]!.field} ${errors[0]!.message}.`, { errors })
}

/** Columns from canonical fields; only the fields given (a PATCH leaves the others alone). */
export function contactColumns(fields: ContactFields): Partial<typeof contacts.$inferInsert> {
  const columns: Partial<typeof contacts.$inferInsert> = {}
  if (fields.phone !== undefined) columns.phone = fields.phone
  if (fields.first_name !== undefined) columns.firstName = fields.first_name
  if (fields.last_name !== undefined) columns.lastName = fields.last_name
  if (fields.email !== undefined) columns.email = fields.email
  if (fields.timezone !== undefined) columns.timezone = fields.timezone
  if (fields.tags !== undefined) columns.tags = fields.tags
  if (fields.custom_fields !== undefined) columns.customFields = fields.custom_fields
  if (fields.do_not_call !== undefined) columns.doNotCall = fields.do_not_call
  if (fields.external_id !== undefined) columns.externalId = fields.external_id
  return columns
}

/**
 * CRM contacts: create, read, change, delete, list with filters, and bulk import (imports/).
 * Phone numbers are unique per account, and so are external ids: a second one is a 409 naming
 * the contact that has it.
 */
export class ContactService {
  readonly imports: ContactImports

  constructor(private readonly context: ServiceContext) {
    this.imports = new ContactImports(context)
  }

  async create(accountId: string, input: ContactInput & { default_country?: CountryCode | undefined }, actor: Actor) {
    const normalized = normalizeContact(input, { defaultCountry: input.default_country, requirePhone: true })
    if (!normalized.ok) throw invalid(normalized.problems, '/body')
    const fields = normalized.fields
    const now = this.context.clock.now()
    const row = await this.context.db.transaction(async (tx) => {
      const [inserted] = await tx.insert(contacts).values({
        id: newId('contact'), accountId, phone: fields.phone!, ...contactColumns(fields), createdAt: now, updatedAt: now,
      }).onConflictDoNothing().returning()
      if (!inserted) throw this.clashError(await this.clash(tx, accountId, fields))
      await recordAudit(tx, actor, { accountId, action: 'contact.created', targetType: 'contact', targetId: inserted.id, before: null, after: presentContact(inserted) })
      return inserted
    })
    return presentContact(row)
  }

  /** Another contact of the account with this phone number or external id, if any. */
  private async clash(db: Executor, accountId: string, fields: Pick<ContactFields, 'phone' | 'external_id'>, exceptId?: string) {
    if (!fields.phone && !fields.external_id) return undefined
    const [existing] = await db.select({ id: contacts.id, phone: contacts.phone }).from(contacts)
      .where(and(eq(contacts.accountId, accountId), or(
        fields.phone ? eq(contacts.phone, fields.phone) : undefined,
        fields.external_id ? eq(contacts.externalId, fields.external_id) : undefined,
      ), exceptId ? sql`${contacts.id} <> ${exceptId}` : undefined))
      .limit(1)
    return existing && { id: existing.id, field: existing.phone === fields.phone ? 'phone' : 'external_id' }
  }

  private clashError(clash: { id: string; field: string } | undefined): ApiError {
    return new ApiError('contact_exists', clash
      ? `Contact ${clash.id} already has this ${clash.field === 'phone' ? 'phone number' : 'external_id'}.`
      : 'Another contact has this phone number or external_id.', {
      errors: [{ field: `/body/${clash?.field ?? 'phone'}`, message: 'is taken by another contact' }],
      extensions: { existing_id: clash?.id ?? null },
    })
  }

  async list(accountId: string, query: ContactListQuery) {
    const created = createdRange(contacts.createdAt, query)
    let phone: string | undefined
    if (query.phone !== undefined) {
      phone = normalizePhone(query.phone, undefined) ?? undefined
      if (!phone) throw new ApiError('validation_failed', 'phone must be a phone number in E.164.', { errors: [{ field: '/querystring/phone', message: 'must be a phone number in E.164' }] })
    }
    const conditions: (SQL | undefined)[] = [
      eq(contacts.accountId, accountId),
      phone ? eq(contacts.phone, phone) : undefined,
      query.external_id !== undefined ? eq(contacts.externalId, query.external_id) : undefined,
      query.tag !== undefined ? sql`${contacts.tags} @> array[${query.tag}]::text[]` : undefined,
      query.do_not_call === undefined ? undefined : query.do_not_call ? sql`${contacts.doNotCall}` : sql`not ${contacts.doNotCall}`,
      ...created.conditions,
    ]
    if (query.q !== undefined) {
      conditions.push(searchCondition(accountId, query.q))
    }
    return listJsonPage(this.context.db, {
      table: contacts,
      json: PUBLIC_CONTACT_JSON,
      conditions,
      page: query,
      filters: { q: query.q, tag: query.tag, phone, external_id: query.external_id, do_not_call: query.do_not_call, ...created.filters },
    })
  }

  /** The contact row, for other groups (calls dial it): 404 `contact_not_found` when missing or another account's. */
  async find(accountId: string, contactId: string, notFound: 'not_found' | 'contact_not_found' = 'not_found'): Promise<ContactRow> {
    return findOwned<ContactRow>(this.context.db, contacts, accountId, contactId, { label: LABEL, notFound })
  }

  async get(accountId: string, contactId: string) {
    return presentContact(await this.find(accountId, contactId))
  }

  async update(accountId: string, contactId: string, input: ContactInput & { default_country?: CountryCode | undefined }, actor: Actor) {
    const normalized = normalizeContact(input, { defaultCountry: input.default_country, requirePhone: false })
    if (!normalized.ok) throw invalid(normalized.problems, '/body')
    const fields = normalized.fields
    const { row } = await this.context.db.transaction((tx) => auditedUpdate<ContactRow>(tx, {
      table: contacts, accountId, id: contactId, label: LABEL, actor, action: 'contact.updated', targetType: 'contact', present: presentContact,
      change: async (before) => {
        const changes = contactColumns(fields)
        const clash = await this.clash(tx, accountId, {
          phone: fields.phone !== before.phone ? fields.phone : undefined,
          external_id: fields.external_id !== before.externalId ? fields.external_id : undefined,
        }, contactId)
        if (clash) throw this.clashError(clash)
        const differs = Object.entries(changes).some(([key, value]) => JSON.stringify(value) !== JSON.stringify(before[key as keyof ContactRow]))
        return differs ? { ...changes, updatedAt: this.context.clock.now() } : null
      },
    }))
    return presentContact(row)
  }

  /**
   * The contact asked never to be called again (on a call): marked do-not-call, audited, inside
   * the transaction that ends the call. Honoured automatically; only the customer can lift it.
   */
  async optOut(tx: Transaction, accountId: string, contactId: string, actor: Actor, callId: string): Promise<void> {
    await auditedUpdate<ContactRow>(tx, {
      table: contacts, accountId, id: contactId, label: LABEL, actor, action: 'contact.opted_out', targetType: 'contact', present: presentContact,
      change: (before) => (before.doNotCall ? null : { doNotCall: true, updatedAt: this.context.clock.now() }),
    }).catch((error: unknown) => {
      // Deleted since the call began: nothing left to mark.
      if (error instanceof ApiError && error.code === 'not_found') return
      throw error
    })
    this.context.log.info({ contactId, callId }, 'contact opted out on a call: marked do-not-call')
  }

  async delete(accountId: string, contactId: string, actor: Actor): Promise<void> {
    await this.context.db.transaction(async (tx) => {
      const before = await findOwned<ContactRow>(tx, contacts, accountId, contactId, { label: LABEL, forUpdate: true })
      await tx.delete(contacts).where(eq(contacts.id, contactId))
      await recordAudit(tx, actor, { accountId, action: 'contact.deleted', targetType: 'contact', targetId: contactId, before: presentContact(before), after: null })
    })
  }
}
