// scratch profiler (not committed)
import { join } from 'node:path'
import { readdirSync, readFileSync } from 'node:fs'
import { openDatabase } from '../src/db/client.js'
import { PROJECT_ROOT } from '../src/paths.js'
import { recreateDatabase } from './database.js'
import { runLoad } from './load.js'
import { createBenchAccounts } from './seed.js'
import { startService } from './server-process.js'
import { execFileSync } from 'node:child_process'
function cpuOf(name: string): number {
  let total = 0
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const comm = /\((.*)\)/.exec(stat)?.[1] ?? ''
      if (!comm.startsWith(name)) continue
      const f = stat.replace(/^.*\) /s, '').split(' ')
      total += (Number(f[11]) + Number(f[12])) / 100
    } catch {}
  }
  return total
}

const DB = 'postgres://postgres@127.0.0.1:5432/voxpria_bench_prof'
const PEPPER = 'voxpria-bench-pepper-fixed-not-a-production-secret'
await recreateDatabase(DB)
const handle = await openDatabase({ DATABASE_URL: DB, DATA_DIR: join(PROJECT_ROOT, '.data') })
await handle.migrate()
const accounts = await createBenchAccounts(handle.db, PEPPER)
await handle.close()
const prof = process.env.PROF === '1'
const env: Record<string, string> = {}
if (process.env.USAGE === '0') env.USAGE_LOG_ENABLED = 'false'
const svc = await startService({ databaseUrl: DB, redisUrl: process.env.NOREDIS ? '' : 'redis://127.0.0.1:6379', pepper: PEPPER, env, nodeArgs: prof ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : (process.env.NODEARGS?.split(' ').filter(Boolean) ?? []) })
const auth = { authorization: `Bearer ${accounts.key}` }
const secs = Number(process.env.SECS ?? 10)
for (let r = 0; r < Number(process.env.ROUNDS ?? 2); r++) {
  for (const mode of (process.env.MODE ?? 'a,b').split(',')) {
    const url = mode === 'a' ? `${svc.baseUrl}/health` : `${svc.baseUrl}/api/v1/keys/current`
    await runLoad({ url, headers: mode === 'a' ? {} : auth, connections: 32, seconds: 3 })
    const c0 = svc.cpuSeconds()!; const pg0 = cpuOf('postgres'); const r0 = cpuOf('redis-server'); const self0 = process.cpuUsage()
    const res = await runLoad({ url, headers: mode === 'a' ? {} : auth, connections: 32, seconds: secs })
    const c1 = svc.cpuSeconds()!; const pg1 = cpuOf('postgres'); const r1 = cpuOf('redis-server'); const self1 = process.cpuUsage(self0)
    const per = (x: number) => (x * 1000 / res.requests).toFixed(4)
    console.log(mode, Math.round(res.rps), 'p50', res.p50Ms.toFixed(2), 'p99', res.p99Ms.toFixed(2), 'non2xx', res.non2xx, 'ms/req svc', per(c1 - c0), 'pg', per(pg1 - pg0), 'redis', per(r1 - r0), 'loadgen', per((self1.user + self1.system) / 1e6))
  }
}
await svc.stop()
console.log(svc.output().slice(0, 2000))
