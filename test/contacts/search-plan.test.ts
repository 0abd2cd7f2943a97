import t from 'tap'
import { sql } from 'drizzle-orm'
import { contacts } from '../../src/db/schema/index.js'
import { searchCondition } from '../../src/contacts/search.js'
import { buildTestApp } from '../helper/app.js'
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
