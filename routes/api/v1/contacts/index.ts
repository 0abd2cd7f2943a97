import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { CountryCode } from 'libphonenumber-js'
import { IdParamsSchema, problemResponses } from '../../../../src/http/schemas.js'
import { ContactService } from '../../../../src/contacts/service.js'
import { sendJsonPage } from '../../../../src/http/json-page.js'
import { defineGroup } from '../group.js'
import {
  CONTACT_SCHEMAS, ContactImportListSchema, ContactImportSchema, ContactListQuery, ContactListSchema, ContactSchema, CreateContactBody,
  ImportListQuery, ImportQuery, UpdateContactBody,
} from './schemas.js'

const IMPORT_TYPES = { 'text/csv': 'csv', 'application/x-ndjson': 'ndjson' } as const

/** The import upload: its own content types, streamed to the handler, never parsed into memory. */
const importRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const contacts = fastify.services.contacts
  fastify.addContentTypeParser(Object.keys(IMPORT_TYPES), (_request, payload, done) => done(null, payload))

  fastify.post('/imports', {
    config: { scope: 'contacts:write', idempotent: 'in-handler' },
    schema: {
      tags: ['contacts'], summary: 'Import contacts from a CSV or NDJSON file', operationId: 'importContacts',
      description: 'Send the file as the body (`text/csv` with a header row, or `application/x-ndjson`, one contact object per line), '
        + 'up to IMPORT_MAX_BYTES (200 MB). Answers 202 with the import job at once; it runs in the background, in batches — poll '
        + '`GET /contacts/imports/{id}`. A bad row is reported (the first 100, with row and field) and skipped; good rows land. '
        + 'CSV columns named like fields map to them, other columns become custom fields, unless `mapping` says otherwise.',
      querystring: ImportQuery,
      response: { 202: Type.Ref(ContactImportSchema), ...problemResponses('validation_failed', 'payload_too_large', 'unsupported_media_type', 'idempotency_key_reused', 'invalid_idempotency_key') },
      'x-streamed-body': {
        'text/csv': { description: 'CSV with a header row', example: 'phone,first_name,last_name,email,tags,plan\n+14155550123,Dana,Reyes,dana@example.com,vip;renewal,gold\n' },
        'application/x-ndjson': { description: 'One contact object per line', example: '{"phone":"+14155550123","first_name":"Dana","tags":["vip"]}\n' },
      },
    },
  }, async (request, reply) => {
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() as keyof typeof IMPORT_TYPES
    const length = request.headers['content-length']
    const { response, replayed } = await contacts.imports.start(request.principal.account.id, {
      format: IMPORT_TYPES[type],
      onConflict: request.query.on_conflict ?? 'skip',
      defaultCountry: request.query.default_country,
      tag: request.query.tag,
      mapping: request.query.mapping,
    }, {
      body: request.body as NodeJS.ReadableStream as import('node:stream').Readable,
      contentLength: length === undefined ? undefined : Number(length),
      request: { method: request.method, url: request.url },
      idempotencyKey: request.idempotencyKey ?? undefined,
    }, request.actor)
    for (const [name, value] of Object.entries(response.headers)) reply.header(name, value)
    if (replayed) reply.header('idempotent-replayed', 'true')
    // The stored JSON text as it is: with a JSON content type set, Fastify sends a string unserialised.
    return reply.code(response.status as 202).send(response.body as never)
  })
}

/** CRM contacts: CRUD, filters, and bulk import. */
const routes: FastifyPluginAsyncTypebox = async (fastify) => {
  const contacts = fastify.services.contacts
  const read = { scope: 'contacts:read' } as const
  const write = { scope: 'contacts:write' } as const

  fastify.post('/', {
    config: { ...write, idempotent: true },
    schema: {
      tags: ['contacts'], summary: 'Create a contact', operationId: 'createContact',
      description: 'The phone number is stored in E.164; one contact per phone number (and per external_id) per account: '
        + 'a second is a 409 `contact_exists` naming the existing one (`existing_id`).',
      body: CreateContactBody,
      response: { 201: Type.Ref(ContactSchema), ...problemResponses('validation_failed', 'contact_exists', 'bad_request', 'payload_too_large', 'unsupported_media_type') },
    },
  }, async (request, reply) => {
    const { default_country: country, ...input } = request.body
    return reply.code(201).send(await contacts.create(request.principal.account.id, { ...input, default_country: country as CountryCode | undefined }, request.actor))
  })

  fastify.get('/', {
    config: read,
    schema: {
      tags: ['contacts'], summary: 'List contacts, newest first', operationId: 'listContacts',
      description: 'Filters combine; each is served by an index. A cursor continues the list it came from, with the same filters.',
      querystring: ContactListQuery,
      response: { 200: Type.Ref(ContactListSchema), ...problemResponses('validation_failed', 'invalid_cursor') },
    },
  }, async (request, reply) => {
    return sendJsonPage(reply, await contacts.list(request.principal.account.id, request.query))
  })

  fastify.get('/imports', {
    config: read,
    schema: {
      tags: ['contacts'], summary: 'List imports, newest first', operationId: 'listContactImports',
      querystring: ImportListQuery,
      response: { 200: Type.Ref(ContactImportListSchema), ...problemResponses('validation_failed', 'invalid_cursor') },
    },
  }, async (request) => contacts.imports.list(request.principal.account.id, request.query))

  fastify.get('/imports/:id', {
    config: read,
    schema: {
      tags: ['contacts'], summary: 'An import and its progress', operationId: 'getContactImport',
      params: IdParamsSchema,
      response: { 200: Type.Ref(ContactImportSchema), ...problemResponses('validation_failed', 'not_found') },
    },
  }, async (request) => contacts.imports.get(request.principal.account.id, request.params.id))

  await fastify.register(importRoutes)

  fastify.get('/:id', {
    config: read,
    schema: {
      tags: ['contacts'], summary: 'Get a contact', operationId: 'getContact',
      params: IdParamsSchema,
      response: { 200: Type.Ref(ContactSchema), ...problemResponses('validation_failed', 'not_found') },
    },
  }, async (request) => contacts.get(request.principal.account.id, request.params.id))

  fastify.patch('/:id', {
    config: write,
    schema: {
      tags: ['contacts'], summary: 'Change a contact', operationId: 'updateContact',
      description: 'Send only what changes; null clears a field.',
      params: IdParamsSchema,
      body: UpdateContactBody,
      response: { 200: Type.Ref(ContactSchema), ...problemResponses('validation_failed', 'not_found', 'contact_exists', 'bad_request', 'unsupported_media_type') },
    },
  }, async (request) => {
    const { default_country: country, ...input } = request.body
    return contacts.update(request.principal.account.id, request.params.id, { ...input, default_country: country as CountryCode | undefined }, request.actor)
  })

  fastify.delete('/:id', {
    config: write,
    schema: {
      tags: ['contacts'], summary: 'Delete a contact', operationId: 'deleteContact',
      params: IdParamsSchema,
      response: { 204: Type.Null({ description: 'Deleted' }), ...problemResponses('validation_failed', 'not_found') },
    },
  }, async (request, reply) => {
    await contacts.delete(request.principal.account.id, request.params.id, request.actor)
    return reply.code(204).send(null)
  })
}

export default defineGroup({
  name: 'contacts',
  prefix: '/contacts',
  tag: { name: 'contacts', description: 'CRM contacts: CRUD, filters, bulk import (scopes contacts:read, contacts:write)' },
  schemas: CONTACT_SCHEMAS,
  service: (context) => new ContactService(context),
  routes,
})
