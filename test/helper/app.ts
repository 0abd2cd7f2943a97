import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import type { Clock } from '../../src/clock.js'
import type { NewAccountInput } from '../../src/accounts/service.js'
import { CLI_ACTOR } from '../../src/audit/record.js'
import { createDatabaseFromTemplate, pgliteTemplateBlob } from './template.js'

/** Minimal view of a tap Test that the helpers need (teardown). */
export interface TestLike {
  teardown(fn: () => unknown): void
}

/** Any full key-shaped string: the secret-hygiene check looks for these in captured logs. */
export const FULL_KEY_PATTERN = /vxp_[0-9A-Za-z]{49}/

export const TEST_PEPPER = 'test-pepper-0123456789abcdef0123456789abcdef'

export interface TestApp {
  app: FastifyInstance
  config: Config
  /** Every log line the app wrote, as serialised (after redaction). */
  logs: string[]
}

export interface TestAppOptions {
  /** A second instance on the first one's database (PostgreSQL only: PGlite is one process). */
  sharedWith?: TestApp
  clock?: Clock
  /** false: the app runs no background work, as the CLI builds it. */
  background?: boolean
}

/**
 * Builds the app exactly as the server does, on whatever the environment names: with DATABASE_URL
 * / REDIS_URL set (CI) a new PostgreSQL database copied from the migrated template and the shared
 * Redis; else an in-memory PGlite loaded from the template snapshot and the in-process limiter.
 * Every app has a database of its own (unless `sharedWith`), so tests never see each other's rows.
 * Failed-auth limiting is set high so tests sharing 127.0.0.1 do not throttle each other; tests of
 * that limiter lower it and use their own client address.
 */
export async function buildTestApp(t: TestLike, overrides: Partial<Config> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'voxpria-test-'))
  let databaseUrl = overrides.DATABASE_URL ?? options.sharedWith?.config.DATABASE_URL
  let dropDatabase: (() => Promise<void>) | undefined
  if (!databaseUrl && process.env.DATABASE_URL) {
    const created = await createDatabaseFromTemplate(process.env.DATABASE_URL)
    databaseUrl = created.url
    dropDatabase = created.drop
  }
  const config = loadConfig({ ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info' }, {
    DATA_DIR: dataDir,
    KEY_PEPPER: TEST_PEPPER,
    AUTH_FAILURES_PER_MINUTE: 100_000,
    // Jobs tick at most daily in tests; a test that needs one calls app.scheduler.runNow().
    ALERT_INTERVAL_SECONDS: 86_400,
    // Every test database has its own name, hence its own Redis namespace; sharing instances keep it.
    ...(options.sharedWith ? { REDIS_PREFIX: options.sharedWith.config.REDIS_PREFIX ?? options.sharedWith.app.redisPrefix } : {}),
    ...overrides,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  })
  const logs: string[] = []
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk))
      done()
    },
  })
  const app = await buildApp(config, {
    inMemoryDatabase: true,
    pgliteTemplate: config.DATABASE_URL ? undefined : await pgliteTemplateBlob(),
    logStream,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.background === false ? { background: false } : {}),
  })
  await app.ready()
  t.teardown(async () => {
    await app.close()
    await dropDatabase?.()
    rmSync(dataDir, { recursive: true, force: true })
    const leaked = logs.find((line) => FULL_KEY_PATTERN.test(line))
    if (leaked) throw new Error(`a full API key reached the logs: ${leaked.slice(0, 200)}`)
  })
  return { app, config, logs }
}

export interface TestAccount {
  accountId: string
  keyId: string
  key: string
}

let accountCounter = 0

/** Creates an account (and its all-scope first key) the way the CLI does. */
export async function createTestAccount(app: FastifyInstance, input: Partial<NewAccountInput> = {}): Promise<TestAccount> {
  const { account, key } = await app.services.accounts.createWithKey({
    name: input.name ?? `Test account ${++accountCounter}`,
    plan: input.plan ?? 'professional',
    hourlyLimit: input.hourlyLimit,
    burstLimit: input.burstLimit,
  }, CLI_ACTOR)
  return { accountId: account.id, keyId: key.id, key: key.key }
}

export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` }
}

/** inject with a key, JSON body, and a client address (default 127.0.0.1). */
export function call(app: FastifyInstance, options: InjectOptions & { key?: string }): Promise<LightMyRequestResponse> {
  const { key, headers, ...rest } = options
  return app.inject({ ...rest, headers: { ...(key ? bearer(key) : {}), ...headers } })
}

/** A random documentation-range-free address, so limiter tests do not share a client bucket. */
export function randomClientIp(): string {
  const octet = () => Math.floor(Math.random() * 250) + 1
  return `10.${octet()}.${octet()}.${octet()}`
}
