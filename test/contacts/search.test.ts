import t from 'tap'
import { inArray, sql } from 'drizzle-orm'
import { contacts } from '../../src/db/schema/index.js'
import { searchCondition } from '../../src/contacts/search.js'
import { buildTestApp, createTestAccount } from '../helper/app.js'
import { createContact } from '../helper/factories.js'
import { explain } from '../helper/explain.js'

// The filter repeats the index's expression (contactSearchTerms): if the two ever drift apart,
// `q` still answers right, by reading every contact. Sequential scans are off here, so a plan
// that cannot use the indexes shows it. (Without the account condition the query adds, which an
// empty table would rather answer from the created_at index.)
t.test('q is answered by the search GIN index and the phone index, not a scan of the table', async (t) => {
  const { app } = await buildTestApp(t)
  const { db } = app.database
  const plan = await db.transaction(async (tx) => {
    await tx.execute(sql`set local enable_seqscan = off`)
    return explain(tx, tx.select({ id: contacts.id }).from(contacts).where(searchCondition('acct_1', "O'Br")))
  })
  t.match(plan, /Bitmap Index Scan on contacts_search_idx/, `the names and the email through their GIN index in\n${plan}`)
  t.match(plan, /Bitmap Index Scan on contacts_account_phone_unique/, 'the phone through its unique index')
  t.notMatch(plan, /Seq Scan/)
})

// The list also filters on account_id, which would hide a lexeme that let one account's prefix
// reach another's: here the condition runs alone.
t.test("q's condition alone matches only its own account's contacts", async (t) => {
  const { app } = await buildTestApp(t)
  const { db } = app.database
  const [one, two] = [await createTestAccount(app), await createTestAccount(app)]
  const mine = await createContact(app, one.key, { phone: '+12125550160', first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com' })
  const theirs = await createContact(app, two.key, { phone: '+12125550160', first_name: 'Ada', last_name: 'Lovelace', email: 'ada@example.com' })
  const found = async (accountId: string, q: string) => (await db.select({ id: contacts.id }).from(contacts)
    .where(sql`${inArray(contacts.id, [mine.id as string, theirs.id as string])} and ${searchCondition(accountId, q)}`)).map((row) => row.id)
  for (const q of ['ada', 'love', 'ada@ex']) {
    t.same(await found(one.accountId, q), [mine.id], `${q}: account one's contact`)
    t.same(await found(two.accountId, q), [theirs.id], `${q}: account two's contact`)
  }
  t.same(await found(one.accountId, 'zed'), [], 'no prefix, no match')
})
