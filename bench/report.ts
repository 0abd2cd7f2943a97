import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { LoadResult } from './load.js'
import type { LookupPlan } from './database.js'
import type { SeedResult } from './seed.js'

export interface Machine {
  cpu: string
  cores: number
  node: string
  platform: string
  memoryGb: number
  /** 1-minute load average when the bench started: a busy machine explains a slow run. */
  loadAverageAtStart: number
  postgres: string
  redis: string
}

export interface ScalingRow {
  keys: number
  cache: 'on' | 'off'
  result: LoadResult
  /** Digest-index scans per request: ~0 with the cache on; what proves the uncached path hits PostgreSQL. */
  databaseLookupsPerRequest: number
}

export interface Target {
  name: string
  pass: boolean
  actual: string
}

export interface Summary {
  machine: Machine
  settings: { connections: number; headlineSeconds: number; headlineWarmupSeconds: number; scalingSeconds: number; scalingWarmupSeconds: number }
  headline: { health: LoadResult; currentKey: LoadResult; ratio: number }
  scaling: ScalingRow[]
  lookupPlans: { keys: number; plan: LookupPlan }[]
  seeding: SeedResult[]
  targets: Target[]
  serviceOutput: string[]
  wallSeconds: number
  finishedAt: string
}

const int = (value: number) => Math.round(value).toLocaleString('en-US')
const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : 'n/a')

function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n')
}

export function formatSummary(summary: Summary): string {
  const { machine, settings, headline } = summary
  const out: string[] = []
  out.push('', '=== VoxPria API load benchmark ===')
  out.push(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, ${machine.platform}, Node ${machine.node}`)
  out.push(`services: PostgreSQL ${machine.postgres}, Redis ${machine.redis} (all on 127.0.0.1; load generator on the same machine)`)
  out.push(`load average at start: ${machine.loadAverageAtStart.toFixed(2)}`)

  out.push('', `Throughput: ${settings.connections} connections, ${settings.headlineSeconds} s each after a ${settings.headlineWarmupSeconds} s warm-up`)
  out.push(table(['route', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors'], [
    ['(a) GET /health', int(headline.health.rps), ms(headline.health.p50Ms), ms(headline.health.p99Ms), int(headline.health.non2xx), int(headline.health.errors)],
    ['(b) GET /api/v1/keys/current', int(headline.currentKey.rps), ms(headline.currentKey.p50Ms), ms(headline.currentKey.p99Ms), int(headline.currentKey.non2xx), int(headline.currentKey.errors)],
  ]))
  out.push(`ratio b/a (req/s): ${headline.ratio.toFixed(3)}`)

  out.push('', `Key-count scaling: GET /api/v1/keys/current, ${settings.connections} connections, ${settings.scalingSeconds} s each after a ${settings.scalingWarmupSeconds} s warm-up`)
  out.push(table(['keys in db', 'key cache', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'db lookups/req'], summary.scaling.map((row) => [
    int(row.keys), row.cache === 'on' ? 'on (default)' : 'off (TTL 0)', int(row.result.rps), ms(row.result.p50Ms), ms(row.result.p99Ms),
    int(row.result.non2xx), row.databaseLookupsPerRequest.toFixed(2),
  ])))
  for (const { keys, plan } of summary.lookupPlans) {
    out.push(`lookup plan at ${int(keys)} keys: ${plan.access}, ${plan.buffers} shared buffers, ${plan.executionMs.toFixed(3)} ms (EXPLAIN ANALYZE)`)
  }
  for (const seed of summary.seeding) {
    out.push(`seeding: ${int(seed.inserted)} filler keys (to ${int(seed.totalKeys)}) in ${seed.seconds.toFixed(1)} s`)
  }

  out.push('', 'Targets')
  for (const target of summary.targets) out.push(`${target.pass ? 'PASS' : 'MISS'}  ${target.name}: ${target.actual}`)
  for (const output of summary.serviceOutput) out.push('', `service output during the run (warn and above):\n${output}`)
  out.push('', `total wall time: ${formatDuration(summary.wallSeconds)}`)
  return out.join('\n')
}

export function formatDuration(seconds: number): string {
  const minutes = Math.floor(seconds / 60)
  return minutes > 0 ? `${minutes} min ${(seconds % 60).toFixed(0)} s` : `${seconds.toFixed(1)} s`
}

export function writeSummary(path: string, summary: Summary): void {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, `${JSON.stringify(summary, null, 2)}\n`)
}
