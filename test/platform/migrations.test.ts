import t from 'tap'
import { randomBytes } from 'node:crypto'
import { is, sql } from 'drizzle-orm'
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core'
import { openDatabase, type DatabaseHandle } from '../../src/db/client.js'
import * as schema from '../../src/db/schema/index.js'
import type { TestLike } from '../helper/app.js'
import { rowsOf } from '../../src/db/rows.js'
import { readdirSync } from 'node:fs'
import { MIGRATIONS_DIR } from '../../src/paths.js'

const MIGRATION_COUNT = readdirSync(MIGRATIONS_DIR).filter((name) => name.endsWith('.sql')).length

/** Every table the drizzle schema declares, so a new table is covered without editing this test. */
const TABLES = (Object.values(schema) as unknown[]).filter((value): value is PgTable => is(value, PgTable))

/** A database nobody has touched: a new PostgreSQL database in CI, a new in-memory PGlite otherwise. */
async function freshDatabase(t: TestLike): Promise<DatabaseHandle> {
  const url = process.env.DATABASE_URL
  if (!url) return openDatabase({ DATA_DIR: '/nonexistent', inMemory: true })
  const name = `voxpria_migration_${randomBytes(6).toString('hex')}`
  const admin = await openDatabase({ DATABASE_URL: url, DATA_DIR: '/nonexistent' })
  await admin.db.execute(sql.raw(`create database ${name}`))
  const fresh = await openDatabase({ DATABASE_URL: url.replace(/\/[^/?]*(\?|$)/, `/${name}$1`), DATA_DIR: '/nonexistent' })
  t.teardown(async () => {
    await fresh.close()
    await admin.db.execute(sql.raw(`drop database if exists ${name}`))
    await admin.close()
  })
  return fresh
}

t.test('fresh database → all migrations → schema matches the drizzle schema', async (t) => {
  const database = await freshDatabase(t)
  t.teardown(() => database.close())
  await database.migrate()
  const applied = async () => rowsOf<{ n: number }>(await database.db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`))[0]!.n
  const once = await applied()
  t.equal(once, MIGRATION_COUNT, 'every migration in drizzle/ was applied')
  await database.migrate()
  t.equal(await applied(), once, 'migrating twice applies nothing more')

  const columns = await database.db.execute<{ table_name: string; column_name: string; is_nullable: string; data_type: string }>(sql`
    select table_name, column_name, is_nullable, data_type from information_schema.columns where table_schema = 'public'`)
  const indexes = await database.db.execute<{ tablename: string; indexname: string }>(sql`
    select tablename, indexname from pg_indexes where schemaname = 'public'`)
  const rows = (result: unknown) => ((result as { rows?: unknown[] }).rows ?? (result as unknown[])) as Record<string, string>[]
  const actualColumns = rows(columns)
  const actualIndexes = rows(indexes)

  t.equal(TABLES.length, 18, 'all tables of the schema are checked')
  for (const table of TABLES) {
    const config = getTableConfig(table)
    const live = actualColumns.filter((c) => c.table_name === config.name)
    t.same(live.map((c) => c.column_name).sort(), config.columns.map((c) => c.name).sort(), `${config.name}: same columns`)
    for (const column of config.columns) {
      const found = live.find((c) => c.column_name === column.name)
      t.equal(found?.is_nullable, column.notNull ? 'NO' : 'YES', `${config.name}.${column.name} nullability`)
      t.equal(found?.data_type, informationSchemaType(column.getSQLType()), `${config.name}.${column.name} type`)
    }
    for (const index of config.indexes) {
      t.ok(actualIndexes.some((i) => i.tablename === config.name && i.indexname === index.config.name), `${config.name}: index ${index.config.name}`)
    }
  }
})

t.test('the ledger and the audit log refuse UPDATE and DELETE', async (t) => {
  const database = await freshDatabase(t)
  t.teardown(() => database.close())
  await database.migrate()
  await database.db.insert(schema.accounts).values({ id: 'acct_migrationtest0000000', name: 'm', plan: 'starter' })
  await database.db.insert(schema.auditLog).values({ id: 'aud_migrationtest00000000', accountId: 'acct_migrationtest0000000', actor: 'cli', action: 'x', targetType: 'account', targetId: 'acct_migrationtest0000000' })
  await database.db.insert(schema.creditTransactions).values({ id: 'ctx_migrationtest00000000', accountId: 'acct_migrationtest0000000', type: 'grant', amount: 1, balanceAfter: 1, description: 'x' })
  for (const statement of [
    sql`update audit_log set action = 'y'`,
    sql`delete from audit_log`,
    sql`update credit_transactions set amount = 1000000`,
    sql`delete from credit_transactions`,
  ]) {
    const error = await database.db.execute(statement).then(() => undefined, (caught: Error & { cause?: Error }) => caught)
    t.match(String(error?.cause?.message ?? error?.message), /append-only/, 'refused by the database')
  }
})

/** How information_schema names the SQL types drizzle declares. */
function informationSchemaType(declared: string): string {
  if (declared.endsWith('[]')) return 'ARRAY'
  if (declared === 'bigserial') return 'bigint'
  if (declared.startsWith('timestamp')) return declared.includes('with time zone') ? 'timestamp with time zone' : 'timestamp without time zone'
  return declared
}
