import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import * as schema from './schema/index.js'
import type { Config } from '../config.js'
import { MIGRATIONS_DIR } from '../paths.js'
import { lockDataDir } from './pglite-lock.js'
import { pgliteBulkWriter, postgresBulkWriter, type BulkWriter } from './bulk.js'
import { DatabaseAvailability, DatabaseUnavailableError, PROBE_TIMEOUT_MS } from './availability.js'
import type { QueueConnection } from '../jobs/queue.js'

/** Both drivers (postgres.js and PGlite) behind the one type the rest of the code sees. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>

export interface DatabaseHandle {
  db: Database
  kind: 'postgres' | 'pglite'
  /** COPY and prebuilt statements in one transaction on the driver itself (usage log batches). */
  bulk: BulkWriter
  /** False while PostgreSQL is known to be unreachable (always true on PGlite): requests needing it get a 503. */
  available(): boolean
  migrate(): Promise<void>
  /** Answers within ~half a second, or rejects: /ready never hangs on a dead database. */
  ping(): Promise<void>
  /** How the job queue (pg-boss) reaches this database: its own pool, or PGlite's query function. */
  queueConnection(): QueueConnection
  /** PGlite only: a snapshot of the data folder (test templates are made of these). */
  dumpDataDir?(): Promise<Blob>
  close(): Promise<void>
}

/** Arbitrary constant for pg_advisory_lock: serialises migrations when instances start together. */
const MIGRATION_LOCK_ID = 7_281_946_113

export type DatabaseOptions = Pick<Config, 'DATABASE_URL' | 'DATA_DIR'> & {
  /** Tests pass true to get a throwaway in-memory PGlite instead of DATA_DIR/pg. */
  inMemory?: boolean
  /** An in-memory PGlite starts from this snapshot of a data folder (tests: a migrated template). */
  pgliteTemplate?: Blob | undefined
  /** Told when PostgreSQL becomes unreachable and when it is back (the app logs it). */
  onAvailabilityChange?: (available: boolean, reason?: unknown) => void
}

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  return options.DATABASE_URL ? openPostgres(options.DATABASE_URL, options) : openPglite(options)
}

async function openPostgres(url: string, options: DatabaseOptions): Promise<DatabaseHandle> {
  const { default: postgres } = await import('postgres')
  const { drizzle } = await import('drizzle-orm/postgres-js')
  const { migrate } = await import('drizzle-orm/postgres-js/migrator')
  const availability = new DatabaseAvailability(options.onAvailabilityChange)
  // backoff 0: postgres.js otherwise waits up to 20 s (growing with every failure) before it tries
  // a closed connection again, which is what kept the first request after an outage waiting for
  // seconds. Connections are not hammered meanwhile: while the database is unreachable, the pool's
  // sockets fail at once without dialling (see DatabaseAvailability).
  const client = postgres(url, { max: 10, onnotice: () => {}, connect_timeout: 10, backoff: 0, socket: availability.poolSocket } as never)
  const probe = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 2, backoff: 0, socket: availability.probeSocketFactory } as never)
  availability.start(() => probe`select 1`)
  const db = drizzle(client, { schema }) as unknown as Database
  return {
    db,
    kind: 'postgres',
    bulk: postgresBulkWriter(client),
    available: () => availability.available,
    // pg-boss brings its own small `pg` pool: postgres.js refuses its multi-statement transactions.
    queueConnection: () => ({ connectionString: url }),
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
      if (!availability.available) throw new DatabaseUnavailableError('the database is unreachable')
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        db.execute(sql`select 1`),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new DatabaseUnavailableError('no answer in time')), PROBE_TIMEOUT_MS) }),
      ]).finally(() => clearTimeout(timer))
    },
    close: once(async () => {
      availability.stop()
      await Promise.all([client.end({ timeout: 5 }), probe.end({ timeout: 1 })])
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
  const client = dataDir === undefined && options.pgliteTemplate ? new PGlite({ loadDataDir: options.pgliteTemplate }) : new PGlite(dataDir)
  const db = drizzle(client, { schema }) as unknown as Database
  return {
    db,
    kind: 'pglite',
    bulk: pgliteBulkWriter(client),
    // In process: there is no network between the service and its database to lose.
    available: () => true,
    // Multi-statement text without values (pg-boss's migrations and transactions) goes to exec.
    dumpDataDir: () => client.dumpDataDir('none'),
    queueConnection: () => ({
      executeSql: async (text: string, values?: unknown[]) => {
        if (!values || values.length === 0) return { rows: (await client.exec(text)).at(-1)?.rows ?? [] }
        return client.query(text, values as never[])
      },
    }),
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
