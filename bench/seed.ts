import type { Sql } from 'postgres'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'

/**
 * High enough that the limiter, which still runs (one Redis round trip) on every request, never
 * refuses one: ~10k req/s for a whole run stays far below both windows.
 */
export const BENCH_LIMITS = { hourlyLimit: 1_000_000_000, burstLimit: 100_000_000 }

/** Rows per INSERT … SELECT: big enough to be few statements, small enough to keep WAL bursts sane. */
const FILLER_BATCH = 100_000

export interface BenchAccounts {
  accountId: string
  /** The enterprise key every authenticated request presents. */
  key: string
  /** Owns the filler keys, so the bench key's lookup competes with an index of the full size. */
  fillerAccountId: string
}

/**
 * The app the bench prepares its databases through, as the CLI does: built exactly as the server
 * is (it applies the migrations), never listening. Services, not hand-built rows.
 */
export async function openOperatorApp(databaseUrl: string, pepper: string, dataDir: string): Promise<FastifyInstance> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'error' }, { DATABASE_URL: databaseUrl, KEY_PEPPER: pepper, DATA_DIR: dataDir, REDIS_URL: undefined })
  // No background work in the bench process: the measured service must be the one doing it.
  const app = await buildApp(config, { logStream: process.stderr, background: false })
  await app.ready()
  return app
}

/**
 * The accounts go through the same service the CLI uses (transaction, audit entry, digest with
 * the server's pepper), so the bench key is an ordinary key, not a hand-built row.
 */
export async function createBenchAccounts(app: FastifyInstance): Promise<BenchAccounts> {
  const actor = { id: 'cli', ip: null }
  const bench = await app.services.accounts.createWithKey({ name: 'Bench', plan: 'enterprise', ...BENCH_LIMITS }, actor)
  const filler = await app.services.accounts.createWithKey({ name: 'Bench filler', plan: 'enterprise' }, actor)
  return { accountId: bench.account.id, key: bench.key.key, fillerAccountId: filler.account.id }
}

/**
 * Extra keys of the bench account for the key-count scaling runs, which rotate through them. Why:
 * KEY_CACHE_TTL_MS=0 still keeps an entry for ≥1 ms (lru-cache needs a positive TTL) and coalesces
 * concurrent lookups of one digest, so a single hot key would be answered from memory almost every
 * time; a pool large enough that a key recurs only after ~100 ms makes every request a real lookup.
 */
export async function createKeyPool(app: FastifyInstance, accountId: string, size: number): Promise<string[]> {
  const { keys } = app.services
  const secrets: string[] = []
  for (let i = 0; i < size; i++) {
    const created = await keys.create(accountId, { name: `Bench pool ${i + 1}`, scopes: ['calls:read'] }, { id: 'cli', ip: null })
    secrets.push(created.key)
  }
  return secrets
}

export interface SeedResult {
  inserted: number
  totalKeys: number
  seconds: number
}

/**
 * Tops api_keys up to `totalKeys` rows with filler keys, one INSERT … SELECT per batch, generated
 * inside PostgreSQL (no rows cross the wire). Digests are 64 random hex characters like real
 * HMAC-SHA256 digests, so they land all over the unique index exactly as real keys would.
 */
export async function seedFillerKeys(sql: Sql, fillerAccountId: string, totalKeys: number): Promise<SeedResult> {
  const started = performance.now()
  const [{ n }] = await sql<[{ n: string }]>`select count(*)::text as n from api_keys`
  let existing = Number(n)
  const target = totalKeys
  let inserted = 0
  while (existing < target) {
    const batch = Math.min(FILLER_BATCH, target - existing)
    // Ids are zero-padded sequence numbers: unique across batches and appended in order, so the
    // primary-key index grows at its right edge and seeding time goes into the digest index.
    await sql`
      insert into api_keys (id, account_id, name, digest, display_prefix, last_four, scopes, created_by)
      select 'key_filler' || lpad((${existing} + g)::text, 12, '0'), ${fillerAccountId}, 'Filler key',
             d.digest, 'vxp_' || substr(d.digest, 1, 8), substr(d.digest, 61, 4), '{calls:read}', 'bench'
      from generate_series(1, ${batch}::int) as g,
           lateral (select md5(g::text || ':' || random()::text) || md5(random()::text || ':' || g::text) as digest) as d`
    existing += batch
    inserted += batch
  }
  // Vacuum as well as analyze: otherwise autovacuum wakes up for the freshly inserted rows in the
  // middle of the next measurement and competes with it for the same two cores.
  await sql`vacuum (analyze) api_keys`
  return { inserted, totalKeys: existing, seconds: (performance.now() - started) / 1000 }
}
