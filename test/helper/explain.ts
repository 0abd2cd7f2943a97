import { sql } from 'drizzle-orm'
import { rowsOf } from '../../src/db/rows.js'
import type { Executor } from '../../src/db/executor.js'

/** The plan PostgreSQL (or PGlite) picks for a built query, as EXPLAIN's text. */
export async function explain(db: Executor, query: { toSQL(): { sql: string; params: unknown[] } }): Promise<string> {
  const { sql: text, params } = query.toSQL()
  return rowsOf<Record<string, string>>(await db.execute(sql.raw(`explain ${inline(text, params)}`)))
    .map((row) => Object.values(row)[0]).join('\n')
}

/** EXPLAIN takes no parameters: the test's own literal values, quoted. */
function inline(text: string, params: unknown[]): string {
  return text.replace(/\$(\d+)/g, (_, n: string) => {
    const value = params[Number(n) - 1]
    return typeof value === 'number' ? String(value) : `'${String(value).replaceAll("'", "''")}'`
  })
}
