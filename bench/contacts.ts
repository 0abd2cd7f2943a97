/**
 * The contacts section of `npm run bench`, against the built service as its own process on
 * PostgreSQL:
 *
 * 1. a 100,000-row CSV imported end to end (upload → `completed`), beside the floor PostgreSQL
 *    itself sets on this machine: the same rows COPYed straight into the same table, indexes and
 *    all, in the same run (the ratio says what the service adds on top of the database's own work);
 * 2. a 1,000,000-row CSV streamed in while the service's RSS is sampled (growth over its resting
 *    size before the upload);
 * 3. `GET /api/v1/contacts?limit=100` over those 1,000,000 contacts of one account: page 1, page
 *    5,000 (reached by following `next_cursor`), and with `tag=` at page 1 and deep.
 *
 * It uses its own database (DATABASE_URL's name + `_contacts`), dropped and recreated.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Sql } from 'postgres'
import { ConfigSchema } from '../src/config.js'
import { PROJECT_ROOT } from '../src/paths.js'
import { connect } from './database.js'
import { PEPPER, QUICK, log, reportSection, sectionDatabase, serviceOutput, withService } from './harness.js'
import { LIST_LOAD, measureList, urlOfPage, type LoadResult } from './load.js'
import { checkPage, measureQueryFloor, pageQuery, type QueryFloor } from './list-floor.js'
import { formatDuration, type Target } from './report.js'
import { createBenchAccounts, openOperatorApp } from './seed.js'

const IMPORT_ROWS = QUICK ? 10_000 : 100_000
const LARGE_ROWS = QUICK ? 100_000 : 1_000_000
const DEEP_PAGE = QUICK ? 500 : 5_000
/** A tag on every tenth contact: deep enough to page through (100,000 of the 1,000,000). */
const FILTER_TAG = 'tier-3'
const TAG_DEEP_PAGE = QUICK ? 50 : 500
/** Two clients each with one request in flight: a busy customer, not a saturation test (that is the front door's section). */
const SAMPLE_EVERY_MS = 100

/** The service's own batch size (the bench runs it on its defaults): the batched floor uses it too. */
const IMPORT_BATCH_ROWS = ConfigSchema.properties.IMPORT_BATCH_SIZE.default as number

const TARGET_IMPORT_ROWS_PER_SECOND = 50_000
const TARGET_RSS_GROWTH_MB = 100
const TARGET_LIST_P99_MS = 15

const RESULTS_PATH = join(PROJECT_ROOT, 'bench', 'results', 'contacts.json')

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'John', 'Radia', 'Ken', 'Margaret', 'Dennis', 'Hedy', 'Linus', 'Shafi', 'Tim']
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'McCarthy', 'Perlman', 'Thompson', 'Hamilton', 'Ritchie', 'Lamarr', 'Torvalds', 'Goldwasser', 'Berners-Lee']
const PLANS = ['free', 'pro', 'team', 'enterprise']

/** Row `i` of a bench file: a valid, distinct US number (+1 415 2xx xxxx up to 8,000,000 rows). */
function contactRow(i: number) {
  const first = FIRST[i % FIRST.length]!
  const last = LAST[Math.floor(i / FIRST.length) % LAST.length]!
  return {
    phone: `+1415${200 + Math.floor(i / 10_000)}${String(i % 10_000).padStart(4, '0')}`,
    first, last,
    email: `${first}.${last}.${i}@example.com`.toLowerCase(),
    tags: [`tier-${i % 10}`, ...(i % 7 === 0 ? ['newsletter'] : [])],
    plan: PLANS[i % PLANS.length]!,
  }
}

/** The CSV the service imports, 1,000 rows per chunk, never whole in memory. */
async function* csvChunks(rows: number): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder()
  yield encoder.encode('phone,first_name,last_name,email,tags,plan\n')
  for (let start = 0; start < rows; start += 1_000) {
    let chunk = ''
    for (let i = start; i < Math.min(rows, start + 1_000); i++) {
      const row = contactRow(i)
      chunk += `${row.phone},${row.first},${row.last},${row.email},${row.tags.join(';')},${row.plan}\n`
    }
    yield encoder.encode(chunk)
  }
}

/** The same rows as COPY text (what the import writes for them), for the database's own floor. */
async function* copyChunks(rows: number, accountId: string, at: string, chunkRows = 1_000): AsyncGenerator<string> {
  for (let start = 0; start < rows; start += chunkRows) {
    let chunk = ''
    for (let i = start; i < Math.min(rows, start + chunkRows); i++) {
      const row = contactRow(i)
      chunk += `con_floor${accountId.slice(-6)}${String(i).padStart(10, '0')}\t${accountId}\t${row.phone}\t${row.first}\t${row.last}\t${row.email}\t{${row.tags.join(',')}}\t{"plan":"${row.plan}"}\tf\t${at}\t${at}\n`
    }
    yield chunk
  }
}

const COPY_COLUMNS = 'id, account_id, phone, first_name, last_name, email, tags, custom_fields, do_not_call, created_at, updated_at'

/** The rows as one streaming COPY: what PostgreSQL can write into this table at all. */
async function streamingCopy(sql: Sql, accountId: string, rows: number): Promise<CopyFloor> {
  const started = performance.now()
  const writable = await sql.unsafe(`copy contacts (${COPY_COLUMNS}) from stdin`).writable()
  await pipeline(Readable.from(copyChunks(rows, accountId, new Date().toISOString())), writable)
  const seconds = (performance.now() - started) / 1000
  return { rows, seconds, rowsPerSecond: rows / seconds }
}

/**
 * The database's side of any resumable import, and nothing else: the rows (prepared beforehand) as
 * one COPY per batch, each batch in a transaction that locks an import row and moves its counters,
 * as commitBatch does — no parsing, checking, conflict handling or service in between. What an
 * import could reach if the service's work were free and perfectly overlapped.
 */
async function batchedCopy(sql: Sql, accountId: string, rows: number, batchRows: number): Promise<CopyFloor> {
  const batches: string[] = []
  for await (const chunk of copyChunks(rows, accountId, new Date().toISOString(), batchRows)) batches.push(chunk)
  const importId = `imp_floor${accountId.slice(-6)}`
  await sql`insert into contact_imports (id, account_id, status, format, on_conflict, bytes, created_at) values (${importId}, ${accountId}, 'running', 'csv', 'skip', 0, now())`
  const started = performance.now()
  for (const [index, batch] of batches.entries()) {
    await sql.begin(async (tx) => {
      await tx`select processed from contact_imports where id = ${importId} for update`
      const writable = await tx.unsafe(`copy contacts (${COPY_COLUMNS}) from stdin`).writable()
      await pipeline(Readable.from([batch]), writable)
      const size = Math.min(batchRows, rows - index * batchRows)
      await tx`update contact_imports set processed = processed + ${size}, created = created + ${size}, heartbeat_at = now() where id = ${importId}`
    })
  }
  const seconds = (performance.now() - started) / 1000
  return { rows, seconds, rowsPerSecond: rows / seconds }
}

interface CopyFloor {
  rows: number
  seconds: number
  rowsPerSecond: number
}

interface ImportRun {
  rows: number
  uploadSeconds: number
  totalSeconds: number
  rowsPerSecond: number
  final: Record<string, unknown>
}

/** Uploads a generated file and follows the import until it ends. */
async function importFile(baseUrl: string, key: string, rows: number, onUploaded?: () => void): Promise<ImportRun> {
  const started = performance.now()
  const response = await fetch(`${baseUrl}/api/v1/contacts/imports?tag=bench`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'text/csv' },
    body: ReadableStream.from(csvChunks(rows)),
    duplex: 'half',
  } as RequestInit)
  const accepted = await response.json() as { id?: string }
  if (response.status !== 202 || !accepted.id) throw new Error(`POST /api/v1/contacts/imports answered ${response.status}: ${JSON.stringify(accepted)}`)
  const uploadSeconds = (performance.now() - started) / 1000
  onUploaded?.()
  for (;;) {
    const current = await fetch(`${baseUrl}/api/v1/contacts/imports/${accepted.id}`, { headers: { authorization: `Bearer ${key}` } })
    const body = await current.json() as Record<string, unknown>
    if (current.status !== 200) throw new Error(`GET /api/v1/contacts/imports/${accepted.id} answered ${current.status}: ${JSON.stringify(body)}`)
    if (body.status === 'completed' || body.status === 'failed') {
      const totalSeconds = (performance.now() - started) / 1000
      if (body.status !== 'completed' || body.created !== rows) throw new Error(`the import did not create every row: ${JSON.stringify(body)}`)
      return { rows, uploadSeconds, totalSeconds, rowsPerSecond: rows / totalSeconds, final: body }
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Resident set size of a process in MB, from /proc (Linux). */
function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!match) throw new Error(`no VmRSS for process ${pid}`)
  return Number(match[1]) / 1024
}

interface ListRun { label: string; result: LoadResult; serviceCpuMsPerRequest: number | null; floor: QueryFloor }

export interface ContactsSummary {
  settings: { importRows: number; largeRows: number; deepPage: number; tagDeepPage: number; listLoad: typeof LIST_LOAD }
  import: ImportRun
  copyFloor: CopyFloor
  /** The same rows as COPY per import batch, with the import's lock and counters: a resumable import's ceiling. */
  batchedCopyFloor: CopyFloor
  large: ImportRun & { rssBeforeMb: number; rssUploadPeakMb: number; rssPeakMb: number; rssGrowthMb: number }
  lists: ListRun[]
  targets: Target[]
}

export async function contactsBench(errors: { add(count: number): void }): Promise<void> {
  const databaseUrl = await sectionDatabase('contacts')
  const handle = await openOperatorApp(databaseUrl, PEPPER, join(PROJECT_ROOT, '.data'))
  const sql = connect(databaseUrl)
  const outputBefore = serviceOutput.length
  try {
    // The 100k import's account, the two COPY floors' (the fillers) and the 1M account.
    const small = await createBenchAccounts(handle)
    const floorAccount = small.fillerAccountId
    const large = await createBenchAccounts(handle)
    // The large account's filler is free: the batched floor's rows go there.
    const batchedFloorAccount = large.fillerAccountId

    const summary = await withService({}, async (service) => {
      log(`importing ${IMPORT_ROWS.toLocaleString('en-US')} rows through the service`)
      const imported = await importFile(service.baseUrl, small.key, IMPORT_ROWS)
      log(`import: ${Math.round(imported.rowsPerSecond).toLocaleString('en-US')} rows/s (${imported.totalSeconds.toFixed(2)} s, upload ${imported.uploadSeconds.toFixed(2)} s)`)

      log(`COPY of the same ${IMPORT_ROWS.toLocaleString('en-US')} rows into contacts (the database's own floor)`)
      const copyFloor = await streamingCopy(sql, floorAccount, IMPORT_ROWS)
      log(`COPY: ${Math.round(copyFloor.rowsPerSecond).toLocaleString('en-US')} rows/s (${copyFloor.seconds.toFixed(2)} s)`)
      log(`the same rows as COPY per ${IMPORT_BATCH_ROWS.toLocaleString('en-US')}-row batch, with the import's lock and counters (a resumable import's floor)`)
      const batchedFloor = await batchedCopy(sql, batchedFloorAccount, IMPORT_ROWS, IMPORT_BATCH_ROWS)
      log(`batched COPY: ${Math.round(batchedFloor.rowsPerSecond).toLocaleString('en-US')} rows/s (${batchedFloor.seconds.toFixed(2)} s, ${(batchedFloor.rowsPerSecond / copyFloor.rowsPerSecond).toFixed(2)} of streaming COPY)`)

      // Resting size after the first import has warmed everything up: growth is what the big file adds.
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      const rssBeforeMb = rssMb(service.pid)
      let rssPeakMb = rssBeforeMb
      let rssUploadPeakMb = rssBeforeMb
      const sampler = setInterval(() => { rssPeakMb = Math.max(rssPeakMb, rssMb(service.pid)) }, SAMPLE_EVERY_MS)
      log(`importing ${LARGE_ROWS.toLocaleString('en-US')} rows (RSS before: ${rssBeforeMb.toFixed(1)} MB)`)
      let largeRun: ImportRun
      try {
        largeRun = await importFile(service.baseUrl, large.key, LARGE_ROWS, () => { rssUploadPeakMb = rssPeakMb })
      } finally {
        clearInterval(sampler)
      }
      const largeResult = { ...largeRun, rssBeforeMb, rssUploadPeakMb, rssPeakMb, rssGrowthMb: rssPeakMb - rssBeforeMb }
      log(`large import: ${Math.round(largeRun.rowsPerSecond).toLocaleString('en-US')} rows/s, RSS peak ${rssPeakMb.toFixed(1)} MB (+${largeResult.rssGrowthMb.toFixed(1)} MB)`)
      await sql`vacuum (analyze) contacts`

      const auth = { authorization: `Bearer ${large.key}` }
      const pageOptions = async (path: string, query: string, page: number, tag?: string) => {
        const url = page === 1 ? `${service.baseUrl}${path}?${query}` : await urlOfPage(service.baseUrl, large.key, path, query, page)
        const cursor = new URL(url).searchParams.get('cursor') ?? undefined
        return { url, query: await pageQuery(large.accountId, { limit: 100, ...(tag ? { tag } : {}), ...(cursor ? { cursor } : {}) }) }
      }
      const pages = [
        { label: 'page 1', ...await pageOptions('/api/v1/contacts', 'limit=100', 1) },
        { label: `page ${DEEP_PAGE.toLocaleString('en-US')}`, ...await pageOptions('/api/v1/contacts', 'limit=100', DEEP_PAGE) },
        { label: `tag=${FILTER_TAG}, page 1`, ...await pageOptions('/api/v1/contacts', `limit=100&tag=${FILTER_TAG}`, 1, FILTER_TAG) },
        { label: `tag=${FILTER_TAG}, page ${TAG_DEEP_PAGE}`, ...await pageOptions('/api/v1/contacts', `limit=100&tag=${FILTER_TAG}`, TAG_DEEP_PAGE, FILTER_TAG) },
      ]
      const lists: ListRun[] = []
      for (const page of pages) {
        const listed = await (await fetch(page.url, { headers: auth })).json() as { data: unknown[] }
        await checkPage(sql, page.query, listed.data)
        const { result, serviceCpuMsPerRequest } = await measureList(service, page.url, auth, errors)
        const floor = await measureQueryFloor(sql, page.query)
        lists.push({ label: page.label, result, serviceCpuMsPerRequest, floor })
        log(`GET /api/v1/contacts?limit=100, ${page.label}: ${Math.round(result.rps)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, non-2xx ${result.non2xx}, service CPU ${serviceCpuMsPerRequest?.toFixed(2) ?? 'n/a'} ms/req; its query alone: p50 ${floor.p50Ms.toFixed(2)} ms, p99 ${floor.p99Ms.toFixed(2)} ms`)
      }
      return { imported, copyFloor, batchedCopyFloor: batchedFloor, large: largeResult, lists }
    }, databaseUrl)

    const full: ContactsSummary = {
      settings: { importRows: IMPORT_ROWS, largeRows: LARGE_ROWS, deepPage: DEEP_PAGE, tagDeepPage: TAG_DEEP_PAGE, listLoad: LIST_LOAD },
      import: summary.imported,
      copyFloor: summary.copyFloor,
      batchedCopyFloor: summary.batchedCopyFloor,
      large: summary.large,
      lists: summary.lists,
      targets: contactTargets(summary.imported, summary.copyFloor, summary.batchedCopyFloor, summary.large, summary.lists),
    }
    reportSection(formatContacts(full), full, RESULTS_PATH, outputBefore)
  } finally {
    await sql.end({ timeout: 5 })
    await handle.close()
  }
}

function contactTargets(imported: ImportRun, floor: CopyFloor, batchedFloor: CopyFloor, large: ContactsSummary['large'], lists: ListRun[]): Target[] {
  const rows = (value: number) => Math.round(value).toLocaleString('en-US')
  return [
    {
      name: `${rows(IMPORT_ROWS)}-row CSV, upload → completed, ≥ ${rows(TARGET_IMPORT_ROWS_PER_SECOND)} rows/s`,
      pass: imported.rowsPerSecond >= TARGET_IMPORT_ROWS_PER_SECOND,
      actual: `${rows(imported.rowsPerSecond)} rows/s; PostgreSQL's own COPY of the same rows here: ${rows(floor.rowsPerSecond)} rows/s (import/COPY ${(imported.rowsPerSecond / floor.rowsPerSecond).toFixed(2)}); as COPY per ${rows(IMPORT_BATCH_ROWS)}-row batch with the import's lock and counters and no other work: ${rows(batchedFloor.rowsPerSecond)} rows/s (${(batchedFloor.rowsPerSecond / floor.rowsPerSecond).toFixed(2)} of COPY; import/batched ${(imported.rowsPerSecond / batchedFloor.rowsPerSecond).toFixed(2)})`,
    },
    {
      name: `${rows(LARGE_ROWS)}-row CSV: service RSS grows < ${TARGET_RSS_GROWTH_MB} MB`,
      pass: large.rssGrowthMb < TARGET_RSS_GROWTH_MB,
      actual: `${large.rssBeforeMb.toFixed(1)} → ${large.rssPeakMb.toFixed(1)} MB (+${large.rssGrowthMb.toFixed(1)} MB; +${(large.rssUploadPeakMb - large.rssBeforeMb).toFixed(1)} MB by the end of the upload), ${rows(large.rowsPerSecond)} rows/s`,
    },
    ...lists.map((run) => ({
      name: `GET /api/v1/contacts?limit=100 (${rows(LARGE_ROWS)} contacts), ${run.label}: p99 ≤ ${TARGET_LIST_P99_MS} ms, all 2xx`,
      pass: run.result.p99Ms <= TARGET_LIST_P99_MS && run.result.non2xx === 0,
      actual: `p99 ${run.result.p99Ms.toFixed(2)} ms, p50 ${run.result.p50Ms.toFixed(2)} ms, ${Math.round(run.result.rps)} req/s, non-2xx ${run.result.non2xx}, service CPU ${run.serviceCpuMsPerRequest?.toFixed(2) ?? 'n/a'} ms/req; the page's query alone, same connections: p99 ${run.floor.p99Ms.toFixed(2)} ms, p50 ${run.floor.p50Ms.toFixed(2)} ms`,
    })),
  ]
}

function formatContacts(summary: ContactsSummary): string {
  const out = ['', '=== Contacts: imports and lists (PostgreSQL) ===']
  out.push(`import of ${summary.import.rows.toLocaleString('en-US')} rows: ${formatDuration(summary.import.totalSeconds)} end to end (upload ${formatDuration(summary.import.uploadSeconds)})`)
  out.push(`COPY floor, same rows, same table and indexes: ${formatDuration(summary.copyFloor.seconds)}`)
  out.push(`the same rows as COPY per ${IMPORT_BATCH_ROWS.toLocaleString('en-US')}-row batch, each with the import's lock and counters (a resumable import's floor): ${formatDuration(summary.batchedCopyFloor.seconds)}`)
  out.push(`import of ${summary.large.rows.toLocaleString('en-US')} rows: ${formatDuration(summary.large.totalSeconds)}`)
  out.push(`lists: ${summary.settings.listLoad.connections} connections, ${summary.settings.listLoad.seconds} s per run after a ${summary.settings.listLoad.warmupSeconds} s warm-up; deep pages reached by following next_cursor; beside each, the page's own SQL run by a bare postgres.js client on as many connections (no HTTP, auth, limiter or logging)`)
  out.push('', 'Targets')
  for (const target of summary.targets) out.push(`${target.pass ? 'PASS' : 'MISS'}  ${target.name}: ${target.actual}`)
  return out.join('\n')
}
