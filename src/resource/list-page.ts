import { createHash } from 'node:crypto'
import { and, sql, type SQL } from 'drizzle-orm'
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core'
import type { Executor } from '../db/executor.js'
import { rowsOf } from '../db/rows.js'
import { ApiError } from '../errors.js'
import { isStorableDate } from '../time.js'
import { parseTimestamp } from '../http/problem.js'

/**
 * Keyset pagination, the one way every list in the API pages: newest first by (created_at, id),
 * continuing strictly after the last row served, so page 5,000 costs what page 1 costs. The cursor
 * is opaque to clients (base64url JSON) and carries a hash of the filters it was issued for: replayed
 * with other filters it would skip or repeat rows, so it is a 400 instead.
 */

export const DEFAULT_LIMIT = 20

/** What every list operation takes: `?limit=1..100&cursor=`. */
export interface ListQuery {
  limit?: number | undefined
  cursor?: string | undefined
}

export interface Page<T> {
  data: T[]
  has_more: boolean
  next_cursor: string | null
}

/**
 * A page whose rows are already JSON text (a list that builds its objects in SQL, see calls'
 * PUBLIC_CALL_JSON), as the response body: sent as it is, not parsed and serialised again.
 */
export function pageJson(page: Page<string>): string {
  return `{"data":[${page.data.join(',')}],"has_more":${page.has_more},"next_cursor":${JSON.stringify(page.next_cursor)}}`
}

/** A timestamp as ISO 8601 UTC with milliseconds, as Date#toISOString writes it, formatted by PostgreSQL. */
export const isoText = (column: PgColumn): SQL => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`

export interface CursorPosition {
  createdAt: Date
  id: string
}

/** A list's filters as the cursor binds them: only values that narrow the list (undefined ones are absent). */
export type ListFilters = Record<string, string | number | boolean | null | undefined>

function filterHash(filters: ListFilters): string {
  const bound = Object.entries(filters).filter(([, value]) => value !== undefined).sort(([a], [b]) => a.localeCompare(b))
  return createHash('sha256').update(JSON.stringify(bound)).digest('base64url').slice(0, 12)
}

function invalidCursor(detail: string): ApiError {
  return new ApiError('invalid_cursor', detail, { errors: [{ field: '/querystring/cursor', message: 'is not a cursor for this list' }] })
}

export function encodeCursor(position: CursorPosition, filters: ListFilters = {}): string {
  return Buffer.from(JSON.stringify([position.createdAt.toISOString(), position.id, filterHash(filters)])).toString('base64url')
}

/**
 * The position a cursor continues after. Checked before anything is looked up, so a bad cursor is
 * a 400 whatever else the request names. Throws `invalid_cursor` for anything this API did not
 * issue for this list and these filters.
 */
export function decodeCursor(cursor: string, filters: ListFilters = {}): CursorPosition {
  let decoded: unknown
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw invalidCursor('The cursor is not one this API issued; start again without it.')
  }
  if (!Array.isArray(decoded) || decoded.length !== 3 || !decoded.every((part) => typeof part === 'string')) {
    throw invalidCursor('The cursor is not one this API issued; start again without it.')
  }
  const [at, id, hash] = decoded as [string, string, string]
  const createdAt = new Date(at)
  if (!isStorableDate(createdAt) || id.length > 64 || id.includes('\u0000')) {
    throw invalidCursor('The cursor is not one this API issued; start again without it.')
  }
  if (hash !== filterHash(filters)) {
    throw invalidCursor('This cursor was issued for the list with other filters; send the same filters, or start again without a cursor.')
  }
  return { createdAt, id }
}

export interface ListPageOptions<Row extends CursorPosition, T> {
  /** The ordering columns of the list's table. */
  columns: { createdAt: PgColumn; id: PgColumn }
  page: ListQuery
  filters?: ListFilters
  /**
   * Runs the list's query: its own WHERE (account, filters) AND `after`, ordered by `orderBy`, at
   * most `limit` rows. The helper decides cursor, order and size; the caller decides what is listed.
   */
  fetch: (query: { after: SQL | undefined; orderBy: SQL[]; limit: number }) => Promise<Row[]>
  present: (row: Row) => T
}

/**
 * Newest first, spelled as the lists' indexes are built: drizzle writes `.desc()` in an index as
 * DESC NULLS LAST, and a bare ORDER BY … DESC means NULLS FIRST, an order no index matches (the
 * planner does not use NOT NULL to equate them) — every list would then sort the whole account.
 */
export function listOrder(columns: { createdAt: PgColumn; id: PgColumn }): SQL[] {
  return [sql`${columns.createdAt} desc nulls last`, sql`${columns.id} desc nulls last`]
}

/**
 * Strictly after `position` in that order, as one row comparison: PostgreSQL turns it into the
 * index scan's start, where the equivalent `a < x OR (a = x AND b < y)` is a filter over every row
 * before it (page 5,000 would read 500,000 rows to serve 100).
 */
export function listAfter(columns: { createdAt: PgColumn; id: PgColumn }, position: CursorPosition): SQL {
  return sql`(${columns.createdAt}, ${columns.id}) < (${position.createdAt.toISOString()}::timestamptz, ${position.id})`
}

/**
 * The `created_after` (inclusive) and `created_before` (exclusive) filters every list takes:
 * checked (400 naming the field), as SQL conditions on `column` and as the cursor's filters.
 */
export function createdRange(column: PgColumn, query: { created_after?: string | undefined; created_before?: string | undefined }) {
  const after = query.created_after === undefined ? undefined : parseTimestamp(query.created_after, '/querystring/created_after')
  const before = query.created_before === undefined ? undefined : parseTimestamp(query.created_before, '/querystring/created_before')
  return {
    conditions: [
      after ? sql`${column} >= ${after.toISOString()}::timestamptz` : undefined,
      before ? sql`${column} < ${before.toISOString()}::timestamptz` : undefined,
    ],
    filters: { created_after: after?.toISOString(), created_before: before?.toISOString() },
  }
}

export async function listPage<Row extends CursorPosition, T>(options: ListPageOptions<Row, T>): Promise<Page<T>> {
  const { columns, page, filters = {} } = options
  const limit = page.limit ?? DEFAULT_LIMIT
  const position = page.cursor ? decodeCursor(page.cursor, filters) : undefined
  const after = position ? listAfter(columns, position) : undefined
  // One row more than the page holds: it only says whether more follow.
  const rows = await options.fetch({ after, orderBy: listOrder(columns), limit: limit + 1 })
  const hasMore = rows.length > limit
  const pageRows = hasMore ? rows.slice(0, limit) : rows
  const last = pageRows.at(-1)
  return {
    data: pageRows.map(options.present),
    has_more: hasMore,
    next_cursor: hasMore && last ? encodeCursor(last, filters) : null,
  }
}

export interface JsonListOptions {
  table: PgTable & { id: PgColumn; createdAt: PgColumn }
  /** The public object as JSON text, an SQL expression over `table`'s row (calls' PUBLIC_CALL_JSON). */
  json: SQL
  /** The list's WHERE: the account and its filters. */
  conditions: (SQL | undefined)[]
  page: ListQuery
  filters?: ListFilters
}

/**
 * A list whose objects PostgreSQL serialises: each row comes back as the JSON text the response
 * carries (src/http/json-page.ts sends the page), beside its keyset position for the next cursor.
 */
export function listJsonPage(db: Executor, { table, json, conditions, page, filters }: JsonListOptions): Promise<Page<string>> {
  return listPage({
    columns: table,
    page,
    filters,
    fetch: async ({ after, orderBy, limit }) => {
      const result = await db.execute(sql`select ${table.id} as id, ${isoText(table.createdAt)} as created_at, ${json} as json
        from ${table} where ${and(...conditions, after)} order by ${sql.join(orderBy, sql`, `)} limit ${limit}`)
      return rowsOf<{ id: string; created_at: string; json: string }>(result).map((row) => ({ id: row.id, createdAt: new Date(row.created_at), json: row.json }))
    },
    present: (row) => row.json,
  })
}
