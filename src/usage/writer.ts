import { getTableColumns, getTableName, sql, type SQL } from 'drizzle-orm'
import type { PgColumn } from 'drizzle-orm/pg-core'
import type { Executor } from '../db/executor.js'
import { copyText, type BulkWriter } from '../db/bulk.js'
import { failedAuthEvents, usageEvents, usageRollups } from '../db/schema/index.js'
import { bucketOf, emptyHistogram, type Histogram } from './histogram.js'
import { canonicalAddress, clientNetwork } from './network.js'

/** One admitted /api/v1 request, as the response hook captures it (cheap to build: no parsing). */
export interface UsageEntry {
  /** The request id (`req_…`). */
  id: string
  accountId: string
  keyId: string
  method: string
  /** The route pattern, or `(not found)`; never the raw URL. */
  route: string
  status: number
  latencyMs: number
  /** As Fastify reports it; canonicalised (and its network derived) when the batch is written. */
  clientIp: string
  userAgent: string | null
  rateLimit: 'allowed' | 'limited'
  /** When the request arrived. */
  createdAt: Date
}

/** One refused authentication (401/403 at the front door). Never holds the presented key. */
export interface FailedAuthEntry {
  clientIp: string
  /** The key's display prefix, only when the presented value had a key's shape. */
  keyPrefix: string | null
  accountId: string | null
  keyId: string | null
  reason: string
  createdAt: Date
}

/**
 * Rows serialised at a time. A rollup chunk travels as ONE json parameter (see `recordset`), so
 * PostgreSQL's 65,535-parameter ceiling never comes into play; usage rows stream through COPY.
 * The bound is on how long the event loop spends serialising one chunk (the requests being served
 * meanwhile wait that long), so it stays small.
 */
const ROWS_PER_CHUNK = 1_000

const MINUTE_MS = 60_000

interface RollupRow {
  keyId: string
  accountId: string
  minute: Date
  requests: number
  errors: number
  rateLimited: number
  latencyHistogram: Histogram
}

/** Folds a batch into one row per (key, minute), in a fixed order so concurrent writers lock alike. */
export function rollUp(entries: readonly UsageEntry[]): RollupRow[] {
  const byKeyMinute = new Map<string, RollupRow>()
  // Entries come in arrival order, so a run of them shares one key and minute: the previous row
  // is tried before building a map key.
  let row: RollupRow | undefined
  for (const entry of entries) {
    const minuteMs = Math.floor(entry.createdAt.getTime() / MINUTE_MS) * MINUTE_MS
    if (row?.keyId !== entry.keyId || row.minute.getTime() !== minuteMs) {
      const id = `${entry.keyId}\u0000${minuteMs}`
      row = byKeyMinute.get(id)
      if (!row) {
        row = { keyId: entry.keyId, accountId: entry.accountId, minute: new Date(minuteMs), requests: 0, errors: 0, rateLimited: 0, latencyHistogram: emptyHistogram() }
        byKeyMinute.set(id, row)
      }
    }
    row.requests++
    if (entry.status >= 400) row.errors++
    if (entry.rateLimit === 'limited') row.rateLimited++
    row.latencyHistogram[bucketOf(entry.latencyMs)]!++
  }
  return [...byKeyMinute.values()].sort((a, b) =>
    a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : a.minute.getTime() - b.minute.getTime())
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size)
}

/**
 * `select <columns> from json_to_recordset($1)`: a whole chunk of rows (keyed by SQL column
 * name) as a single json parameter. Measured 4–5× faster than one bind parameter per value on
 * both PGlite and postgres.js — what decides how much traffic one writer keeps up with.
 */
function recordset(columns: readonly PgColumn[], rows: readonly Record<string, unknown>[]): SQL {
  // `json`, not `jsonb`: the text is read once, so converting it to jsonb's binary form first
  // would be work for nothing.
  const names = columns.map((column) => `"${column.name}"`).join(', ')
  const definition = columns.map((column) => `"${column.name}" ${column.getSQLType()}`).join(', ')
  return sql`select ${sql.raw(names)} from json_to_recordset(${JSON.stringify(rows)}::json) as r(${sql.raw(definition)})`
}

interface Client {
  address: string
  network: string
}

/** The usage_events columns in the order `usageRowCopy` writes them. */
const USAGE_EVENT_COPY_COLUMNS = ['id', 'account_id', 'key_id', 'method', 'route', 'status', 'latency_ms', 'client_ip',
  'client_network', 'user_agent', 'rate_limit', 'created_at'] as const

/** One usage_events row as a line of COPY text. Written out by hand: this runs once per request. */
function usageRowCopy(entry: UsageEntry, client: Client, createdAt: string): string {
  return `${copyText(entry.id)}\t${copyText(entry.accountId)}\t${copyText(entry.keyId)}\t${copyText(entry.method)}\t`
    + `${copyText(entry.route)}\t${entry.status}\t${entry.latencyMs}\t${copyText(client.address)}\t${copyText(client.network)}\t`
    + `${entry.userAgent === null ? '\\N' : copyText(entry.userAgent)}\t${entry.rateLimit}\t${createdAt}\n`
}

// Written by hand, so checked at start: a column added to usage_events without the encoder, or
// a field too many or too few, fails here rather than at the first COPY.
{
  const named = new Set<string>(USAGE_EVENT_COPY_COLUMNS)
  const missing = Object.values(getTableColumns(usageEvents)).map((column) => column.name).filter((name) => !named.has(name))
  if (missing.length > 0) throw new Error(`usageRowCopy does not write usage_events column(s) ${missing.join(', ')}`)
  const sample = usageRowCopy({ id: '', accountId: '', keyId: '', method: '', route: '', status: 0, latencyMs: 0, clientIp: '',
    userAgent: null, rateLimit: 'allowed', createdAt: new Date(0) }, { address: '', network: '' }, '')
  if (sample.split('\t').length !== USAGE_EVENT_COPY_COLUMNS.length) throw new Error('usageRowCopy writes a different number of fields than it names')
}

const USAGE_ROLLUP_COLUMNS = Object.values(getTableColumns(usageRollups))
/** All but the serial id. */
const FAILED_AUTH_COLUMNS = Object.values(getTableColumns(failedAuthEvents)).filter((column) => column.name !== 'id')

/**
 * A batch's usage_events rows as COPY text, built lazily a chunk at a time as COPY takes them
 * (requests are served between chunks). What repeats from row to row is computed once: each
 * address is parsed once per batch, and a timestamp is formatted once for the rows of its
 * millisecond (dozens under load; toISOString was half the cost of building a row).
 */
export function* usageCopyChunks(entries: readonly UsageEntry[]): Generator<string> {
  const clients = new Map<string, Client>()
  const clientOf = (ip: string) => {
    let client = clients.get(ip)
    if (!client) {
      client = { address: canonicalAddress(ip), network: clientNetwork(ip) }
      clients.set(ip, client)
    }
    return client
  }
  let lastMs = Number.NaN
  let lastIso = ''
  const isoOf = (date: Date) => {
    const ms = date.getTime()
    if (ms !== lastMs) {
      lastIso = date.toISOString()
      lastMs = ms
    }
    return lastIso
  }
  for (const chunk of chunks(entries, ROWS_PER_CHUNK)) {
    yield chunk.map((entry) => usageRowCopy(entry, clientOf(entry.clientIp), isoOf(entry.createdAt))).join('')
  }
}

/**
 * Writes a batch of usage entries: the raw rows and the per-minute rollups in ONE transaction,
 * so a rollup never counts a request whose row is missing, or the reverse. Rollups of a minute
 * already stored (earlier batch, other instance) are added to, histograms element by element.
 */
export async function writeUsageBatch({ db, bulk }: { db: Executor; bulk: BulkWriter }, entries: readonly UsageEntry[]): Promise<void> {
  if (entries.length === 0) return
  const rollups = rollUp(entries).map((rollup) => ({
    key_id: rollup.keyId,
    account_id: rollup.accountId,
    minute: rollup.minute.toISOString(),
    requests: rollup.requests,
    errors: rollup.errors,
    rate_limited: rollup.rateLimited,
    latency_histogram: rollup.latencyHistogram,
  }))
  await bulk.transaction(async (tx) => {
    await tx.copy(getTableName(usageEvents), USAGE_EVENT_COPY_COLUMNS, usageCopyChunks(entries))
    for (const chunk of chunks(rollups, ROWS_PER_CHUNK)) {
      await tx.execute(db.insert(usageRollups).select(recordset(USAGE_ROLLUP_COLUMNS, chunk)).onConflictDoUpdate({
        target: [usageRollups.keyId, usageRollups.minute],
        set: {
          requests: sql.raw('usage_rollups.requests + excluded.requests'),
          errors: sql.raw('usage_rollups.errors + excluded.errors'),
          rateLimited: sql.raw('usage_rollups.rate_limited + excluded.rate_limited'),
          // Element-wise sum; unnest pads the shorter array with nulls (buckets appended later).
          latencyHistogram: sql.raw(`(select array_agg(coalesce(a, 0) + coalesce(b, 0) order by i)
            from unnest(usage_rollups.latency_histogram, excluded.latency_histogram) with ordinality as t(a, b, i))`),
        },
      }))
    }
  })
}

/** Writes a batch of failed-authentication records (no rollups: the alert detectors read these rows). */
export async function writeFailedAuthBatch(db: Executor, entries: readonly FailedAuthEntry[]): Promise<void> {
  if (entries.length === 0) return
  const rows = entries.map((entry) => ({
    client_ip: canonicalAddress(entry.clientIp),
    key_prefix: entry.keyPrefix,
    account_id: entry.accountId,
    key_id: entry.keyId,
    reason: entry.reason,
    created_at: entry.createdAt.toISOString(),
  }))
  const names = sql.raw(FAILED_AUTH_COLUMNS.map((column) => `"${column.name}"`).join(', '))
  for (const chunk of chunks(rows, ROWS_PER_CHUNK)) {
    await db.execute(sql`insert into ${failedAuthEvents} (${names}) ${recordset(FAILED_AUTH_COLUMNS, chunk)}`)
  }
}
