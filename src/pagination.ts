import { and, desc, lt, or, eq, type SQL } from 'drizzle-orm'
import type { PgColumn } from 'drizzle-orm/pg-core'
import { ApiError } from './errors.js'
import { isStorableDate } from './time.js'

const DEFAULT_LIMIT = 20

/** The rows a page query fetches: one more than the page holds, to know whether more follow. */
export function fetchSize(page: PageRequest): number {
  return (page.limit ?? DEFAULT_LIMIT) + 1
}

/**
 * Keyset pagination over (created_at DESC, id DESC). The cursor is the position of the last row
 * served, so page 1,000 costs what page 1 costs. Cursors are opaque base64url to clients.
 */
export interface PageRequest {
  /** Filled in by the schema's default (20) when the client sends none. */
  limit?: number | undefined
  cursor?: string | undefined
}

export interface Page<T> {
  data: T[]
  has_more: boolean
  next_cursor: string | null
}

interface CursorPosition {
  createdAt: Date
  id: string
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt.toISOString(), position.id])).toString('base64url')
}

export function decodeCursor(cursor: string): CursorPosition {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (Array.isArray(decoded) && decoded.length === 2 && typeof decoded[0] === 'string' && typeof decoded[1] === 'string') {
      const createdAt = new Date(decoded[0])
      if (isStorableDate(createdAt) && decoded[1].length <= 64 && !decoded[1].includes('\u0000')) return { createdAt, id: decoded[1] }
    }
  } catch {
    // fall through to the one error below
  }
  throw new ApiError('invalid_cursor', 'The cursor is not one this API issued; start again without it.', {
    errors: [{ field: '/querystring/cursor', message: 'is not a cursor this API issued' }],
  })
}

/** The WHERE fragment that continues after the cursor, or undefined on the first page. */
export function afterCursor(columns: { createdAt: PgColumn; id: PgColumn }, cursor: string | undefined): SQL | undefined {
  if (!cursor) return undefined
  const position = decodeCursor(cursor)
  return or(
    lt(columns.createdAt, position.createdAt),
    and(eq(columns.createdAt, position.createdAt), lt(columns.id, position.id)),
  )
}

export function newestFirst(columns: { createdAt: PgColumn; id: PgColumn }): SQL[] {
  return [desc(columns.createdAt), desc(columns.id)]
}

/** Turns limit+1 fetched rows into a page: the extra row only says whether there is more. */
export function toPage<Row extends CursorPosition, T>(rows: Row[], limit: number | undefined, present: (row: Row) => T): Page<T> {
  limit ??= DEFAULT_LIMIT
  const hasMore = rows.length > limit
  const pageRows = hasMore ? rows.slice(0, limit) : rows
  const last = pageRows.at(-1)
  return {
    data: pageRows.map(present),
    has_more: hasMore,
    next_cursor: hasMore && last ? encodeCursor(last) : null,
  }
}
