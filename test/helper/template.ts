import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import postgres from 'postgres'
import { PROJECT_ROOT, MIGRATIONS_DIR } from '../../src/paths.js'
import { openDatabase } from '../../src/db/client.js'
import { isAlive } from '../../src/db/pglite-lock.js'
import { PgBossQueue } from '../../src/jobs/queue.js'

/**
 * Test apps start from a migrated template instead of an empty database: migrating a fresh
 * PGlite (and installing pg-boss's schema) costs seconds, loading a snapshot half a second; on
 * PostgreSQL `CREATE DATABASE … TEMPLATE` takes ~80 ms. The template's name carries a hash of the
 * migrations and the pg-boss version, so a changed migration builds a new one; it is built on
 * first use, once, whichever test process gets there first.
 */

const quiet = { warn() {}, error() {} }

function templateHash(): string {
  const hash = createHash('sha256')
  for (const name of readdirSync(MIGRATIONS_DIR).filter((file) => file.endsWith('.sql')).sort()) {
    hash.update(name).update(readFileSync(join(MIGRATIONS_DIR, name)))
  }
  hash.update(readFileSync(join(PROJECT_ROOT, 'node_modules', 'pg-boss', 'package.json')))
  return hash.digest('hex').slice(0, 10)
}

const HASH = templateHash()

// ---- PGlite: a data-folder snapshot on disk, read once per test process ---------------------

const CACHE_DIR = join(PROJECT_ROOT, 'node_modules', '.cache', 'voxpria-test')
let pgliteTemplate: Promise<Blob> | undefined

export function pgliteTemplateBlob(): Promise<Blob> {
  pgliteTemplate ??= (async () => {
    const path = join(CACHE_DIR, `pglite-${HASH}.tar`)
    if (!existsSync(path)) {
      const database = await openDatabase({ DATA_DIR: '/nonexistent', inMemory: true })
      await database.migrate()
      const queue = new PgBossQueue(database.queueConnection(), quiet)
      await queue.start()
      await queue.stop()
      const dump = await database.dumpDataDir!()
      await database.close()
      mkdirSync(CACHE_DIR, { recursive: true })
      // Written aside and renamed: a concurrent test process never reads half a file.
      const partial = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`
      writeFileSync(partial, Buffer.from(await dump.arrayBuffer()))
      renameSync(partial, path)
    }
    return new Blob([readFileSync(path)])
  })()
  return pgliteTemplate
}

// ---- PostgreSQL: a template database beside the one DATABASE_URL names ----------------------

function withDatabase(url: string, name: string): string {
  const copy = new URL(url)
  copy.pathname = `/${name}`
  return copy.toString()
}

function baseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1))
}

let postgresTemplate: Promise<string> | undefined

/** The template database's name, building it (under an advisory lock) when it does not exist. */
function postgresTemplateName(url: string): Promise<string> {
  postgresTemplate ??= (async () => {
    const name = `${baseName(url)}_tmpl_${HASH}`
    const admin = postgres(withDatabase(url, 'postgres'), { max: 1, onnotice: () => {} })
    try {
      await admin`select pg_advisory_lock(7281946114)`
      const [exists] = await admin`select 1 from pg_database where datname = ${name}`
      if (!exists) {
        // Older templates of this test database (other migrations) are of no further use.
        for (const { datname } of await admin<{ datname: string }[]>`select datname from pg_database where datname like ${`${baseName(url)}\\_tmpl\\_%`}`) {
          await admin.unsafe(`drop database if exists "${datname}" with (force)`)
        }
        await admin.unsafe(`create database "${name}"`)
        const database = await openDatabase({ DATABASE_URL: withDatabase(url, name), DATA_DIR: '/nonexistent' })
        await database.migrate()
        const queue = new PgBossQueue(database.queueConnection(), quiet)
        await queue.start()
        await queue.stop()
        await database.close()
      }
      await admin`select pg_advisory_unlock(7281946114)`
    } finally {
      await admin.end({ timeout: 5 })
    }
    return name
  })()
  return postgresTemplate
}

/** A copy's name carries the pid of the test process that made it (see dropLeftoverCopies). */
function copyName(url: string, pid: number): string {
  return `${baseName(url)}_t_${pid}_${randomBytes(6).toString('hex')}`
}

/**
 * Copies whose test process is gone without dropping them (a killed run, a file that hit tap's
 * timeout) would pile up run after run: each test process drops them before its first copy. A
 * copy whose process is alive (this run's other files, another run on the machine) is left alone;
 * so are names without a pid, which predate this. Assumes the test processes sharing the server
 * share this machine's pids. Answers the names dropped.
 */
export async function dropLeftoverCopies(url: string): Promise<string[]> {
  const admin = postgres(withDatabase(url, 'postgres'), { max: 1, onnotice: () => {} })
  const dropped: string[] = []
  const pattern = new RegExp(`^${baseName(url).replace(/[^A-Za-z0-9]/g, '\\$&')}_t_(\\d+)_[0-9a-f]{12}$`)
  try {
    for (const { datname } of await admin<{ datname: string }[]>`select datname from pg_database where datname like ${`${baseName(url)}\\_t\\_%`}`) {
      const pid = pattern.exec(datname)?.[1]
      if (pid === undefined || isAlive(Number(pid))) continue
      // Another process may be dropping the same leftover: whichever loses finds it gone.
      await admin.unsafe(`drop database if exists "${datname}" with (force)`).then(() => dropped.push(datname), () => {})
    }
  } finally {
    await admin.end({ timeout: 5 })
  }
  return dropped
}

let leftoversDropped: Promise<string[]> | undefined

/**
 * A new database copied from the template, for one test app; dropped by `drop()`. Copies run in
 * parallel across test processes: PostgreSQL refuses a copy while another session is connected
 * to the template, so a refused copy is retried.
 */
export async function createDatabaseFromTemplate(url: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const template = await postgresTemplateName(url)
  leftoversDropped ??= dropLeftoverCopies(url)
  await leftoversDropped
  const name = copyName(url, process.pid)
  const admin = postgres(withDatabase(url, 'postgres'), { max: 1, onnotice: () => {} })
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.unsafe(`create database "${name}" template "${template}"`)
        break
      } catch (error) {
        if (attempt >= 50 || !/being accessed by other users/.test(String((error as Error).message))) throw error
        await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100))
      }
    }
  } finally {
    await admin.end({ timeout: 5 })
  }
  return {
    url: withDatabase(url, name),
    drop: async () => {
      const dropper = postgres(withDatabase(url, 'postgres'), { max: 1, onnotice: () => {} })
      try {
        await dropper.unsafe(`drop database if exists "${name}" with (force)`)
      } finally {
        await dropper.end({ timeout: 5 })
      }
    },
  }
}
