import { and, eq, gte, lt, sql } from 'drizzle-orm'
import type { Executor } from '../db/executor.js'
import { usageEvents, usageRollups, type UsageEventRow } from '../db/schema/index.js'
import { listPage, type ListQuery } from '../resource/list-page.js'
import { BUCKET_COUNT, percentile } from './histogram.js'
import { canonicalAddress } from './network.js'

export interface LogFilters {
  status?: number | undefined
  /** Inclusive. */
  createdAfter?: Date | undefined
  /** Exclusive. */
  createdBefore?: Date | undefined
  ip?: string | undefined
}

export function presentUsageEvent(row: UsageEventRow) {
  return {
    id: row.id,
    method: row.method,
    route: row.route,
    status: row.status,
    latency_ms: row.latencyMs,
    client_ip: row.clientIp,
    user_agent: row.userAgent,
    rate_limit: row.rateLimit as 'allowed' | 'limited',
    created_at: row.createdAt.toISOString(),
  }
}

/** A key's requests, newest first, keyset-paginated on the (key_id, created_at, id) index. */
export function listKeyLogs(db: Executor, accountId: string, keyId: string, filters: LogFilters, page: ListQuery) {
  return listPage({
    columns: usageEvents,
    page,
    filters: {
      status: filters.status, ip: filters.ip,
      created_after: filters.createdAfter?.toISOString(), created_before: filters.createdBefore?.toISOString(),
    },
    fetch: ({ after, orderBy, limit }) => db.select().from(usageEvents)
      .where(and(
        eq(usageEvents.keyId, keyId),
        eq(usageEvents.accountId, accountId),
        filters.status === undefined ? undefined : eq(usageEvents.status, filters.status),
        filters.createdAfter ? gte(usageEvents.createdAt, filters.createdAfter) : undefined,
        filters.createdBefore ? lt(usageEvents.createdAt, filters.createdBefore) : undefined,
        filters.ip === undefined ? undefined : eq(usageEvents.clientIp, canonicalAddress(filters.ip)),
        after,
      ))
      .orderBy(...orderBy).limit(limit),
    present: presentUsageEvent,
  })
}

export const GRANULARITIES = ['minute', 'hour', 'day'] as const
export type Granularity = (typeof GRANULARITIES)[number]

const UNIT_MS: Record<Granularity, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 }

/** The default window when `from` is omitted. */
export const DEFAULT_SPAN_MS: Record<Granularity, number> = { minute: 3_600_000, hour: 86_400_000, day: 30 * 86_400_000 }

/** The widest window each granularity answers: at most a few thousand points per series. */
export const MAX_SPAN_MS: Record<Granularity, number> = { minute: 86_400_000, hour: 31 * 86_400_000, day: 400 * 86_400_000 }

/** UTC bucket start of `date` (every unit divides the epoch evenly in UTC). */
export function bucketStart(date: Date, granularity: Granularity): Date {
  const unit = UNIT_MS[granularity]
  return new Date(Math.floor(date.getTime() / unit) * unit)
}

export interface UsageBucket {
  start: string
  requests: number
  errors: number
  rate_limited: number
  /** Upper bound of the latency bucket holding the median; null for an empty bucket. */
  p50_ms: number | null
  p99_ms: number | null
}

/**
 * A key's time series from the per-minute rollups only — never the raw rows — so a 30-day view
 * reads at most 43,200 rollup rows per key through the (key_id, minute) primary key. Rows are
 * grouped and their histograms summed element-wise in SQL; percentiles are taken from the sums.
 *
 * Buckets are UTC and zero-filled: every bucket from the one holding `from` up to `to` is
 * present, with zero counts and null percentiles when the key made no request in it.
 */
export async function usageSeries(db: Executor, accountId: string, keyId: string, granularity: Granularity, from: Date, to: Date): Promise<UsageBucket[]> {
  const first = bucketStart(from, granularity)
  // The unit is one of three literals (never user text), inlined so SELECT and GROUP BY match.
  const start = sql`date_trunc(${sql.raw(`'${granularity}'`)}, ${usageRollups.minute}, 'UTC')`
  const histogram = sql.join(
    Array.from({ length: BUCKET_COUNT }, (_, i) => sql`coalesce(sum(${usageRollups.latencyHistogram}[${sql.raw(String(i + 1))}]), 0)`),
    sql`, `,
  )
  const rows = await db.select({
    startMs: sql<number>`extract(epoch from ${start}) * 1000`.mapWith(Number),
    requests: sql<number>`sum(${usageRollups.requests})`.mapWith(Number),
    errors: sql<number>`sum(${usageRollups.errors})`.mapWith(Number),
    rateLimited: sql<number>`sum(${usageRollups.rateLimited})`.mapWith(Number),
    // As text: the two drivers return numeric arrays differently; one comma-separated string they agree on.
    histogram: sql<string>`array_to_string(array[${histogram}], ',')`,
  })
    .from(usageRollups)
    .where(and(
      eq(usageRollups.keyId, keyId),
      eq(usageRollups.accountId, accountId),
      gte(usageRollups.minute, first),
      lt(usageRollups.minute, to),
    ))
    .groupBy(start)

  const found = new Map(rows.map((row) => [row.startMs, row]))
  const unit = UNIT_MS[granularity]
  const series: UsageBucket[] = []
  for (let at = first.getTime(); at < to.getTime(); at += unit) {
    const row = found.get(at)
    const counts = row ? row.histogram.split(',').map(Number) : []
    series.push({
      start: new Date(at).toISOString(),
      requests: row?.requests ?? 0,
      errors: row?.errors ?? 0,
      rate_limited: row?.rateLimited ?? 0,
      p50_ms: percentile(counts, 50),
      p99_ms: percentile(counts, 99),
    })
  }
  return series
}
