import { recreateDatabase, siblingDatabaseUrl } from './database.js'
import { formatDuration, writeSummary } from './report.js'
import { startService, type RunningService } from './server-process.js'

/** What every bench section shares: where the services live, the pepper, the log, the services' output. */
export const DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/voxpria_bench'
export const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379'
/** Fixed so the bench process and the service digest keys alike. Guards bench data only. */
export const PEPPER = 'voxpria-bench-pepper-fixed-not-a-production-secret'
export const QUICK = process.env.BENCH_QUICK === '1'

const started = performance.now()
export const elapsedSeconds = () => (performance.now() - started) / 1000
export const log = (message: string) => process.stdout.write(`[${formatDuration(elapsedSeconds()).padStart(12)}] ${message}\n`)

/** What the services wrote (warn and above) in any section, printed with the results. */
export const serviceOutput: string[] = []

/** Runs the service for the duration of `work`, stopping it whatever happens. */
export async function withService<T>(env: Record<string, string>, work: (service: RunningService) => Promise<T>, databaseUrl = DATABASE_URL): Promise<T> {
  const service = await startService({ databaseUrl, redisUrl: REDIS_URL, pepper: PEPPER, env })
  try {
    return await work(service)
  } finally {
    await service.stop()
    const output = service.output()
    if (output) serviceOutput.push(output)
  }
}

/** A section's own database (DATABASE_URL's name + `_suffix`), dropped and recreated; its URL. */
export async function sectionDatabase(suffix: string): Promise<string> {
  const databaseUrl = siblingDatabaseUrl(DATABASE_URL, suffix)
  log(`recreated database ${await recreateDatabase(databaseUrl)}`)
  return databaseUrl
}

/**
 * A section's end: its report, what the services wrote since `outputBefore` (an index into
 * serviceOutput), and the summary as JSON at `resultsPath`.
 */
export function reportSection(report: string, summary: object, resultsPath: string, outputBefore: number): void {
  process.stdout.write(`${report}\n`)
  for (const output of serviceOutput.slice(outputBefore)) process.stdout.write(`\nservice output during the run (warn and above):\n${output}\n`)
  writeSummary(resultsPath, summary)
  process.stdout.write(`results: ${resultsPath}\n`)
}
