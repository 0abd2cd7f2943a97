import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import t from 'tap'
import postgres from 'postgres'
import { dropLeftoverCopies } from '../helper/template.js'

/**
 * The test harness's own hygiene: a test process killed before it dropped its database copies
 * (tap's timeout, ^C) must not leave them behind run after run, and a live process's copy must
 * survive another process's clean-up.
 */
const DATABASE_URL = process.env.DATABASE_URL

t.test('copies left by a dead test process are dropped; a live one\'s and foreign names are kept', { skip: !DATABASE_URL && 'needs DATABASE_URL (PGlite copies live in memory)' }, async (t) => {
  const admin = postgres(new URL('/postgres', DATABASE_URL!).toString(), { max: 1, onnotice: () => {} })
  t.teardown(() => admin.end({ timeout: 5 }))
  const base = decodeURIComponent(new URL(DATABASE_URL!).pathname.slice(1))
  // A pid that was a process a moment ago and is none now.
  const dead = spawnSync(process.execPath, ['-e', '']).pid!
  const hex = () => randomBytes(6).toString('hex')
  const names = {
    dead: `${base}_t_${dead}_${hex()}`,
    live: `${base}_t_${process.pid}_${hex()}`,
    // The older form (no pid) and a database that only looks similar: never ours to judge.
    old: `${base}_t_${hex()}`,
    other: `${base}_t_${dead}_${hex()}_kept`,
  }
  for (const name of Object.values(names)) await admin.unsafe(`create database "${name}"`)
  t.teardown(async () => {
    for (const name of Object.values(names)) await admin.unsafe(`drop database if exists "${name}" with (force)`)
  })

  const dropped = await dropLeftoverCopies(DATABASE_URL!)
  t.ok(dropped.includes(names.dead), 'the dead process\'s copy is dropped')
  const left = new Set((await admin<{ datname: string }[]>`select datname from pg_database`).map((row) => row.datname))
  t.notOk(left.has(names.dead), 'and is gone')
  t.ok(left.has(names.live), 'a live process\'s copy stays')
  t.ok(left.has(names.old), 'a name without a pid stays')
  t.ok(left.has(names.other), 'a name that only starts like a copy stays')
})
