import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { KeyIdParamsSchema, problemResponses } from '../../../../src/http/schemas.js'
import { KeyLogsQuerySchema, KeyUsageQuerySchema, UsageLogListSchema, UsageSeriesSchema } from '../../../../src/http/schemas/usage.js'
import { ApiError } from '../../../../src/errors.js'
import { parseTimestamp } from '../../../../src/http/problem.js'
import { decodeCursor } from '../../../../src/pagination.js'
import { DEFAULT_SPAN_MS, MAX_SPAN_MS, bucketStart, listKeyLogs, usageSeries, type Granularity } from '../../../../src/usage/queries.js'


const SPAN_WORDS: Record<Granularity, string> = { minute: '24 hours', hour: '31 days', day: '400 days' }

function toDate(value: string | undefined, field = '/querystring'): Date | undefined {
  return value === undefined ? undefined : parseTimestamp(value, field)
}

/** The window a usage query covers, with its defaults and bounds; a 400 when it is unreasonable. */
function usageWindow(granularity: Granularity, fromText: string | undefined, toText: string | undefined, now: Date) {
  const to = toDate(toText, '/querystring/to') ?? now
  const from = toDate(fromText, '/querystring/from') ?? new Date(to.getTime() - DEFAULT_SPAN_MS[granularity])
  if (from >= to) {
    throw new ApiError('validation_failed', '`from` must be before `to`.', {
      errors: [{ field: '/querystring/from', message: 'must be before to' }],
    })
  }
  if (to.getTime() - from.getTime() > MAX_SPAN_MS[granularity]) {
    throw new ApiError('validation_failed', `With granularity=${granularity}, \`from\` may be at most ${SPAN_WORDS[granularity]} before \`to\`.`, {
      errors: [{ field: '/querystring/from', message: `must be at most ${SPAN_WORDS[granularity]} before to` }],
    })
  }
  return { from, to }
}

/**
 * A key's request log and usage series. Both check first that the key belongs to the caller's
 * account (another account's key is a 404), then read rows filtered by that account as well.
 */
const keyUsage: FastifyPluginAsyncTypebox = async (fastify) => {
  const manage = { scope: 'keys:manage' } as const

  fastify.get('/:id/logs', {
    config: manage,
    schema: {
      tags: ['keys'], summary: 'A key’s requests, newest first', operationId: 'listKeyLogs',
      description: 'One entry per request made with the key that passed authentication and its IP allowlist, kept for '
        + 'USAGE_LOG_RETENTION_DAYS (30 by default). Entries are written in batches, so the last second or so may not be '
        + 'listed yet. Failed authentications are not here.',
      params: KeyIdParamsSchema,
      querystring: KeyLogsQuerySchema,
      response: { 200: Type.Ref(UsageLogListSchema), ...problemResponses('validation_failed', 'invalid_cursor', 'not_found') },
    },
  }, async (request) => {
    const accountId = request.principal.account.id
    const { id } = request.params
    const { limit, cursor, status, created_after: createdAfter, created_before: createdBefore, ip } = request.query
    // Every input is checked before anything is looked up: a bad cursor is a 400 whoever's key it is.
    if (cursor) decodeCursor(cursor)
    const filters = { status, createdAfter: toDate(createdAfter, '/querystring/created_after'), createdBefore: toDate(createdBefore, '/querystring/created_before'), ip }
    await fastify.keys.get(accountId, id)
    return listKeyLogs(fastify.database.db, accountId, id, filters, { limit, cursor })
  })

  fastify.get('/:id/usage', {
    config: manage,
    schema: {
      tags: ['keys'], summary: 'A key’s requests, errors, 429s and latency over time', operationId: 'getKeyUsage',
      description: 'A time series from per-minute rollups (a 30-day view reads no raw request rows). Buckets are UTC and '
        + 'zero-filled. p50_ms/p99_ms are upper bounds of fixed latency buckets, not exact values. Windows: '
        + 'minute ≤ 24 hours, hour ≤ 31 days, day ≤ 400 days.',
      params: KeyIdParamsSchema,
      querystring: KeyUsageQuerySchema,
      response: { 200: Type.Ref(UsageSeriesSchema), ...problemResponses('validation_failed', 'not_found') },
    },
  }, async (request) => {
    const accountId = request.principal.account.id
    const { id } = request.params
    const granularity = request.query.granularity ?? 'hour'
    const { from, to } = usageWindow(granularity, request.query.from, request.query.to, new Date())
    await fastify.keys.get(accountId, id)
    const data = await usageSeries(fastify.database.db, accountId, id, granularity, from, to)
    return {
      key_id: id,
      granularity,
      from: bucketStart(from, granularity).toISOString(),
      to: to.toISOString(),
      data,
    }
  })
}

export default keyUsage
