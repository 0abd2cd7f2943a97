import t from 'tap'
import type { AddressInfo } from 'node:net'
import { eq } from 'drizzle-orm'
import { buildTestApp, call, createTestAccount } from '../helper/app.js'
import { createContact, importContacts, waitForImport } from '../helper/factories.js'
import { expectProblem } from '../helper/problem.js'
import { contactImportChunks, contactImports, contacts, events } from '../../src/db/schema/index.js'

const csv = (rows: string[], header = 'phone,first_name,last_name,email,tags,plan') => `${header}\n${rows.join('\n')}\n`

t.test('CSV imports: good rows land, bad rows are reported with row and field, duplicates are skipped', async (t) => {
  const { app } = await buildTestApp(t, { IMPORT_BATCH_SIZE: 3 })
  const account = await createTestAccount(app)
  const existing = await createContact(app, account.key, { phone: '+14155550300', first_name: 'Old', tags: ['kept'] })
  const done = await importContacts(app, account.key, csv([
    '+14155550301,Ann,Lee,ann@example.com,vip;new,gold', // 1 created
    '(415) 555-0302,Bob,,bob@example.com,,', // 2 created (default_country)
    '+14155550301,Ann again,,,,', // 3 duplicate of row 1 (another batch)
    'not-a-phone,Cy,,,,', // 4 failed: phone
    '+14155550303,Di,,not-an-email,,', // 5 failed: email
    '+14155550300,Existing,,,,', // 6 skipped: exists (skip mode)
    '+14155550304,Eve,"Quoted, with comma",eve@example.com,,', // 7 created
    '+1 415 555 0302,Bob twice,,,,', // 8 duplicate of row 2, other spelling
  ]), { query: 'default_country=US&tag=imported' })
  t.match(done, { status: 'completed', processed: 8, created: 3, updated: 0, skipped: 3, failed: 2, failure_reason: null, bytes: Number })
  t.same(done.errors, [
    { row: 3, field: 'phone', message: 'duplicate of row 1 in this file' },
    { row: 4, field: 'phone', message: '"not-a-phone" is not a valid phone number (read with default_country US)' },
    { row: 5, field: 'email', message: 'must be an email address' },
    { row: 8, field: 'phone', message: 'duplicate of row 2 in this file' },
  ])
  t.match(done, { started_at: String, completed_at: String })
  const listed = (await call(app, { url: '/api/v1/contacts?tag=imported&limit=100', key: account.key })).json().data
  t.same(listed.map((contact: { phone: string }) => contact.phone).sort(), ['+14155550301', '+14155550302', '+14155550304'], 'rows 1, 2 and 7, tagged')
  const ann = listed.find((contact: { phone: string }) => contact.phone === '+14155550301')
  t.match(ann, { first_name: 'Ann', last_name: 'Lee', email: 'ann@example.com', tags: ['vip', 'new', 'imported'], custom_fields: { plan: 'gold' } })
  t.equal(listed.find((contact: { phone: string }) => contact.phone === '+14155550304').last_name, 'Quoted, with comma')
  const old = (await call(app, { url: `/api/v1/contacts/${existing.id}`, key: account.key })).json()
  t.match(old, { first_name: 'Old', tags: ['kept'] }, 'skip mode leaves an existing contact alone')
  t.same(await app.database.db.select().from(contactImportChunks).where(eq(contactImportChunks.importId, done.id)), [], 'staging is deleted once done')
  const [event] = await app.database.db.select().from(events).where(eq(events.type, 'contact.import.completed'))
  t.match(event?.payload, { id: done.id, status: 'completed', created: 3 }, 'the outbox announces it')
  const listing = (await call(app, { url: '/api/v1/contacts/imports', key: account.key })).json()
  t.same(listing.data.map((item: { id: string }) => item.id), [done.id])
})

t.test('on_conflict=update: given fields replace, tags and custom fields merge, an opt-out stays', async (t) => {
  const { app } = await buildTestApp(t)
  const account = await createTestAccount(app)
  const existing = await createContact(app, account.key, {
    phone: '+14155550310', first_name: 'Old', last_name: 'Name', tags: ['kept'], custom_fields: { a: 1 }, do_not_call: true,
  })
  const done = await importContacts(app, account.key, csv([
    '+14155550310,New,,,fresh,gold',
    '+14155550311,Brand,,,,',
    '+14155550310,Twice,,,,',
  ], 'phone,first_name,last_name,email,tags,plan'), { query: 'on_conflict=update' })
  t.match(done, { status: 'completed', processed: 3, created: 1, updated: 1, skipped: 1, failed: 0 })
  t.match(done.errors, [{ row: 3, field: 'phone', message: 'duplicate of row 1 in this file' }])
  const updated = (await call(app, { url: `/api/v1/contacts/${existing.id}`, key: account.key })).json()
  t.match(updated, { first_name: 'New', last_name: 'Name', do_not_call: true, custom_fields: { a: 1, plan: 'gold' } })
  t.same(updated.tags.sort(), ['fresh', 'kept'])
})

t.test('NDJSON, mappings, and files that cannot be imported', async (t) => {
  const { app } = await buildTestApp(t)
  const account = await createTestAccount(app)
  const ndjson = [
    JSON.stringify({ phone: '+14155550320', first_name: 'Jo', tags: ['a'], custom_fields: { n: 2 }, do_not_call: true, external_id: 'x-1' }),
    '{ this is not json',
    JSON.stringify({ phone: '+14155550321', nickname: 'Unknown field' }),
    JSON.stringify(['an', 'array']),
    '',
    JSON.stringify({ phone: '+14155550322', external_id: 'x-1' }),
  ].join('\n')
  const done = await importContacts(app, account.key, ndjson, { type: 'application/x-ndjson' })
  t.match(done, { format: 'ndjson', status: 'completed', processed: 5, created: 1, failed: 3, skipped: 1 })
  t.same(done.errors.map((error: { row: number; field: string }) => [error.row, error.field]), [[2, ''], [3, 'nickname'], [4, ''], [5, 'external_id']])
  const jo = (await call(app, { url: '/api/v1/contacts?external_id=x-1', key: account.key })).json().data[0]
  t.match(jo, { first_name: 'Jo', do_not_call: true, custom_fields: { n: 2 } })

  const mapped = await importContacts(app, account.key, 'Mobile,Given,Notes,Level\n+14155550330,Mo,ignore me,3\n', {
    query: `mapping=${encodeURIComponent(JSON.stringify({ Mobile: 'phone', Given: 'first_name', Notes: 'ignore', Level: 'custom_fields.level' }))}`,
  })
  t.match(mapped, { status: 'completed', created: 1 })
  t.match((await call(app, { url: '/api/v1/contacts?phone=%2B14155550330', key: account.key })).json().data[0], { first_name: 'Mo', custom_fields: { level: '3' } })

  const noPhone = await importContacts(app, account.key, 'name,email\nA,a@example.com\n')
  t.match(noPhone, { status: 'failed', processed: 0, created: 0, failure_reason: /no column is the phone number/ })
  const broken = await importContacts(app, account.key, 'phone,first_name\n+14155550340,"unterminated\n')
  t.match(broken, { status: 'failed', failure_reason: /the CSV cannot be read/ })

  for (const [query, field] of [
    [`mapping=${encodeURIComponent('{"a": "nope"}')}`, '/querystring/mapping'],
    ['mapping=not-json', '/querystring/mapping'],
    ['default_country=XX', '/querystring/default_country'],
    ['on_conflict=merge', '/querystring/on_conflict'],
  ] as const) {
    const refused = await call(app, { method: 'POST', url: `/api/v1/contacts/imports?${query}`, key: account.key, headers: { 'content-type': 'text/csv' }, payload: 'phone\n+14155550350\n' })
    const problem = expectProblem(t, refused, 400, 'validation_failed', query)
    t.ok(problem.errors?.some((error) => error.field === field), `${query} names ${field}`)
  }
  expectProblem(t, await call(app, { method: 'POST', url: '/api/v1/contacts/imports', key: account.key, headers: { 'content-type': 'application/xml' }, payload: '<x/>' }), 415, 'unsupported_media_type')
  t.equal((await app.database.db.select().from(contactImports)).filter((row) => row.status === 'uploading').length, 0, 'refusals leave no upload behind')
})

t.test('a file of many staged chunks comes back byte for byte, multibyte characters across every boundary', async (t) => {
  const { app } = await buildTestApp(t, { IMPORT_BATCH_SIZE: 2_000 })
  const account = await createTestAccount(app)
  // ~880 KB: four 256 KB staging chunks, each read back in 32 KB pieces. Names of 2-, 3- and
  // 4-byte UTF-8 characters of varying length put a character across chunk and piece boundaries.
  const name = (i: number) => `Zoë${'€'.repeat(i % 7)}${'😀'.repeat(i % 5)}${'x'.repeat(i % 3)} ${i}`
  const rows = Array.from({ length: 12_000 }, (_, i) => `+1415${2_000_000 + i},${name(i)},Ünal,z${i}@example.com,"a;b",p`)
  const file = csv(rows)
  t.ok(Buffer.byteLength(file) > 2 * 256 * 1024, `${Buffer.byteLength(file)} bytes`)
  const done = await importContacts(app, account.key, file)
  t.match(done, { status: 'completed', bytes: Buffer.byteLength(file), processed: 12_000, created: 12_000, failed: 0, skipped: 0 })
  const stored = await app.database.db.select({ phone: contacts.phone, firstName: contacts.firstName, lastName: contacts.lastName }).from(contacts)
  const byPhone = new Map(stored.map((row) => [row.phone, row]))
  const wrong = Array.from({ length: 12_000 }, (_, i) => i).filter((i) => {
    const row = byPhone.get(`+1415${2_000_000 + i}`)
    return row?.firstName !== name(i) || row.lastName !== 'Ünal'
  })
  t.same(wrong, [], 'every name exactly as sent')
  t.same(await app.database.db.select().from(contactImportChunks), [], 'staging is gone once the import ends')
})

t.test('a file over IMPORT_MAX_BYTES is a 413 and writes nothing, whether it says its length or not', async (t) => {
  const { app } = await buildTestApp(t, { IMPORT_MAX_BYTES: 2_048 })
  const account = await createTestAccount(app)
  const big = csv(Array.from({ length: 200 }, (_, i) => `+1415555${String(1000 + i)},Name${i},,,,`))
  t.ok(big.length > 2_048)
  expectProblem(t, await call(app, { method: 'POST', url: '/api/v1/contacts/imports', key: account.key, headers: { 'content-type': 'text/csv' }, payload: big }), 413, 'payload_too_large', 'Content-Length over the limit')

  // Without a Content-Length (chunked), the limit is counted as the body streams in.
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const streamed = await fetch(`http://127.0.0.1:${port}/api/v1/contacts/imports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${account.key}`, 'content-type': 'text/csv' },
    body: new ReadableStream({ start(controller) { for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode(big.slice(i * 500, (i + 1) * 500))); controller.close() } }),
    duplex: 'half',
  } as RequestInit)
  t.equal(streamed.status, 413, 'chunked and over the limit')
  t.equal(((await streamed.json()) as { code: string }).code, 'payload_too_large')
  t.same(await app.database.db.select().from(contactImports), [], 'no import')
  t.same(await app.database.db.select().from(contactImportChunks), [], 'no staged chunk')
  t.same(await app.database.db.select().from(contacts), [], 'no contact')
  const small = await importContacts(app, account.key, csv(['+14155550360,Fits,,,,']))
  t.equal(small.created, 1, 'a file within the limit imports')
})

t.test('imports are idempotent like every create: the same file replays, another file is a 422', async (t) => {
  const { app } = await buildTestApp(t)
  const account = await createTestAccount(app)
  const upload = (body: string, key = 'import-once') => call(app, {
    method: 'POST', url: '/api/v1/contacts/imports', key: account.key, headers: { 'content-type': 'text/csv', 'idempotency-key': key }, payload: body,
  })
  const file = csv(['+14155550370,Once,,,,'])
  const first = await upload(file)
  t.equal(first.statusCode, 202)
  t.equal(first.headers.location, `/api/v1/contacts/imports/${first.json().id}`)
  await waitForImport(app, account.key, first.json().id)
  const again = await upload(file)
  t.equal(again.statusCode, 202)
  t.equal(again.headers['idempotent-replayed'], 'true')
  t.equal(again.json().id, first.json().id, 'the same import')
  expectProblem(t, await upload(csv(['+14155550371,Other,,,,'])), 422, 'idempotency_key_reused')
  expectProblem(t, await upload(file, 'bad\u0001key'), 400, 'invalid_idempotency_key')
  t.equal((await call(app, { url: '/api/v1/contacts/imports', key: account.key })).json().data.length, 1, 'one import')
  t.equal((await app.database.db.select().from(contactImportChunks)).length, 0, 'the replayed upload’s staging was discarded')
})
