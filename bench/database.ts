import postgres, { type Sql } from 'postgres'

/**
 * The bench's own postgres.js connection for raw SQL (seeding, statistics, EXPLAIN): the bench
 * targets PostgreSQL only, so it needs none of drizzle's driver abstraction for these.
 */
export function connect(databaseUrl: string): Sql {
  return postgres(databaseUrl, { max: 2, onnotice: () => {}, connect_timeout: 10 })
}

/**
 * Drops and recreates the bench database, so every run starts from the same empty state (no
 * filler rows, bloat or statistics left by an earlier run). Because this destroys data, it refuses
 * a database whose name does not say it is a bench database: pointing DATABASE_URL at the CI or a
 * developer database by mistake must not wipe it.
 */
export async function recreateDatabase(databaseUrl: string): Promise<string> {
  const url = new URL(databaseUrl)
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''))
  if (!/bench/i.test(name)) {
    throw new Error(`the bench drops and recreates its database; "${name}" does not look like a bench database (its name must contain "bench", e.g. voxpria_bench)`)
  }
  // CREATE/DROP DATABASE cannot run inside the database itself: use the maintenance database.
  url.pathname = '/postgres'
  const admin = postgres(url.toString(), { max: 1, onnotice: () => {}, connect_timeout: 10 })
  try {
    await admin`drop database if exists ${admin(name)} with (force)`
    await admin`create database ${admin(name)}`
  } finally {
    await admin.end({ timeout: 5 })
  }
  return name
}

/** Another bench database beside the first: its name + `_suffix` (so it says "bench" too). */
export function siblingDatabaseUrl(databaseUrl: string, suffix: string): string {
  const url = new URL(databaseUrl)
  url.pathname = `/${siblingDatabaseName(databaseUrl, suffix)}`
  return url.toString()
}

export function siblingDatabaseName(databaseUrl: string, suffix: string): string {
  return `${decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''))}_${suffix}`
}

/** The second bench database, for the 1,000,000-key runs. */
export const largeDatabaseUrl = (databaseUrl: string) => siblingDatabaseUrl(databaseUrl, 'large')
export const largeDatabaseName = (databaseUrl: string) => siblingDatabaseName(databaseUrl, 'large')

/**
 * Index scans of the digest index so far. Every verifier cache miss is exactly one such scan, so
 * the difference across a run divided by its requests is "database lookups per request". Read
 * only after the service's backends have exited: PostgreSQL publishes a backend's counters at
 * exit (and otherwise only about once a second), so a live reading would undercount.
 */
export async function digestIndexScans(sql: Sql): Promise<number> {
  const rows = await sql<{ idx_scan: string }[]>`
    select idx_scan::text from pg_stat_user_indexes where indexrelname = 'api_keys_digest_unique'`
  return Number(rows[0]?.idx_scan ?? 0)
}

/** Waits until the counter stops moving (the stopped service's backends have flushed theirs). */
export async function settledDigestIndexScans(sql: Sql): Promise<number> {
  let previous = await digestIndexScans(sql)
  for (let attempt = 0; attempt < 20; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 150))
    const current = await digestIndexScans(sql)
    if (current === previous) return current
    previous = current
  }
  return previous
}

export interface LookupPlan {
  /** e.g. "Index Scan using api_keys_digest_unique on api_keys". */
  access: string
  /** Shared buffers touched: grows with the index's depth, which is what "flat" means here. */
  buffers: number
  executionMs: number
}

/**
 * EXPLAIN ANALYZE of the verifier's lookup (by digest, joined to the account). Independent of
 * load-generator noise: if this stays an index scan touching a handful of buffers at 1M keys,
 * the lookup cannot grow with the key count.
 */
export async function explainLookup(sql: Sql, digest: string): Promise<LookupPlan> {
  // Warm once so the figure is the steady state, not a first-touch disk read.
  await sql`select 1 from api_keys where digest = ${digest}`
  const rows = await sql<{ 'QUERY PLAN': unknown }[]>`
    explain (analyze, buffers, format json)
    select k.*, a.* from api_keys k join accounts a on a.id = k.account_id where k.digest = ${digest} limit 1`
  const [explained] = rows[0]!['QUERY PLAN'] as [{ Plan: PlanNode; 'Execution Time': number }]
  const digestScan = findNode(explained.Plan, (node) => node['Index Name'] === 'api_keys_digest_unique')
    ?? findNode(explained.Plan, (node) => node['Relation Name'] === 'api_keys')
  const access = digestScan
    ? `${digestScan['Node Type']}${digestScan['Index Name'] ? ` using ${digestScan['Index Name']}` : ''} on ${digestScan['Relation Name']}`
    : 'api_keys not found in the plan'
  return {
    access,
    buffers: (explained.Plan['Shared Hit Blocks'] ?? 0) + (explained.Plan['Shared Read Blocks'] ?? 0),
    executionMs: explained['Execution Time'],
  }
}

interface PlanNode {
  'Node Type': string
  'Relation Name'?: string
  'Index Name'?: string
  'Shared Hit Blocks'?: number
  'Shared Read Blocks'?: number
  Plans?: PlanNode[]
}

function findNode(node: PlanNode, match: (node: PlanNode) => boolean): PlanNode | undefined {
  if (match(node)) return node
  for (const child of node.Plans ?? []) {
    const found = findNode(child, match)
    if (found) return found
  }
  return undefined
}

export async function countKeys(sql: Sql): Promise<number> {
  const rows = await sql<{ n: string }[]>`select count(*)::text as n from api_keys`
  return Number(rows[0]?.n ?? 0)
}
