import { eq, sql, type SQL } from 'drizzle-orm'
import { PgDialect } from 'drizzle-orm/pg-core'
import type { Sql } from 'postgres'
import { contacts } from '../src/db/schema/index.js'
import type { Executor } from '../src/db/executor.js'
import { PUBLIC_CONTACT_JSON } from '../src/contacts/present.js'
import { listJsonPage } from '../src/resource/list-page.js'
import { LIST_LOAD, percentile } from './load.js'

/**
 * The floor under a contacts list page's latency: the page's query as the service sends it (the
 * same SQL text and parameters, see `pageQuery`), run by a bare postgres.js client on LIST_LOAD's
 * connections for LIST_LOAD's time — no HTTP, no key check, no limiter, no usage log, no JSON
 * join. It is measured beside each page, in the same run: what the service adds to a page is its
 * figure above this one, and on a slow or busy machine both move together.
 */

export interface QueryFloor {
  p50Ms: number
  p99Ms: number
  queriesPerSecond: number
}

const dialect = new PgDialect()

/**
 * The service's page query for an account, an optional tag and an optional cursor: the statement
 * the list helper itself builds (`listJsonPage`, given an executor that only records it), over
 * the conditions ContactsService.list gives it for these filters. `checkPage` makes sure it
 * answers exactly what the service listed, so the two cannot drift apart unnoticed.
 */
export async function pageQuery(accountId: string, options: { tag?: string; cursor?: string; limit: number }): Promise<{ text: string; params: unknown[] }> {
  let recorded: SQL | undefined
  const recorder = { execute: async (query: SQL) => { recorded = query; return [] } } as unknown as Executor
  await listJsonPage(recorder, {
    table: contacts,
    json: PUBLIC_CONTACT_JSON,
    conditions: [eq(contacts.accountId, accountId), options.tag === undefined ? undefined : sql`${contacts.tags} @> array[${options.tag}]::text[]`],
    page: { limit: options.limit, cursor: options.cursor },
    filters: { tag: options.tag },
  })
  if (!recorded) throw new Error('listJsonPage ran no query')
  const { sql: text, params } = dialect.sqlToQuery(recorded)
  return { text, params }
}

/** Throws unless the query's first `limit` rows are, JSON for JSON, the page the service sent. */
export async function checkPage(client: Sql, query: { text: string; params: unknown[] }, serviceData: unknown[]): Promise<void> {
  const rows = await client.unsafe<{ json: string }[]>(query.text, query.params as never[])
  const listed = rows.slice(0, serviceData.length).map((row) => JSON.parse(row.json) as unknown)
  if (JSON.stringify(listed) !== JSON.stringify(serviceData)) throw new Error('the floor query does not answer the page the service listed: pageQuery no longer matches ContactsService.list')
}

async function run(client: Sql, query: { text: string; params: unknown[] }, seconds: number, latencies?: number[]): Promise<number> {
  const end = performance.now() + seconds * 1000
  let count = 0
  await Promise.all(Array.from({ length: LIST_LOAD.connections }, async () => {
    while (performance.now() < end) {
      const started = performance.now()
      await client.unsafe(query.text, query.params as never[])
      latencies?.push(performance.now() - started)
      count++
    }
  }))
  return count
}

/** The query under LIST_LOAD: a warm-up, then the measured run. `client` needs LIST_LOAD.connections connections. */
export async function measureQueryFloor(client: Sql, query: { text: string; params: unknown[] }): Promise<QueryFloor> {
  await run(client, query, LIST_LOAD.warmupSeconds)
  const latencies: number[] = []
  const count = await run(client, query, LIST_LOAD.seconds, latencies)
  latencies.sort((a, b) => a - b)
  return { p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), queriesPerSecond: count / LIST_LOAD.seconds }
}
