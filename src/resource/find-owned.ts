import { and, eq } from 'drizzle-orm'
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core'
import type { Executor } from '../db/executor.js'
import { ApiError, type ErrorCode } from '../errors.js'

/** A table whose rows belong to an account: what findOwned and auditedUpdate work on. */
export type OwnedTable = PgTable & { id: PgColumn; accountId: PgColumn }

export interface FindOwnedOptions {
  /** Lock the row for the rest of the transaction (a read-modify-write). */
  forUpdate?: boolean
  /** The 404 to answer: `not_found`, or a resource-specific code when another resource names it. */
  notFound?: ErrorCode
  /** What the detail calls the resource: "API key", "agent", … */
  label: string
  /** Extra conditions (e.g. not soft-deleted). */
  where?: import('drizzle-orm').SQL | undefined
}

/**
 * The row `id` of `accountId`, or a 404: another account's id is indistinguishable from a missing
 * one, never a 403. Every read of one resource by id goes through here, so no route can forget the
 * account filter.
 */
export async function findOwned<Row>(db: Executor, table: OwnedTable, accountId: string, id: string, options: FindOwnedOptions): Promise<Row> {
  const query = db.select().from(table as PgTable).where(and(eq(table.id, id), eq(table.accountId, accountId), options.where))
  const [row] = options.forUpdate ? await query.for('update') : await query
  if (!row) throw new ApiError(options.notFound ?? 'not_found', `No ${options.label} ${id} in this account.`)
  return row as Row
}
