import postgres from 'postgres'
import { readFileSync, readdirSync } from 'node:fs'
const sql = postgres('postgres://postgres@127.0.0.1:5432/voxpria_bench_prof', { max: 1 })
const [{ pid }] = await sql`select pg_backend_pid() as pid`
const cpu = () => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' '); return (Number(f[11]) + Number(f[12])) / 100 }
const [{ id: keyId, account_id: accountId }] = await sql`select id, account_id from api_keys limit 1`
const N = 15000
const rows = Array.from({ length: N }, (_, i) => ({ i: `req_${Date.now().toString(16)}${i.toString().padStart(20, '0')}${Math.random().toString(36).slice(2, 8)}`, a: accountId, k: keyId, m: 'GET', r: '/api/v1/keys/current', s: 200, l: 2, c: '127.0.0.1', n: '127.0.0.0/24', u: 'autocannon/7.15.0', x: 'allowed', t: new Date(Date.now() - i).toISOString() }))
for (let round = 0; round < 3; round++) {
  let c0 = cpu(); let t0 = performance.now()
  await sql.begin(async (tx) => {
    for (let j = 0; j < N; j += 1000) {
      const json = JSON.stringify(rows.slice(j, j + 1000).map((r) => ({ ...r, i: r.i + 'j' + round })))
      await tx.unsafe(`insert into usage_events (id, account_id, key_id, method, route, status, latency_ms, client_ip, client_network, user_agent, rate_limit, created_at) select i, a, k, m, r, s, l, c, n, u, x, t from json_to_recordset($1::text::json) as r(i text, a text, k text, m text, r text, s integer, l integer, c text, n text, u text, x text, t timestamptz)`, [json])
    }
  })
  console.log('json', ((cpu() - c0) * 1000 / N).toFixed(4), 'ms/row pg', (performance.now() - t0).toFixed(0), 'ms wall')
  c0 = cpu(); t0 = performance.now()
  await sql.begin(async (tx) => {
    const w = await tx`copy usage_events (id, account_id, key_id, method, route, status, latency_ms, client_ip, client_network, user_agent, rate_limit, created_at) from stdin`.writable()
    const text = rows.map((r) => [r.i + 'c' + round, r.a, r.k, r.m, r.r, r.s, r.l, r.c, r.n, r.u, r.x, r.t].join('\t')).join('\n') + '\n'
    await new Promise<void>((res, rej) => { w.on('error', rej); w.on('finish', res); w.end(text) })
  })
  console.log('copy', ((cpu() - c0) * 1000 / N).toFixed(4), 'ms/row pg', (performance.now() - t0).toFixed(0), 'ms wall')
}
await sql.end()
