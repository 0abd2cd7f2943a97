import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'

/** The committed contract, at the project root. */
export const OPENAPI_PATH = fileURLToPath(new URL('../openapi.yaml', import.meta.url))

/** Only used to build the app; nothing is ever hashed with it. */
const THROWAWAY_PEPPER = 'openapi-generation-pepper-not-a-secret-0000'

/**
 * The OpenAPI document as YAML, generated from the route schemas. The app is built on a
 * throwaway in-memory database and the in-process limiter whatever the environment says, so the
 * output is the same on every machine and never touches a real Postgres or Redis.
 */
export async function generateOpenApiYaml(): Promise<string> {
  const { DATABASE_URL: _database, REDIS_URL: _redis, PUBLIC_BASE_URL: _public, ...env } = process.env
  const dataDir = mkdtempSync(join(tmpdir(), 'voxpria-openapi-'))
  try {
    const config = loadConfig(env, { DATA_DIR: dataDir, KEY_PEPPER: THROWAWAY_PEPPER, LOG_LEVEL: 'silent' })
    const app = await buildApp(config, { inMemoryDatabase: true })
    try {
      await app.ready()
      return app.swagger({ yaml: true })
    } finally {
      await app.close()
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}
