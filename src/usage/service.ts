import { apiKeys } from '../db/schema/index.js'
import { ApiError } from '../errors.js'
import { parseTimestamp } from '../http/problem.js'
import { decodeCursor } from '../resource/list-page.js'
import { findOwned } from '../resource/find-owned.js'
import type { ServiceContext } from '../service-context.js'
import { DEFAULT_SPAN_MS, MAX_SPAN_MS, bucketStart, listKeyLogs, usageSeries, type Granularity } from './queries.js'
import { usageRetentionJob } from './retention.js'

declare module '../service-context.js' {
  interface ServiceRegistry {
    keyUsage: KeyUsageService
  }
}

export interface KeyLogsQuery {
  limit?: number | undefined
  cursor?: string | undefined
  status?: number | undefined
  created_after?: string | undefined
  created_before?: string | undefined
  ip?: string | undefined
}

export interface KeyUsageQuery {
  granularity?: Granularity | undefined
  from?: string | undefined
  to?: string | undefined
}

const SPAN_WORDS: Record<Granularity, string> = { minute: '24 hours', hour: '31 days', day: '400 days' }

function optionalDate(value: string | undefined, field: string): Date | undefined {
  return value === undefined ? undefined : parseTimestamp(value, field)
}

/**
 * A key's request log and usage series, from the usage log the pipeline writes (plugins/usage-log).
 * Every input is checked before anything is looked up, then the key is found in the caller's
 * account (another account's key is a 404), then rows filtered by that account are read.
 */
export class KeyUsageService {
  constructor(private readonly context: ServiceContext) {
    context.scheduler.register(usageRetentionJob(context.config))
  }

  async logs(accountId: string, keyId: string, query: KeyLogsQuery) {
    const filters = {
      status: query.status,
      createdAfter: optionalDate(query.created_after, '/querystring/created_after'),
      createdBefore: optionalDate(query.created_before, '/querystring/created_before'),
      ip: query.ip,
    }
    if (query.cursor) {
      decodeCursor(query.cursor, {
        status: filters.status, ip: filters.ip,
        created_after: filters.createdAfter?.toISOString(), created_before: filters.createdBefore?.toISOString(),
      })
    }
    await findOwned(this.context.db, apiKeys, accountId, keyId, { label: 'API key' })
    return listKeyLogs(this.context.db, accountId, keyId, filters, query)
  }

  async series(accountId: string, keyId: string, query: KeyUsageQuery) {
    const granularity = query.granularity ?? 'hour'
    const to = optionalDate(query.to, '/querystring/to') ?? this.context.clock.now()
    const from = optionalDate(query.from, '/querystring/from') ?? new Date(to.getTime() - DEFAULT_SPAN_MS[granularity])
    if (from >= to) {
      throw new ApiError('validation_failed', '`from` must be before `to`.', { errors: [{ field: '/querystring/from', message: 'must be before to' }] })
    }
    if (to.getTime() - from.getTime() > MAX_SPAN_MS[granularity]) {
      throw new ApiError('validation_failed', `With granularity=${granularity}, \`from\` may be at most ${SPAN_WORDS[granularity]} before \`to\`.`, {
        errors: [{ field: '/querystring/from', message: `must be at most ${SPAN_WORDS[granularity]} before to` }],
      })
    }
    await findOwned(this.context.db, apiKeys, accountId, keyId, { label: 'API key' })
    return {
      key_id: keyId,
      granularity,
      from: bucketStart(from, granularity).toISOString(),
      to: to.toISOString(),
      data: await usageSeries(this.context.db, accountId, keyId, granularity, from, to),
    }
  }
}
