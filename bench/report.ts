import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { LoadResult } from './load.js'
import type { LookupPlan } from './database.js'
import type { SeedResult } from './seed.js'

/** One counted run, plus what it cost the service in CPU. */
export type RunResult = LoadResult & {
  /** Service CPU (user + system) per request: steadier than req/s when the machine is shared. */
  serviceCpuMsPerRequest: number | null
}

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
  round: number
  result: RunResult
  /** Digest-index scans per request: ~0 with the cache on; what proves the uncached path hits PostgreSQL. */
  databaseLookupsPerRequest: number
}

export interface Target {
  name: string
  pass: boolean
  actual: string
}

/** One interleaved round: (a), then (b), then (b) on the service with usage logging off. */
export interface HeadlineRound {
  health: RunResult
  currentKey: RunResult
  currentKeyWithoutUsageLog: RunResult
  /** (b) / (a) req/s. */
  ratio: number
  /** (b) / (b without usage logging) req/s. */
  usageLogRatio: number
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export interface Summary {
  machine: Machine
  /** The commit built, and how many service files differed from it (the working tree is built). */
  source: { commit: string; uncommittedFiles: number }
  settings: { rounds: number; scalingRounds: number; connections: number; keyPoolSize: number; headlineSeconds: number; headlineWarmupSeconds: number; scalingSeconds: number; scalingWarmupSeconds: number }
  headline: { rounds: HeadlineRound[]; ratio: number; usageLogRatio: number; currentKeyP99Ms: number }
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
const cpu = (value: number | null) => (value === null ? 'n/a' : value.toFixed(3))

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
  out.push(`service built from ${summary.source.commit}${summary.source.uncommittedFiles ? ` plus ${summary.source.uncommittedFiles} uncommitted file(s) in src/, plugins/, routes/, drizzle/` : ''}`)
  out.push(`load average at start: ${machine.loadAverageAtStart.toFixed(2)}`)
  if (machine.loadAverageAtStart > machine.cores / 2) {
    out.push('NOTE: other processes were busy on this machine when the bench started; every figure below understates the service.')
  }

  out.push('', `Throughput: ${settings.rounds} interleaved round(s) in alternating order, ${settings.connections} connections, ${settings.headlineSeconds} s per run after a ${settings.headlineWarmupSeconds} s warm-up`)
  const row = (label: string, run: RunResult) => [label, int(run.rps), ms(run.p50Ms), ms(run.p99Ms), int(run.non2xx), int(run.errors), cpu(run.serviceCpuMsPerRequest)]
  out.push(table(['round / route', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'service CPU ms/req'], headline.rounds.flatMap((round, i) => [
    row(`${i + 1} (a) GET /health`, round.health),
    row(`${i + 1} (b) GET /api/v1/keys/current`, round.currentKey),
    row(`${i + 1} (b) with USAGE_LOG_ENABLED=false`, round.currentKeyWithoutUsageLog),
  ])))
  out.push(`ratio b/a (req/s), median round: ${headline.ratio.toFixed(3)}; usage logging on/off (req/s), median round: ${headline.usageLogRatio.toFixed(3)}`)
  const cpuRatios = headline.rounds.map((round) => round.health.serviceCpuMsPerRequest !== null && round.currentKey.serviceCpuMsPerRequest
    ? round.health.serviceCpuMsPerRequest / round.currentKey.serviceCpuMsPerRequest : null).filter((value): value is number => value !== null)
  if (cpuRatios.length > 0) out.push(`service CPU per request a/b, median round: ${median(cpuRatios).toFixed(3)} (what b/a would be if the service alone were the bottleneck)`)

  out.push('', `Key-count scaling: two databases, ${settings.scalingRounds} interleaved round(s), GET /api/v1/keys/current, ${settings.connections} connections, ${settings.scalingSeconds} s each after a ${settings.scalingWarmupSeconds} s warm-up,`)
  out.push(`requests rotating through ${settings.keyPoolSize} keys of the bench account (so that TTL 0 really misses the cache)`)
  out.push(table(['round', 'keys in db', 'key cache', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'service CPU ms/req', 'db lookups/req'], summary.scaling.map((row) => [
    String(row.round), int(row.keys), row.cache === 'on' ? 'on (default)' : 'off (TTL 0)', int(row.result.rps), ms(row.result.p50Ms), ms(row.result.p99Ms),
    int(row.result.non2xx), cpu(row.result.serviceCpuMsPerRequest), row.databaseLookupsPerRequest.toFixed(2),
  ])))
  out.push("(db lookups/req: digest-index scans per request over each service's whole run, warm-ups included; ~0 means served from the cache, ~1 means one PostgreSQL lookup each)")
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
  if (seconds < 59.95) return `${seconds.toFixed(1)} s`
  // Round once, then split: rounding the remainder alone prints "2 min 60 s".
  const whole = Math.round(seconds)
  return `${Math.floor(whole / 60)} min ${whole % 60} s`
}

export function writeSummary(path: string, summary: object): void {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, `${JSON.stringify(summary, null, 2)}\n`)
}
