import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { PROJECT_ROOT } from '../src/paths.js'

/** Output kept from a child, so a failure can show why without flooding the terminal. */
const OUTPUT_TAIL_CHARS = 16_000
const HEALTH_DEADLINE_MS = 30_000
const STOP_GRACE_MS = 15_000

/** Every service still running; killed on any exit path so a crashed bench leaves nothing behind. */
const running = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

export interface ServiceSettings {
  databaseUrl: string
  redisUrl: string
  pepper: string
  /** Extra variables for this start only (e.g. KEY_CACHE_TTL_MS=0). */
  env?: Record<string, string>
  /** Node flags for the service, e.g. ['--cpu-prof'] to profile it under the bench's load. */
  nodeArgs?: string[]
}

export interface RunningService {
  baseUrl: string
  pid: number
  /** What the service wrote (warn and above): anything here during a run deserves a look. */
  output(): string
  /** CPU seconds (user + system) the service has used so far; null where /proc is unavailable. */
  cpuSeconds(): number | null
  stop(): Promise<void>
}

/** Runs `npm run build`: the bench measures the compiled service, as production runs it. */
export async function buildService(): Promise<void> {
  const child = spawn('npm', ['run', '--silent', 'build'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  const output = collectOutput(child)
  const [code] = (await once(child, 'exit')) as [number | null]
  if (code !== 0) throw new Error(`npm run build failed (exit ${code}):\n${output()}`)
}

/** Asks the kernel for a free port; the tiny race until the service binds it is acceptable here. */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  await once(server, 'close')
  return port
}

/**
 * Starts `node dist/src/server.js` as its own process (the bench's load generator must not share
 * its event loop) and resolves once /health answers 200. The environment is built from scratch
 * rather than inherited, so a developer's shell (NODE_ENV, KEY_CACHE_TTL_MS, …) cannot skew a run.
 */
export async function startService(settings: ServiceSettings): Promise<RunningService> {
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, [...(settings.nodeArgs ?? []), 'dist/src/server.js'], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      DATABASE_URL: settings.databaseUrl,
      REDIS_URL: settings.redisUrl,
      KEY_PEPPER: settings.pepper,
      HOST: '127.0.0.1',
      PORT: String(port),
      // warn: a log line per request would measure pino, not the request pipeline.
      LOG_LEVEL: 'warn',
      ...settings.env,
    },
  })
  running.add(child)
  const output = collectOutput(child)
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null
  const exited = once(child, 'exit').then(([code, signal]) => {
    exit = { code: code as number | null, signal: signal as NodeJS.Signals | null }
    running.delete(child)
  })

  const stop = async () => {
    if (exit) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
    await exited
    clearTimeout(timer)
  }

  const deadline = Date.now() + HEALTH_DEADLINE_MS
  while (Date.now() < deadline) {
    if (exit) {
      const { code, signal } = exit as { code: number | null; signal: NodeJS.Signals | null }
      throw new Error(`the service exited (code ${code}, signal ${signal}) before /health answered:\n${output()}`)
    }
    try {
      const response = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1_000) })
      await response.arrayBuffer()
      if (response.ok) return { baseUrl, pid: child.pid!, output: () => output(''), cpuSeconds: () => processCpuSeconds(child.pid!), stop }
    } catch {
      // Not listening yet.
    }
    await sleep(100)
  }
  await stop()
  throw new Error(`the service did not answer /health within ${HEALTH_DEADLINE_MS / 1000} s:\n${output()}`)
}

let clockTicks: number | undefined

/**
 * From /proc/<pid>/stat (Linux). CPU time per request barely moves when other processes compete
 * for the cores, unlike requests per second, so it is the steadier figure on a shared machine.
 */
function processCpuSeconds(pid: number): number | null {
  try {
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    return (Number(fields[11]) + Number(fields[12])) / clockTicks
  } catch {
    return null
  }
}

function collectOutput(child: ChildProcess): (whenEmpty?: string) => string {
  let text = ''
  const append = (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS)
  }
  child.stdout?.on('data', append)
  child.stderr?.on('data', append)
  return (whenEmpty = '(no output)') => text.trim() || whenEmpty
}
