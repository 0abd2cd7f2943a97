/**
 * `npm run bench`: builds the service, runs it as a separate process against PostgreSQL and
 * Redis, and measures (a) GET /health against (b) GET /api/v1/keys/current through the full
 * authentication pipeline, then how (b) behaves with 1,000 versus 1,000,000 keys in the database,
 * with the key cache on and off (section front-door); then contact imports and lists (contacts,
 * bench/contacts.ts); then concurrent calls, two instances advancing calls, and call lists
 * (calls, bench/calls.ts). BENCH_SECTIONS=contacts,calls runs only those sections. A measurement,
 * not a test: a missed target prints MISS and the exit code stays 0; only a service that will not
 * start or a failed request exits non-zero.
 *
 * DATABASE_URL (default postgres://postgres@127.0.0.1:5432/voxpria_bench) names a database the
 * bench DROPS and recreates; REDIS_URL defaults to redis://127.0.0.1:6379. BENCH_QUICK=1 shortens
 * every run and seeds 100,000 keys instead of 1,000,000: a smoke check, not figures to quote.
 */
import { execFileSync } from 'node:child_process'
import os from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { keyDigest } from '../src/keys/digest.js'
import { PROJECT_ROOT } from '../src/paths.js'
import { connect, countKeys, explainLookup, largeDatabaseName, largeDatabaseUrl, recreateDatabase, settledDigestIndexScans } from './database.js'
import { runLoad, type LoadOptions } from './load.js'
import { formatSummary, median, writeSummary, type HeadlineRound, type Machine, type RunResult, type ScalingRow, type Summary, type Target } from './report.js'
import { BENCH_LIMITS, createBenchAccounts, createKeyPool, openOperatorApp, seedFillerKeys, type SeedResult } from './seed.js'
import { buildService, type RunningService } from './server-process.js'
import { contactsBench } from './contacts.js'
import { callsBench } from './calls.js'
import { DATABASE_URL, PEPPER, QUICK, REDIS_URL, elapsedSeconds, log, serviceOutput, withService } from './harness.js'


const CONNECTIONS = 32
const HEADLINE = QUICK ? { warmupSeconds: 1, seconds: 3 } : { warmupSeconds: 3, seconds: 10 }
/**
 * Interleaved rounds of (a), (b) and (b) without usage logging; the median round is judged. Five,
 * in alternating order (a b b' / b' b a): this VM's speed drifts within minutes, and a fixed order
 * would turn a steady drift into a bias between the runs always measured first and last.
 */
const ROUNDS = QUICK ? 1 : 5
/** The key-count scaling runs (shorter, one comparison) keep three rounds. */
const SCALING_ROUNDS = QUICK ? 1 : 3
/** Shorter scaling runs keep the whole bench (twelve of them plus seeding) within ~7 minutes. */
const SCALING = QUICK ? { warmupSeconds: 1, seconds: 2 } : { warmupSeconds: 2, seconds: 5 }
const SMALL_KEYS = 1_000
/** Keys the scaling runs rotate through (see createKeyPool); part of the 1,000 at the small size. */
const KEY_POOL_SIZE = 500
const LARGE_KEYS = QUICK ? 100_000 : 1_000_000

const TARGET_RATIO = 0.55
const TARGET_P99_MS = 10
/** Usage logging on must keep (b) within 10 % of the same run with it off. */
const USAGE_LOG_FLOOR = 0.9
/** "Flat" on a shared 2-core machine: within 20 % or 0.5 ms, whichever is looser, of the 1k figure. */
const FLAT_TOLERANCE = { factor: 1.2, plusMs: 0.5 }

const RESULTS_PATH = join(PROJECT_ROOT, 'bench', 'results', 'latest.json')

/** Connection errors and timeouts seen in any run, warm-ups included: any of them fails the bench. */
let requestErrors = 0

async function redisVersion(): Promise<string> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2_000, retryStrategy: () => null })
  let lastError: Error | undefined
  redis.on('error', (error: Error) => { lastError = error })
  try {
    await redis.connect()
    const info = await redis.info('server')
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown'
  } catch (error) {
    throw new Error(`Redis at ${REDIS_URL} is not reachable: ${(lastError ?? (error as Error)).message}`)
  } finally {
    redis.disconnect()
  }
}

/** Which code was measured: the bench builds the working tree, uncommitted changes included. */
function sourceState(): Summary['source'] {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8' }).trim()
  try {
    const changed = git('status', '--porcelain', '--', 'src', 'plugins', 'routes', 'drizzle', 'package.json').split('\n').filter(Boolean).length
    return { commit: git('rev-parse', '--short', 'HEAD'), uncommittedFiles: changed }
  } catch {
    return { commit: 'unknown', uncommittedFiles: 0 }
  }
}

/** One request before any load: a wrong key or limits too low should stop the bench, not skew it. */
async function preflight(baseUrl: string, key: string): Promise<void> {
  const response = await fetch(`${baseUrl}/api/v1/keys/current`, { headers: { authorization: `Bearer ${key}` } })
  const body = await response.json() as { account?: { plan?: string }; limits?: { requests_per_hour?: number; burst_per_minute?: number } }
  if (response.status !== 200) throw new Error(`preflight GET /api/v1/keys/current answered ${response.status}: ${JSON.stringify(body)}`)
  if (body.account?.plan !== 'enterprise' || body.limits?.requests_per_hour !== BENCH_LIMITS.hourlyLimit || body.limits?.burst_per_minute !== BENCH_LIMITS.burstLimit) {
    throw new Error(`preflight: the bench key does not carry the bench's enterprise limits: ${JSON.stringify(body)}`)
  }
}

/**
 * Presents every pool key once (32 at a time) before the timed warm-up, so the cache-on rows are
 * the steady state however slow the machine is, not a run that is still loading the pool.
 */
async function presentEveryKey(baseUrl: string, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += CONNECTIONS) {
    await Promise.all(keys.slice(i, i + CONNECTIONS).map(async (key) => {
      const response = await fetch(`${baseUrl}/api/v1/keys/current`, { headers: { authorization: `Bearer ${key}` } })
      await response.arrayBuffer()
      if (response.status !== 200) throw new Error(`pool key answered ${response.status} on /api/v1/keys/current`)
    }))
  }
}

/**
 * A warm-up (JIT, connection pools, caches), then the run that counts. The service's CPU time per
 * request is taken over the counted run only.
 */
async function measure(service: RunningService, label: string, load: Omit<LoadOptions, 'connections' | 'seconds'>, timing: { warmupSeconds: number; seconds: number }) {
  const warmup = await runLoad({ ...load, connections: CONNECTIONS, seconds: timing.warmupSeconds })
  const cpuBefore = service.cpuSeconds()
  const counted = await runLoad({ ...load, connections: CONNECTIONS, seconds: timing.seconds })
  const cpuAfter = service.cpuSeconds()
  const serviceCpuMsPerRequest = cpuBefore === null || cpuAfter === null || counted.requests === 0 ? null : ((cpuAfter - cpuBefore) * 1000) / counted.requests
  const result: RunResult = { ...counted, serviceCpuMsPerRequest }
  requestErrors += warmup.errors + result.errors
  log(`${label}: ${Math.round(result.rps)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, non-2xx ${result.non2xx}, errors ${result.errors}, service CPU ${serviceCpuMsPerRequest?.toFixed(3) ?? 'n/a'} ms/req, load avg ${os.loadavg()[0]!.toFixed(1)}`)
  return { warmup, result }
}

/** The sections `npm run bench` runs; BENCH_SECTIONS=contacts (comma-separated) runs only those. */
const SECTIONS = {
  'front-door': frontDoorBench,
  contacts: () => contactsBench(requestErrorCounter),
  calls: () => callsBench(requestErrorCounter),
} as const
type SectionName = keyof typeof SECTIONS

function chosenSections(): SectionName[] {
  const names = (process.env.BENCH_SECTIONS ?? Object.keys(SECTIONS).join(',')).split(',').map((name) => name.trim()).filter(Boolean)
  const unknown = names.filter((name) => !(name in SECTIONS))
  if (unknown.length > 0) throw new Error(`BENCH_SECTIONS: unknown section(s) ${unknown.join(', ')}; known: ${Object.keys(SECTIONS).join(', ')}`)
  return names as SectionName[]
}

const requestErrorCounter = { add: (count: number) => { requestErrors += count } }

async function main(): Promise<number> {
  const sections = chosenSections()
  log(`checking Redis at ${REDIS_URL}`)
  const redis = await redisVersion()
  const source = sourceState()
  log(`building (npm run build) at ${source.commit}${source.uncommittedFiles ? ` + ${source.uncommittedFiles} uncommitted file(s)` : ''}`)
  await buildService()
  for (const name of sections) {
    log(`--- section ${name}`)
    await SECTIONS[name]({ redis, source })
  }
  if (requestErrors > 0) {
    process.stderr.write(`FAILED: ${requestErrors} request(s) errored or timed out\n`)
    return 1
  }
  return 0
}

/** The front door: (a) /health against (b) an authenticated request, then 1k against 1M keys. */
async function frontDoorBench({ redis, source }: { redis: string; source: Summary['source'] }): Promise<void> {
  const databaseName = await recreateDatabase(DATABASE_URL)
  log(`recreated database ${databaseName}`)

  const handle = await openOperatorApp(DATABASE_URL, PEPPER, join(PROJECT_ROOT, '.data'))
  const sql = connect(DATABASE_URL)
  try {
    const [{ server_version: postgresVersion }] = await sql<[{ server_version: string }]>`show server_version`
    const cpus = os.cpus()
    const machine: Machine = {
      cpu: cpus[0]?.model.trim() ?? 'unknown',
      cores: cpus.length,
      node: process.version,
      platform: `${os.platform()} ${os.arch()}`,
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
      loadAverageAtStart: os.loadavg()[0] ?? 0,
      postgres: postgresVersion,
      redis,
    }

    const accounts = await createBenchAccounts(handle)
    const keyPool = await createKeyPool(handle, accounts.accountId, KEY_POOL_SIZE)
    log(`created the bench account and a pool of ${keyPool.length} keys`)
    const auth = { authorization: `Bearer ${accounts.key}` }
    const digest = keyDigest(PEPPER, accounts.key)
    const seeding: SeedResult[] = [await seedFillerKeys(sql, accounts.fillerAccountId, SMALL_KEYS)]
    log(`seeded to ${(await countKeys(sql)).toLocaleString('en-US')} keys`)

    // Two services at once, usage logging on and off (the idle one costs next to nothing), so the
    // rounds can interleave (a), (b) and (b) without usage logging: on a shared or virtual 2-core
    // machine the speed drifts by tens of percent within minutes, and a ratio of two runs taken
    // minutes apart would measure the drift. Each round's ratios compare neighbouring runs; the
    // targets are judged on the median round.
    const headline = await withService({}, (logged) => withService({ USAGE_LOG_ENABLED: 'false' }, async (unlogged) => {
      await preflight(logged.baseUrl, accounts.key)
      await preflight(unlogged.baseUrl, accounts.key)
      const rounds: HeadlineRound[] = []
      for (let round = 1; round <= ROUNDS; round++) {
        const runs = {
          health: () => measure(logged, `round ${round}/${ROUNDS} (a) GET /health`, { url: `${logged.baseUrl}/health` }, HEADLINE),
          currentKey: () => measure(logged, `round ${round}/${ROUNDS} (b) GET /api/v1/keys/current`, { url: `${logged.baseUrl}/api/v1/keys/current`, headers: auth }, HEADLINE),
          withoutUsageLog: () => measure(unlogged, `round ${round}/${ROUNDS} (b) without usage logging`, { url: `${unlogged.baseUrl}/api/v1/keys/current`, headers: auth }, HEADLINE),
        }
        const order = round % 2 === 1 ? (['health', 'currentKey', 'withoutUsageLog'] as const) : (['withoutUsageLog', 'currentKey', 'health'] as const)
        const measured: Partial<Record<keyof typeof runs, Awaited<ReturnType<typeof measure>>>> = {}
        for (const name of order) measured[name] = await runs[name]()
        const { health, currentKey, withoutUsageLog } = measured as Required<typeof measured>
        rounds.push({
          health: health.result,
          currentKey: currentKey.result,
          currentKeyWithoutUsageLog: withoutUsageLog.result,
          ratio: currentKey.result.rps / health.result.rps,
          usageLogRatio: currentKey.result.rps / withoutUsageLog.result.rps,
        })
        log(`round ${round}: b/a ${rounds.at(-1)!.ratio.toFixed(3)}, usage logging on/off ${rounds.at(-1)!.usageLogRatio.toFixed(3)}`)
      }
      return {
        rounds,
        ratio: median(rounds.map((round) => round.ratio)),
        usageLogRatio: median(rounds.map((round) => round.usageLogRatio)),
        currentKeyP99Ms: median(rounds.map((round) => round.currentKey.p99Ms)),
      }
    }))

    const scaling: ScalingRow[] = []
    const lookupPlans: Summary['lookupPlans'] = []
    // Key-count scaling on two databases at once, 1,000 and 1,000,000 keys, each with its own
    // bench account and key pool and its own service, the runs interleaved round by round for the
    // same reason as above: the comparison is between neighbouring runs, not minutes apart.
    log(`preparing ${largeDatabaseName(DATABASE_URL)} with ${LARGE_KEYS.toLocaleString('en-US')} keys`)
    const largeUrl = await recreateDatabase(largeDatabaseUrl(DATABASE_URL)).then(() => largeDatabaseUrl(DATABASE_URL))
    const largeHandle = await openOperatorApp(largeUrl, PEPPER, join(PROJECT_ROOT, '.data'))
    const largeSql = connect(largeUrl)
    try {
      const largeAccounts = await createBenchAccounts(largeHandle)
      const largePool = await createKeyPool(largeHandle, largeAccounts.accountId, KEY_POOL_SIZE)
      const seed = await seedFillerKeys(largeSql, largeAccounts.fillerAccountId, LARGE_KEYS)
      seeding.push(seed)
      log(`seeded ${seed.inserted.toLocaleString('en-US')} keys in ${seed.seconds.toFixed(1)} s (now ${(await countKeys(largeSql)).toLocaleString('en-US')})`)
      const sizes = [
        { keys: SMALL_KEYS, url: DATABASE_URL, sql, accounts, pool: keyPool },
        { keys: LARGE_KEYS, url: largeUrl, sql: largeSql, accounts: largeAccounts, pool: largePool },
      ]
      for (const size of sizes) lookupPlans.push({ keys: size.keys, plan: await explainLookup(size.sql, keyDigest(PEPPER, size.accounts.key)) })

      for (const cache of ['on', 'off'] as const) {
        // TTL 0 plus the rotating key pool makes every request a digest lookup in PostgreSQL: the
        // path that proves the index. The db lookups/req column checks that it really was one.
        const env: Record<string, string> = cache === 'off' ? { KEY_CACHE_TTL_MS: '0' } : {}
        const scansBefore = await Promise.all(sizes.map((size) => settledDigestIndexScans(size.sql)))
        const requests = sizes.map((size) => size.pool.length + 1)
        const rows: ScalingRow[][] = [[], []]
        await withService(env, (small) => withService(env, async (large) => {
          const services = [small, large]
          for (const [i, size] of sizes.entries()) {
            await preflight(services[i]!.baseUrl, size.accounts.key)
            await presentEveryKey(services[i]!.baseUrl, size.pool)
          }
          for (let round = 1; round <= SCALING_ROUNDS; round++) {
            for (const [i, size] of sizes.entries()) {
              const { warmup, result } = await measure(services[i]!, `round ${round}/${SCALING_ROUNDS} ${size.keys.toLocaleString('en-US')} keys, cache ${cache}`,
                { url: `${services[i]!.baseUrl}/api/v1/keys/current`, rotateBearerKeys: size.pool }, SCALING)
              requests[i]! += warmup.requests + result.requests
              rows[i]!.push({ keys: size.keys, cache, round, result, databaseLookupsPerRequest: 0 })
            }
          }
        }, largeUrl))
        for (const [i, size] of sizes.entries()) {
          const perRequest = ((await settledDigestIndexScans(size.sql)) - scansBefore[i]!) / requests[i]!
          for (const row of rows[i]!) scaling.push({ ...row, databaseLookupsPerRequest: perRequest })
        }
      }
    } finally {
      await largeSql.end({ timeout: 5 })
      await largeHandle.close()
    }

    const summary: Summary = {
      machine,
      source,
      settings: { rounds: ROUNDS, scalingRounds: SCALING_ROUNDS, connections: CONNECTIONS, keyPoolSize: KEY_POOL_SIZE, headlineSeconds: HEADLINE.seconds, headlineWarmupSeconds: HEADLINE.warmupSeconds, scalingSeconds: SCALING.seconds, scalingWarmupSeconds: SCALING.warmupSeconds },
      headline,
      scaling,
      lookupPlans,
      seeding,
      targets: targets(headline, scaling),
      serviceOutput,
      wallSeconds: elapsedSeconds(),
      finishedAt: new Date().toISOString(),
    }
    process.stdout.write(`${formatSummary(summary)}\n`)
    writeSummary(RESULTS_PATH, summary)
    process.stdout.write(`results: ${RESULTS_PATH}\n`)
  } finally {
    await sql.end({ timeout: 5 })
    await handle.close()
  }
}

function targets(headline: Summary['headline'], scaling: ScalingRow[]): Target[] {
  const uncached = (keys: number) => scaling.filter((row) => row.cache === 'off' && row.keys === keys).map((row) => row.result)
  const small = { p50Ms: median(uncached(SMALL_KEYS).map((run) => run.p50Ms)), p99Ms: median(uncached(SMALL_KEYS).map((run) => run.p99Ms)) }
  const large = { p50Ms: median(uncached(LARGE_KEYS).map((run) => run.p50Ms)), p99Ms: median(uncached(LARGE_KEYS).map((run) => run.p99Ms)) }
  const flatLimit = Math.max(small.p50Ms * FLAT_TOLERANCE.factor, small.p50Ms + FLAT_TOLERANCE.plusMs)
  const runs = [...headline.rounds.flatMap((round) => [round.health, round.currentKey, round.currentKeyWithoutUsageLog]), ...scaling.map((row) => row.result)]
  const non2xx = runs.reduce((sum, run) => sum + run.non2xx, 0)
  const each = (values: number[], digits: number) => values.map((value) => value.toFixed(digits)).join(', ')
  return [
    { name: `req/s ratio b/a ≥ ${TARGET_RATIO} (median round)`, pass: headline.ratio >= TARGET_RATIO, actual: `${headline.ratio.toFixed(3)} (rounds: ${each(headline.rounds.map((round) => round.ratio), 3)})` },
    { name: `p99 of (b) ≤ ${TARGET_P99_MS} ms (median round)`, pass: headline.currentKeyP99Ms <= TARGET_P99_MS, actual: `${headline.currentKeyP99Ms.toFixed(2)} ms (rounds: ${each(headline.rounds.map((round) => round.currentKey.p99Ms), 2)})` },
    {
      name: `usage logging costs ≤ ${Math.round((1 - USAGE_LOG_FLOOR) * 100)} % of (b) req/s (median round)`,
      pass: headline.usageLogRatio >= USAGE_LOG_FLOOR,
      actual: `on/off ${headline.usageLogRatio.toFixed(3)} (rounds: ${each(headline.rounds.map((round) => round.usageLogRatio), 3)})`,
    },
    { name: 'zero non-2xx responses (every run)', pass: non2xx === 0, actual: String(non2xx) },
    {
      name: `uncached lookup flat from ${SMALL_KEYS.toLocaleString('en-US')} to ${LARGE_KEYS.toLocaleString('en-US')} keys (median-round p50 within ${FLAT_TOLERANCE.factor}× or +${FLAT_TOLERANCE.plusMs} ms)`,
      pass: large.p50Ms <= flatLimit,
      actual: `p50 ${small.p50Ms.toFixed(2)} → ${large.p50Ms.toFixed(2)} ms, p99 ${small.p99Ms.toFixed(2)} → ${large.p99Ms.toFixed(2)} ms`,
    },
  ]
}

process.on('SIGINT', () => process.exit(130))

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  },
)
