import t from 'tap'
import { buildTestApp, call, createTestAccount } from '../helper/app.js'
import { createContact, createKey } from '../helper/factories.js'
import { expectProblem } from '../helper/problem.js'

t.test('contacts API', async (t) => {
  const { app } = await buildTestApp(t)
  const owner = await createTestAccount(app)
  const post = (body: Record<string, unknown>, key = owner.key) => call(app, { method: 'POST', url: '/api/v1/contacts', key, payload: body })

  t.test('create normalises the phone to E.164 and checks every field', async (t) => {
    const created = await post({
      phone: '(415) 555-0120', default_country: 'US', first_name: 'Dana', last_name: 'Reyes', email: 'dana@example.com',
      timezone: 'America/Los_Angeles', tags: ['vip', 'vip', 'renewal'], custom_fields: { plan: 'gold', visits: 3, active: true }, external_id: 'crm-1',
    })
    t.equal(created.statusCode, 201)
    t.match(created.json(), {
      id: /^con_[0-9A-Za-z]{22}$/, phone: '+14155550120', timezone: 'America/Los_Angeles', tags: ['vip', 'renewal'],
      custom_fields: { plan: 'gold', visits: 3, active: true }, do_not_call: false, external_id: 'crm-1',
    })
    t.equal(typeof created.json().custom_fields.visits, 'number', 'numbers stay numbers')
    t.same((await call(app, { url: `/api/v1/contacts/${created.json().id}`, key: owner.key })).json(), created.json())

    for (const [field, body, pointer] of [
      ['phone', { phone: '555-0100' }, '/body/phone'],
      ['phone without a country', { phone: '(415) 555-0121' }, '/body/phone'],
      ['an invalid number', { phone: '+1415555' }, '/body/phone'],
      ['timezone', { phone: '+14155550122', timezone: 'Mars/Olympus' }, '/body/timezone'],
      ['email', { phone: '+14155550122', email: 'not-an-email' }, '/body/email'],
      ['too many tags', { phone: '+14155550122', tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }, '/body/tags'],
      ['a long tag', { phone: '+14155550122', tags: ['x'.repeat(65)] }, '/body/tags/0'],
      ['too many custom fields', { phone: '+14155550122', custom_fields: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`f${i}`, 1])) }, '/body/custom_fields'],
      ['a nested custom field', { phone: '+14155550122', custom_fields: { deep: { no: 1 } } }, '/body/custom_fields/deep'],
      ['a bad custom field name', { phone: '+14155550122', custom_fields: { 'bad key': 1 } }, '/body/custom_fields/bad key'],
      ['a country that is none', { phone: '4155550122', default_country: 'ZZ' }, '/body/phone'],
    ] as const) {
      const problem = expectProblem(t, await post(body), 400, 'validation_failed', field)
      t.ok(problem.errors?.some((error) => error.field === pointer), `${field}: names ${pointer} (got ${JSON.stringify(problem.errors)})`)
    }
  })

  t.test('one contact per phone and per external id: a second is a 409 naming the first', async (t) => {
    const first = await createContact(app, owner.key, { phone: '+14155550130', external_id: 'crm-130' })
    const samePhone = expectProblem(t, await post({ phone: '+1 415 555 0130' }), 409, 'contact_exists')
    t.equal((samePhone as { existing_id?: string }).existing_id, first.id)
    t.match(samePhone.errors, [{ field: '/body/phone' }])
    const sameId = expectProblem(t, await post({ phone: '+14155550131', external_id: 'crm-130' }), 409, 'contact_exists')
    t.equal((sameId as { existing_id?: string }).existing_id, first.id)
    t.match(sameId.errors, [{ field: '/body/external_id' }])
    const other = await createContact(app, owner.key, { phone: '+14155550132' })
    const patched = expectProblem(t, await call(app, { method: 'PATCH', url: `/api/v1/contacts/${other.id}`, key: owner.key, payload: { phone: '+14155550130' } }), 409, 'contact_exists')
    t.equal((patched as { existing_id?: string }).existing_id, first.id)
    const elsewhere = await createTestAccount(app)
    t.equal((await post({ phone: '+14155550130', external_id: 'crm-130' }, elsewhere.key)).statusCode, 201, 'another account may have the same number')
  })

  t.test('PATCH changes what is sent, null clears, audited; DELETE removes', async (t) => {
    const contact = await createContact(app, owner.key, { email: 'a@example.com', tags: ['x'] })
    const patch = (body: Record<string, unknown>) => call(app, { method: 'PATCH', url: `/api/v1/contacts/${contact.id}`, key: owner.key, payload: body })
    const changed = await patch({ email: null, tags: ['y'], do_not_call: true })
    t.match(changed.json(), { email: null, tags: ['y'], do_not_call: true, first_name: 'Dana', phone: contact.phone })
    t.ok(Date.parse(changed.json().updated_at) >= Date.parse(contact.updated_at as string))
    expectProblem(t, await patch({ timezone: 'Nowhere/City' }), 400, 'validation_failed')
    const deleted = await call(app, { method: 'DELETE', url: `/api/v1/contacts/${contact.id}`, key: owner.key })
    t.equal(deleted.statusCode, 204)
    expectProblem(t, await call(app, { url: `/api/v1/contacts/${contact.id}`, key: owner.key }), 404, 'not_found')
    const audit = (await call(app, { url: '/api/v1/audit-log?limit=100', key: owner.key })).json().data
    t.same(audit.filter((entry: { target_id: string }) => entry.target_id === contact.id).map((entry: { action: string }) => entry.action), ['contact.deleted', 'contact.updated', 'contact.created'])
  })

  t.test('a listed contact parses to exactly what GET shows (keys, their order, values)', async (t) => {
    // Lists send JSON text PostgreSQL built; GET serialises the row through the Contact schema.
    // Compared re-serialised: PostgreSQL spaces its JSON otherwise, and spells 1e21 in full.
    // Awkward strings (quotes, backslashes, astral characters; a custom field may hold a tab or a
    // newline), every null, custom fields of each type (numbers jsonb spells otherwise: 1e21,
    // 1e-7) with keys in an order jsonb changes, and the opt-out set.
    const account = await createTestAccount(app)
    const awkward = await createContact(app, account.key, {
      phone: '+14155550150', first_name: 'Zoë "Z" \\ 😀', last_name: 'O\'Brien-Smith', email: 'zoe@example.com', timezone: 'Europe/Paris',
      tags: ['a "tag"', 'ü\\', '😀'], custom_fields: { zeta: 'last', a: 1.5, plan: 'gold', visits: 3, big: 1e21, tiny: 1e-7, active: false, note: 'tab\there\nand a line' },
      do_not_call: true, external_id: 'crm "42"',
    })
    const bare = await createContact(app, account.key, { phone: '+14155550151' })
    const page = await call(app, { url: '/api/v1/contacts?limit=100', key: account.key })
    t.equal(page.statusCode, 200)
    t.equal(page.headers['content-type'], 'application/json; charset=utf-8')
    t.ok(page.headers['x-ratelimit-limit'], 'with the headers every API response carries')
    const listed = page.json().data as { id: string }[]
    t.same(listed.map((contact) => contact.id).sort(), [bare.id, awkward.id].sort())
    for (const item of listed) {
      const single = await call(app, { url: `/api/v1/contacts/${item.id}`, key: account.key })
      t.equal(JSON.stringify(item), single.body, `${item.id}: listed as GET shows it`)
    }
    t.same(listed.find((contact) => contact.id === awkward.id), awkward, 'and as it was created')
  })

  t.test('q is literal text: quotes, backslashes and tsquery operators match themselves; only this account is searched', async (t) => {
    const account = await createTestAccount(app)
    const other = await createTestAccount(app)
    const make = (key: string, body: Record<string, unknown>) => createContact(app, key, body)
    const obrien = await make(account.key, { phone: '+12125550150', first_name: "Seán", last_name: "O'Brien" })
    const slash = await make(account.key, { phone: '+12125550151', first_name: 'Back\\slash', last_name: 'A & B | !C:* 100%' })
    const elodie = await make(account.key, { phone: '+12125550152', first_name: 'Élodie', last_name: 'Mary Ann' })
    await make(other.key, { phone: '+12125550150', first_name: "Seán", last_name: "O'Brien" })
    const list = async (q: string) => (await call(app, { url: `/api/v1/contacts?q=${encodeURIComponent(q)}`, key: account.key })).json().data.map((contact: { id: string }) => contact.id)
    t.same(await list("o'b"), [obrien.id], 'a quote')
    t.same(await list('back\\'), [slash.id], 'a backslash')
    t.same(await list('a & b | !c:'), [slash.id], 'tsquery operators are characters of the prefix')
    t.same(await list('a & c'), [], 'and are not operators')
    t.same(await list('a & b | !c:* 100%'), [slash.id], 'a percent sign is a character too')
    t.same(await list('a & b | !c:* 10%'), [], 'not a wildcard')
    t.same(await list('ÉLO'), [elodie.id], 'non-ASCII letters, case-insensitive')
    t.same(await list('mary a'), [elodie.id], 'a space inside a name')
    t.same(await list('ann'), [], 'a prefix of a name, not of a word inside it')
    t.same(await list('seán'), [obrien.id], "another account's contact with the same name is not listed")
  })

  t.test('filters: q, tag, phone, external_id, do_not_call, created range; cursors keep their filters', async (t) => {
    const account = await createTestAccount(app)
    const make = (body: Record<string, unknown>) => createContact(app, account.key, body)
    const ann = await make({ phone: '+12125550140', first_name: 'Ann', last_name: 'Lee', email: 'ann@corp.example', tags: ['vip'] })
    const bob = await make({ phone: '+12125550141', first_name: 'Bob', last_name: 'Annan', email: 'bob@corp.example', tags: ['vip', 'late'], external_id: 'ext-bob' })
    const cy = await make({ phone: '+13105550142', first_name: 'Cy', last_name: 'Ortiz', email: 'cy_ann@other.example', do_not_call: true })
    const list = async (query: string) => (await call(app, { url: `/api/v1/contacts?${query}`, key: account.key })).json().data.map((contact: { id: string }) => contact.id)
    t.same(await list('q=ann'), [bob.id, ann.id], 'a prefix of first name or last name, newest first')
    t.same(await list('q=ANN'), [bob.id, ann.id], 'case-insensitive')
    t.same(await list('q=cy_'), [cy.id], 'an underscore is a literal character, not a wildcard')
    t.same(await list('q=%2B1310'), [cy.id], 'a prefix of the phone')
    t.same(await list('q=bob%40'), [bob.id], 'a prefix of the email')
    t.same(await list('tag=vip'), [bob.id, ann.id])
    t.same(await list('tag=late'), [bob.id])
    t.same(await list('phone=%2B12125550140'), [ann.id])
    t.same(await list('external_id=ext-bob'), [bob.id])
    t.same(await list('do_not_call=true'), [cy.id])
    t.same(await list('do_not_call=false'), [bob.id, ann.id])
    t.same(await list(`created_after=${encodeURIComponent(bob.created_at as string)}`), [cy.id, bob.id])
    t.same(await list(`created_before=${encodeURIComponent(bob.created_at as string)}`), [ann.id])
    t.same(await list('tag=vip&q=bo'), [bob.id], 'filters combine')
    expectProblem(t, await call(app, { url: '/api/v1/contacts?phone=12', key: account.key }), 400, 'validation_failed')

    const page = (await call(app, { url: '/api/v1/contacts?tag=vip&limit=1', key: account.key })).json()
    t.equal(page.has_more, true)
    const next = (await call(app, { url: `/api/v1/contacts?tag=vip&limit=1&cursor=${page.next_cursor}`, key: account.key })).json()
    t.same(next.data.map((contact: { id: string }) => contact.id), [ann.id])
    const replayed = expectProblem(t, await call(app, { url: `/api/v1/contacts?tag=late&limit=1&cursor=${page.next_cursor}`, key: account.key }), 400, 'invalid_cursor', 'a cursor replayed with other filters')
    t.match(replayed.errors, [{ field: '/querystring/cursor' }])
  })

  t.test('scopes: contacts:read cannot write', async (t) => {
    const reader = await createKey(app, owner.key, ['contacts:read'])
    expectProblem(t, await post({ phone: '+14155550150' }, reader.key), 403, 'insufficient_scope')
    t.equal((await call(app, { url: '/api/v1/contacts', key: reader.key })).statusCode, 200)
    const contact = await createContact(app, owner.key)
    expectProblem(t, await call(app, { method: 'DELETE', url: `/api/v1/contacts/${contact.id}`, key: reader.key }), 403, 'insufficient_scope')
    expectProblem(t, await call(app, { method: 'POST', url: '/api/v1/contacts/imports', key: reader.key, headers: { 'content-type': 'text/csv' }, payload: 'phone\n' }), 403, 'insufficient_scope')
  })
})
