import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { and, count, eq } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { contacts, contactImports } from '../../src/db/schema/index.js'
import { TEST_PEPPER, buildTestApp, call, createTestAccount, type TestLike } from '../helper/app.js'
import { createDatabaseFromTemplate } from '../helper/template.js'
import { waitForImport } from '../helper/factories.js'
import { runEntryPoint } from '../helper/process.js'
import postgres from 'postgres'

/**
 * An instance that stops or dies mid-import: whatever it committed stays, counted; the next
 * instance resumes after the last committed batch; no row is applied twice.
 */

const ROWS = 6_000
const BATCH = 50
const FILE = `phone,first_name\n${Array.from({ length: ROWS }, (_, i) => `+1415${2_000_000 + i},Row ${i + 1}`).join('\n')}\n`

async function progress(app: FastifyInstance, importId: string) {
  const [row] = await app.database.db.select().from(contactImports).where(eq(contactImports.id, importId))
  return row!
}

async function until(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** The import's counters agree with the rows it wrote, and every row of the file is there once. */
async function assertExact(t: Tap, app: FastifyInstance, importId: string) {
  const done = await progress(app, importId)
  t.match(done, { status: 'completed', processed: ROWS, created: ROWS, updated: 0, skipped: 0, failed: 0 })
  const [written] = await app.database.db.select({ n: count() }).from(contacts).where(eq(contacts.importId, importId))
  t.equal(written!.n, ROWS, 'every row landed, none twice (the counters are true)')
  const [last] = await app.database.db.select({ n: count() }).from(contacts).where(and(eq(contacts.importId, importId), eq(contacts.importRow, ROWS)))
  t.equal(last!.n, 1)
}

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

/** An app on a PGlite folder of its own, closed and reopened as a restarted embedded server would be. */
async function embeddedApp(t: TestLike, dataDir: string) {
  const config = loadConfig({ ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'warn' }, {
    DATA_DIR: dataDir, KEY_PEPPER: TEST_PEPPER, IMPORT_BATCH_SIZE: BATCH, AUTH_FAILURES_PER_MINUTE: 100_000, ALERT_INTERVAL_SECONDS: 86_400,
  })
  const app = await buildApp(config, { inMemoryDatabase: false, logStream: new Writable({ write(_chunk, _encoding, done) { done() } }) })
  await app.ready()
  t.teardown(() => app.close())
  return app
}

t.test('an instance stopped mid-import: the next one resumes after the last committed batch', async (t) => {
  let first: FastifyInstance
  let reopen: () => Promise<FastifyInstance>
  if (process.env.DATABASE_URL) {
    const one = await buildTestApp(t, { IMPORT_BATCH_SIZE: BATCH })
    first = one.app
    reopen = async () => (await buildTestApp(t, { IMPORT_BATCH_SIZE: BATCH }, { sharedWith: one })).app
  } else {
    const dataDir = mkdtempSync(join(tmpdir(), 'voxpria-import-restart-'))
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
    first = await embeddedApp(t, dataDir)
    reopen = () => embeddedApp(t, dataDir)
  }
  const account = await createTestAccount(first)
  const started = await call(first, { method: 'POST', url: '/api/v1/contacts/imports', key: account.key, headers: { 'content-type': 'text/csv' }, payload: FILE })
  t.equal(started.statusCode, 202)
  const importId = started.json().id as string
  await until(async () => (await progress(first, importId)).processed >= 2 * BATCH)
  await first.close()
  // The stopped job is retried after pg-boss's retry delay: there is time to look first.
  const second = await reopen()
  const stopped = await progress(second, importId)
  t.equal(stopped.status, 'running', 'stopped mid-import, not finished')
  t.ok(stopped.processed > 0 && stopped.processed < ROWS && stopped.processed % BATCH === 0, `${stopped.processed} rows committed: whole batches only`)
  t.equal(stopped.created, stopped.processed, 'its counters are the rows it committed')

  const done = await waitForImport(second, account.key, importId, 120_000)
  t.equal(done.status, 'completed')
  await assertExact(t, second, importId)
})

t.test('an instance killed mid-import: another resumes it once its heartbeat is stale', { skip: !process.env.DATABASE_URL && 'needs DATABASE_URL: a killed process must not take an embedded database with it' }, async (t) => {
  const database = await createDatabaseFromTemplate(process.env.DATABASE_URL!)
  t.teardown(() => database.drop())
  // The account is made by an app that is gone before the upload: only the doomed server works the job.
  const setup = await buildTestApp(t, { DATABASE_URL: database.url })
  const account = await createTestAccount(setup.app)
  await setup.app.close()

  const env = {
    ...process.env, NODE_ENV: 'test', DATABASE_URL: database.url, REDIS_URL: undefined, KEY_PEPPER: TEST_PEPPER, PORT: '0', LOG_LEVEL: 'info',
    IMPORT_BATCH_SIZE: String(BATCH), DATA_DIR: mkdtempSync(join(tmpdir(), 'voxpria-import-kill-')),
  }
  const doomed = runEntryPoint('src/server.ts', [], env)
  t.teardown(() => { doomed.child.kill('SIGKILL') })
  const [, url] = await doomed.waitFor(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/)
  const started = await fetch(`${url}/api/v1/contacts/imports`, { method: 'POST', headers: { authorization: `Bearer ${account.key}`, 'content-type': 'text/csv' }, body: FILE })
  t.equal(started.status, 202)
  const importId = ((await started.json()) as { id: string }).id

  // Watched over a plain connection: no other instance may be there to take the job.
  const sql = postgres(database.url, { max: 1, onnotice: () => {} })
  t.teardown(() => sql.end({ timeout: 1 }))
  const peek = async () => {
    const [row] = await sql<{ status: string; processed: number; created: number }[]>`select status, processed, created from contact_imports where id = ${importId}`
    return row!
  }
  await until(async () => (await peek()).processed >= 2 * BATCH, 60_000)
  doomed.child.kill('SIGKILL')
  await doomed.exited
  const killed = await peek()
  t.equal(killed.status, 'running', 'it died mid-import')
  t.ok(killed.processed % BATCH === 0 && killed.processed < ROWS, `${killed.processed} rows committed: whole batches only`)
  t.equal(killed.created, killed.processed, 'counters true at the moment of death')

  const rescuer = await buildTestApp(t, { DATABASE_URL: database.url, IMPORT_BATCH_SIZE: BATCH, IMPORT_STALL_SECONDS: 1, ALERT_INTERVAL_SECONDS: 1 })
  const done = await waitForImport(rescuer.app, account.key, importId, 120_000)
  t.equal(done.status, 'completed', 'resumed by the sweep once the heartbeat went stale')
  await assertExact(t, rescuer.app, importId)
})
