import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from '../config.js'

const PEPPER_FILE = 'key-pepper'

/**
 * The HMAC pepper: KEY_PEPPER when set (required in production); otherwise generated once into
 * the data folder with mode 0600 and reused, so the server and the CLI digest keys alike.
 */
export function resolvePepper(config: Pick<Config, 'KEY_PEPPER' | 'DATA_DIR'>): string {
  if (config.KEY_PEPPER) return config.KEY_PEPPER
  mkdirSync(config.DATA_DIR, { recursive: true, mode: 0o700 })
  const path = join(config.DATA_DIR, PEPPER_FILE)
  try {
    return readFileSync(path, 'utf8').trim()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const pepper = randomBytes(32).toString('base64url')
  try {
    // 'wx' fails if another process created the file first; then we read theirs.
    writeFileSync(path, `${pepper}\n`, { mode: 0o600, flag: 'wx' })
    chmodSync(path, 0o600)
    return pepper
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    return readFileSync(path, 'utf8').trim()
  }
}
