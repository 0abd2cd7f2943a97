import { readFileSync, writeFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'

/** The embedded database is open in another live process: a refusal, not a failure (the CLI exits 2). */
export class DatabaseInUseError extends Error {
  override readonly name = 'DatabaseInUseError'
}

/**
 * PGlite is single-process: two processes opening one data folder corrupt it. A pid file guards
 * the folder; a lock left by a process that no longer exists is taken over.
 */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, 'voxpria.pid')
  try {
    writeFileSync(path, String(process.pid), { flag: 'wx', mode: 0o600 })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    const holder = Number(readFileSync(path, 'utf8').trim())
    if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
      throw new DatabaseInUseError(`the embedded database in ${dataDir} is in use by process ${holder}; stop it first (or set DATABASE_URL)`)
    }
    writeFileSync(path, String(process.pid), { mode: 0o600 })
  }
  return () => rmSync(path, { force: true })
}

/** Whether a process with this pid exists (EPERM: it does, it is only not ours to signal). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
