import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { PROJECT_ROOT } from '../../src/paths.js'

export interface RunningProcess {
  child: ChildProcessWithoutNullStreams
  stdout: () => string
  stderr: () => string
  /** Resolves with the exit code. */
  exited: Promise<number | null>
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
}

/**
 * The tests' TypeScript loader (test/loader, the one tap runs the tests under), for the processes
 * the tests start too: tap merges their coverage with the tests' file by file, and coverage of two
 * different transforms of one file cannot be merged.
 */
const TEST_LOADER = new URL('../loader/register.mjs', import.meta.url).href

/** Node arguments that load the project's TypeScript in a child process. */
export function typescriptLoaderArgs(): string[] {
  return ['--enable-source-maps', '--import', TEST_LOADER]
}

/** Runs one of the project's TypeScript entry points the way `npm start`/`npm run cli` would. */
export function runEntryPoint(entry: string, args: string[], env: Record<string, string | undefined>): RunningProcess {
  const child = spawn(process.execPath, [...typescriptLoaderArgs(), entry, ...args], {
    cwd: PROJECT_ROOT,
    env: Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined)) as NodeJS.ProcessEnv,
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { err += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const deadline = setTimeout(() => { clearInterval(poll); reject(new Error(`timed out waiting for ${pattern}; stdout: ${out.slice(-500)} stderr: ${err.slice(-500)}`)) }, timeoutMs)
        const poll = setInterval(() => {
          const match = out.match(pattern)
          if (match) { clearInterval(poll); clearTimeout(deadline); resolve(match) }
        }, 50)
      })
    },
  }
}
