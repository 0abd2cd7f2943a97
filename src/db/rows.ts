/**
 * The rows of a raw `db.execute(sql…)` result. postgres.js answers with an array of rows, PGlite
 * with `{ rows }`; callers that need SQL the query builder cannot express read both through this.
 * Cast numbers in the SQL (`::int`, `::float8`): the drivers disagree on how they map int8/numeric.
 */
export function rowsOf<Row>(result: unknown): Row[] {
  if (Array.isArray(result)) return result as Row[]
  const rows = (result as { rows?: unknown } | null)?.rows
  if (Array.isArray(rows)) return rows as Row[]
  throw new TypeError('unrecognised query result: neither an array of rows nor { rows }')
}
