import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import * as schema from './schema/index.js'
import type { Config } from '../config.js'
import { MIGRATIONS_DIR } from '../paths.js'
import { lockDataDir } from './pglite-lock.js'
import { pgliteBulkWriter, postgresBulkWriter, type BulkWriter } from './bulk.js'

/** Both drivers (postgres.js and PGlite) behind the one type the rest of the code sees. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>

export interface DatabaseHandle {
  db: Database
  kind: 'postgres' | 'pglite'
  /** COPY and prebuilt statements in one transaction on the driver itself (usage log batches). */
  bulk: BulkWriter
  migrate(): Promise<void>
  ping(): Promise<void>
  close(): Promise<void>
}

/** Arbitrary constant for pg_advisory_lock: serialises migrations when instances start together. */
const MIGRATION_LOCK_ID = 7_281_946_113

export type DatabaseOptions = Pick<Config, 'DATABASE_URL' | 'DATA_DIR'> & {
  /** Tests pass true to get a throwaway in-memory PGlite instead of DATA_DIR/pg. */
  inMemory?: boolean
}

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  return options.DATABASE_URL ? openPostgres(options.DATABASE_URL) : openPglite(options)
}

async function openPostgres(url: string): Promise<DatabaseHandle> {
  const { default: postgres } = await import('postgres')
  const { drizzle } = await import('drizzle-orm/postgres-js')
  const { migrate } = await import('drizzle-orm/postgres-js/migrator')
  const client = postgres(url, { max: 10, onnotice: () => {}, connect_timeout: 10 })
  const db = drizzle(client, { schema }) as unknown as Database
  return {
    db,
    kind: 'postgres',
    bulk: postgresBulkWriter(client),
    async migrate() {
      const session = postgres(url, { max: 1, onnotice: () => {} })
      try {
        await session`select pg_advisory_lock(${MIGRATION_LOCK_ID})`
        await migrate(drizzle(session), { migrationsFolder: MIGRATIONS_DIR })
        await session`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`
      } finally {
        await session.end({ timeout: 5 })
      }
    },
    async ping() {
      await db.execute(sql`select 1`)
    },
    close: once(async () => {
      await client.end({ timeout: 5 })
    }),
  }
}

async function openPglite(options: DatabaseOptions): Promise<DatabaseHandle> {
  const { PGlite } = await import('@electric-sql/pglite')
  const { drizzle } = await import('drizzle-orm/pglite')
  const { migrate } = await import('drizzle-orm/pglite/migrator')
  let dataDir: string | undefined
  let unlock = () => {}
  if (!options.inMemory) {
    dataDir = join(options.DATA_DIR, 'pg')
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    unlock = lockDataDir(options.DATA_DIR)
  }
  const client = new PGlite(dataDir)
  const db = drizzle(client, { schema }) as unknown as Database
  return {
    db,
    kind: 'pglite',
    bulk: pgliteBulkWriter(client),
    async migrate() {
      await migrate(drizzle(client), { migrationsFolder: MIGRATIONS_DIR })
    },
    async ping() {
      await db.execute(sql`select 1`)
    },
    close: once(async () => {
      await client.close()
      unlock()
    }),
  }
}

/** Closing twice (an operator's close, then the app's onClose) is harmless. */
function once(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined
  return () => (closing ??= close())
}
