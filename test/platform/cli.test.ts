import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { PROJECT_ROOT } from '../../src/paths.js'
import { ENTERPRISE_DEFAULT_LIMITS } from '../../src/plans.js'
import { SCOPES } from '../../src/scopes.js'
import { CLI_ACTOR } from '../../src/audit/record.js'
import { and, eq } from 'drizzle-orm'
import { apiKeys, auditLog } from '../../src/db/schema/index.js'
import { FULL_KEY_PATTERN, TEST_PEPPER, call } from '../helper/app.js'
import { typescriptLoaderArgs } from '../helper/process.js'

/**
 * The operator CLI, run as operators run it: a child process on the same database and pepper as
 * an app built here. On the embedded default that is a PGlite folder, which one process at a time
 * may open, so the in-process app is only ever open while no CLI process runs. Every PGlite boot
 * costs seconds: the flow below chains its checks through as few processes as it can.
 */

// Each CLI process boots the app (and PGlite) afresh: seconds apiece, more on a loaded machine.
// ~35 of them took 191-194 s in CI on a slow day (2026-12-03), too near the 300 s this was: the
// timeout is for a hung process, not a slow machine.
t.setTimeout(600_000)

const dataDir = mkdtempSync(join(tmpdir(), 'voxpria-cli-'))
t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))

/** A subtest's `t` (tap's last `test(cb)` overload names its type). */
type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

function runCli(args: string[], env: Record<string, string> = {}, dir = dataDir): Promise<CliResult> {
  // DATABASE_URL / REDIS_URL pass through when the run has them (CI), else the CLI uses PGlite in
  // `dir` and the in-process limiter. LOG_LEVEL is the CLI's own default unless a check sets it.
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'test', KEY_PEPPER: TEST_PEPPER, DATA_DIR: dir, ...env }
  if (!env.LOG_LEVEL) delete childEnv.LOG_LEVEL
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...typescriptLoaderArgs(), 'src/cli.ts', ...args], { cwd: PROJECT_ROOT, env: childEnv })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => { stdout += chunk })
    child.stderr.on('data', (chunk) => { stderr += chunk })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Succeeded, and kept to the output contract: nothing key-shaped on stderr. */
function assertOk(t: Tap, result: CliResult, what: string): void {
  t.equal(result.code, 0, `${what} exits 0 (stderr: ${result.stderr.slice(0, 300)})`)
  t.notMatch(result.stderr, FULL_KEY_PATTERN, `${what}: no key on stderr`)
}

/** With --json, stdout is exactly one line of JSON. */
function parseJsonLine(t: Tap, result: CliResult) {
  t.equal(result.stdout.split('\n').filter(Boolean).length, 1, 'one line on stdout')
  return JSON.parse(result.stdout)
}

/** Refused: exit 2, nothing on stdout, exactly one `error:` line on stderr. */
function assertRefused(t: Tap, result: CliResult, message: RegExp): void {
  t.equal(result.code, 2, `exit 2 (stderr: ${result.stderr.slice(0, 300)})`)
  t.equal(result.stdout, '')
  const lines = result.stderr.split('\n').filter(Boolean)
  t.equal(lines.length, 1, 'exactly one stderr line')
  t.match(lines[0], /^error: /)
  t.match(lines[0], message)
  t.notMatch(result.stderr, /\n\s+at /, 'no stack trace')
}

/** Builds the app the server would run on the CLI's database and pepper, then closes it. */
async function withApp<T>(t: Tap, check: (app: FastifyInstance) => Promise<T>): Promise<T> {
  const logs: string[] = []
  const config = loadConfig({ ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info' }, {
    DATA_DIR: dataDir, KEY_PEPPER: TEST_PEPPER, AUTH_FAILURES_PER_MINUTE: 100_000,
  })
  const logStream = new Writable({ write(chunk, _encoding, done) { logs.push(String(chunk)); done() } })
  const app = await buildApp(config, { inMemoryDatabase: false, logStream })
  try {
    await app.ready()
    return await check(app)
  } finally {
    await app.close()
    t.notMatch(logs.join(''), FULL_KEY_PATTERN, 'no key in the app logs')
  }
}

const balance = (app: FastifyInstance, key: string, remoteAddress?: string) =>
  call(app, { url: '/api/v1/credits/balance', key, ...(remoteAddress ? { remoteAddress } : {}) })

t.test('help, bad arguments and migrate need no shared database', async (t) => {
  const migrateDir = mkdtempSync(join(tmpdir(), 'voxpria-cli-migrate-'))
  t.teardown(() => rmSync(migrateDir, { recursive: true, force: true }))
  const unknownAccount = 'acct_0000000000000000000000'
  // No database is opened for these, so they can run side by side (migrate uses its own folder).
  const [help, plan, scope, command, cidr, flag, limits, migrate] = await Promise.all([
    runCli(['--help']),
    runCli(['accounts', 'create', '--name', 'Gold', '--plan', 'gold']),
    runCli(['keys', 'create', '--account', 'acct_x', '--scopes', 'nope']),
    runCli(['frobnicate']),
    runCli(['keys', 'create', '--account', unknownAccount, '--scopes', 'calls:read', '--ip-allowlist', '10.0.0.0/8,10.0.0.7/24']),
    runCli(['keys', 'list', '--acount', unknownAccount]),
    runCli(['accounts', 'update', unknownAccount, '--default-limits', '--hourly-limit', '5000']),
    runCli(['migrate'], {}, migrateDir),
  ])

  t.equal(help.code, 0)
  t.equal(help.stderr, '')
  t.match(help.stdout, /^Usage: npm run --silent cli -- <command>/)
  for (const command of ['migrate', 'accounts create', 'accounts list', 'accounts update ID', 'credits grant', 'keys create', 'keys list', 'keys revoke ID', 'keys rotate ID']) {
    t.ok(help.stdout.includes(`  ${command}`), `help names ${command}`)
  }

  assertRefused(t, plan, /unknown plan "gold"/)
  assertRefused(t, scope, /unknown scope "nope"/)
  assertRefused(t, command, /unknown command "frobnicate"/)
  assertRefused(t, cidr, /"10\.0\.0\.7\/24" is not an IPv4\/IPv6 address or CIDR/)
  assertRefused(t, flag, /Unknown option '--acount'/)
  assertRefused(t, limits, /--default-limits clears custom limits; it cannot be combined with --hourly-limit/)
  if (!process.env.DATABASE_URL) t.notOk(existsSync(join(dataDir, 'pg')), 'refused before any database was opened')

  assertOk(t, migrate, 'migrate')
  t.equal(migrate.stdout, 'migrations applied\n')
  if (!process.env.DATABASE_URL) t.ok(existsSync(join(migrateDir, 'pg', 'PG_VERSION')), 'PGlite folder created in DATA_DIR/pg')
})

t.test('accounts and keys made by the CLI work for the server', async (t) => {
  // At LOG_LEVEL=info the app logs: they must land on stderr, leaving stdout one JSON line.
  const created = await runCli(['accounts', 'create', '--name', 'Acme Voice', '--plan', 'free_trial', '--json'], { LOG_LEVEL: 'info' })
  assertOk(t, created, 'accounts create')
  t.match(created.stderr, /database ready/, 'logs go to stderr')
  const { account, key: first } = parseJsonLine(t, created)
  t.match(account, { id: /^acct_[0-9A-Za-z]{22}$/, name: 'Acme Voice', plan: 'free_trial', limits: { requests_per_hour: 1000, burst_per_minute: 100 } })
  t.match(first, { id: /^key_/, key: /^vxp_[0-9A-Za-z]{49}$/, created_by: 'cli', status: 'active' })
  t.same(first.scopes, [...SCOPES])
  t.equal(first.scopes.length, 13)

  const restricted = await runCli([
    'keys', 'create', '--account', account.id, '--scopes', 'credits:read', '--name', 'Billing reader',
    '--ip-allowlist', '127.0.0.0/8, ::1', '--expires-at', '2099-01-01T00:00:00Z', '--json',
  ])
  assertOk(t, restricted, 'keys create')
  const reader = parseJsonLine(t, restricted)
  t.match(reader, { id: /^key_/, name: 'Billing reader', key: /^vxp_[0-9A-Za-z]{49}$/, expires_at: '2099-01-01T00:00:00.000Z' })
  t.same(reader.scopes, ['credits:read'], 'exactly the scope asked for')
  t.same(reader.ip_allowlist, ['127.0.0.0/8', '::1/128'], 'allowlist stored canonical')

  await withApp(t, async (app) => {
    const byFirst = await balance(app, first.key)
    t.equal(byFirst.statusCode, 200, 'the account key authenticates')
    t.equal(byFirst.json().balance, 1000, 'free trial grant')

    const byReader = await balance(app, reader.key)
    t.equal(byReader.statusCode, 200)
    t.equal(byReader.json().balance, 1000)
    const current = await call(app, { url: '/api/v1/keys/current', key: reader.key })
    t.same(current.json().key.scopes, ['credits:read'])
    const manage = await call(app, { url: '/api/v1/keys', key: reader.key })
    t.equal(manage.statusCode, 403)
    t.equal(manage.json().code, 'insufficient_scope')
    const outside = await balance(app, reader.key, '10.9.8.7')
    t.equal(outside.statusCode, 403)
    t.equal(outside.json().code, 'ip_not_allowed')
  })

  const rotated = await runCli(['keys', 'rotate', first.id, '--expire-old-in-seconds', '0', '--json'])
  assertOk(t, rotated, 'keys rotate')
  const successor = parseJsonLine(t, rotated)
  t.match(successor, { id: /^key_/, key: /^vxp_[0-9A-Za-z]{49}$/, rotated_from: first.id })
  t.not(successor.id, first.id)
  t.not(successor.key, first.key)
  t.same(successor.scopes, [...SCOPES], 'successor keeps the scopes')
  t.equal(successor.previous_key.id, first.id)
  t.equal(successor.previous_key.replaced_by, successor.id)
  t.ok(Date.parse(successor.previous_key.expires_at) <= Date.now(), '0 seconds: the old key stops at once')

  const revoked = await runCli(['keys', 'revoke', reader.id])
  assertOk(t, revoked, 'keys revoke')
  t.match(revoked.stdout, new RegExp(`^Revoked key ${reader.id} of account ${account.id}`))
  t.notMatch(revoked.stdout, FULL_KEY_PATTERN, 'revoke prints no secret')

  const listed = await runCli(['keys', 'list', '--account', account.id])
  assertOk(t, listed, 'keys list')
  t.notMatch(listed.stdout, FULL_KEY_PATTERN, 'list prints no secret')
  const rows = listed.stdout.trim().split('\n')
  t.equal(rows.length, 4, 'a header and three keys')
  t.match(rows[0], /^ID\s+NAME\s+KEY\s+STATUS/)
  for (const [id, status] of [[successor.id, 'active'], [first.id, 'expired'], [reader.id, 'revoked']]) {
    const row = rows.find((line) => line.startsWith(id))
    t.ok(row, `${id} listed`)
    t.match(row, new RegExp(`\\s${status}\\s`), `${id} is ${status}`)
  }

  const enterprise = await runCli(['accounts', 'create', '--name', 'Big Co', '--plan', 'enterprise', '--hourly-limit', '50000', '--burst-limit', '5000', '--call-rate', '6', '--concurrent-calls', '40', '--json'])
  assertOk(t, enterprise, 'accounts create enterprise')
  const big = parseJsonLine(t, enterprise)
  t.match(big.account, { plan: 'enterprise', limits: { requests_per_hour: 50000, burst_per_minute: 5000 }, calls: { rate_cents_per_minute: 6, concurrent_calls: 40 } })
  const rated = await runCli(['accounts', 'update', big.account.id, '--call-rate', '7', '--json'])
  assertOk(t, rated, 'accounts update --call-rate')
  t.match(parseJsonLine(t, rated), { calls: { rate_cents_per_minute: 7, concurrent_calls: 40 } }, 'the rate changes, the rest stays')

  await withApp(t, async (app) => {
    const bySuccessor = await balance(app, successor.key)
    t.equal(bySuccessor.statusCode, 200, 'the rotated key works')
    t.equal(bySuccessor.json().balance, 1000)

    const byOld = await balance(app, first.key)
    t.equal(byOld.statusCode, 401)
    t.equal(byOld.json().code, 'expired_api_key')

    const byRevoked = await balance(app, reader.key)
    t.equal(byRevoked.statusCode, 401)
    t.equal(byRevoked.json().code, 'revoked_api_key')

    const current = await call(app, { url: '/api/v1/keys/current', key: big.key.key })
    t.equal(current.statusCode, 200)
    t.same(current.json().limits, { requests_per_hour: 50000, burst_per_minute: 5000 }, 'custom limits are what the server enforces')
    t.match(current.headers['ratelimit-policy'], /q=50000/)
    t.match(current.headers['ratelimit-policy'], /q=5000;w=60/)
  })

  const defaults = await runCli(['accounts', 'update', big.account.id, '--default-limits', '--json'])
  assertOk(t, defaults, 'accounts update --default-limits')
  t.match(parseJsonLine(t, defaults), {
    id: big.account.id, plan: 'enterprise', limits: { requests_per_hour: ENTERPRISE_DEFAULT_LIMITS.hourly, burst_per_minute: ENTERPRISE_DEFAULT_LIMITS.burst },
    calls: { rate_cents_per_minute: 8, concurrent_calls: 100 },
  }, 'custom enterprise limits and call settings cleared back to the defaults')

  const updated = await runCli(['accounts', 'update', big.account.id, '--plan', 'professional', '--name', 'Big Co Ltd', '--json'])
  assertOk(t, updated, 'accounts update')
  t.match(parseJsonLine(t, updated), {
    id: big.account.id, name: 'Big Co Ltd', plan: 'professional', limits: { requests_per_hour: 25000, burst_per_minute: 2500 },
  })

  const unknownKey = await runCli(['keys', 'revoke', 'key_0000000000000000000000'])
  assertRefused(t, unknownKey, /No API key key_0000000000000000000000/)
})

t.test('a running instance sharing Redis hears CLI changes at once', { skip: !(process.env.DATABASE_URL && process.env.REDIS_URL) && 'needs DATABASE_URL and REDIS_URL' }, async (t) => {
  await withApp(t, async (app) => {
    const { account, key } = await app.services.accounts.createWithKey({ name: 'Cached', plan: 'starter' }, CLI_ACTOR)
    /** Polls the running app until the change shows; the key's cache entry would outlive the test. */
    const eventually = async (request: () => Promise<boolean>) => {
      const deadline = Date.now() + 5_000
      while (!(await request())) {
        if (Date.now() > deadline) return false
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      return true
    }
    const policy = async () => (await balance(app, key.key)).headers['ratelimit-policy']
    t.match(await policy(), /q=5000;w=3600/, 'starter limits, now cached')

    assertOk(t, await runCli(['accounts', 'update', account.id, '--plan', 'enterprise', '--hourly-limit', '60000', '--burst-limit', '6000']), 'accounts update')
    t.ok(await eventually(async () => /q=60000;w=3600/.test(String(await policy()))), 'new limits apply without a restart')

    assertOk(t, await runCli(['keys', 'revoke', key.id]), 'keys revoke')
    t.ok(await eventually(async () => (await balance(app, key.key)).statusCode === 401), 'revoked key refused without a restart')
    t.equal((await balance(app, key.key)).json().code, 'revoked_api_key')
  })
})

t.test('credits grant, accounts list, a second revoke, and output escaped for the terminal', async (t) => {
  const { account, keyId, evilId } = await withApp(t, async (app) => {
    const created = await app.services.accounts.createWithKey({ name: 'Grant Me', plan: 'starter' }, CLI_ACTOR)
    const evil = await app.services.keys.create(created.account.id, { name: 'placeholder', scopes: ['calls:read'] }, CLI_ACTOR)
    // The API refuses such a name now; a row from before (or written by hand) must still print safely.
    await app.database.db.update(apiKeys).set({ name: 'evil\u001b[31m\nFAKE ROW\u202e' }).where(eq(apiKeys.id, evil.id))
    return { account: created.account, keyId: created.key.id, evilId: evil.id }
  })

  const listed = await runCli(['keys', 'list', '--account', account.id])
  assertOk(t, listed, 'keys list')
  t.notMatch(listed.stdout, /[\u001b\u202e]/, 'no escape or bidi character reaches the terminal')
  t.match(listed.stdout, /evil\\u\{001b\}\[31m\\u\{000a\}FAKE ROW\\u\{202e\}/, 'they are shown, escaped')
  t.equal(listed.stdout.trim().split('\n').length, 3, 'a header and two rows: no fake line')

  const granted = await runCli(['credits', 'grant', '--account', account.id, '--amount', '2500', '--description', 'Pilot credit', '--json'])
  assertOk(t, granted, 'credits grant')
  t.match(parseJsonLine(t, granted), { type: 'grant', amount: 2500, balance_after: 2500, description: 'Pilot credit', id: /^ctx_/ })
  const text = await runCli(['credits', 'grant', '--account', account.id, '--amount', '1', '--description', 'One more cent'])
  assertOk(t, text, 'credits grant (text)')
  t.match(text.stdout, /^Granted \$0\.01 to account acct_\w+ \("One more cent"\); balance now \$25\.01 \(ctx_\w+\)\n$/)
  assertRefused(t, await runCli(['credits', 'grant', '--account', account.id, '--amount', '0', '--description', 'x']), /--amount must be an integer from 1/)
  assertRefused(t, await runCli(['credits', 'grant', '--account', account.id, '--amount', '5', '--description', 'bad\u001b[2J']), /--description may not contain control/)
  assertRefused(t, await runCli(['credits', 'grant', '--account', 'acct_0000000000000000000000', '--amount', '5', '--description', 'x']), /No account acct_0000000000000000000000/)

  const accounts = await runCli(['accounts', 'list', '--json'])
  assertOk(t, accounts, 'accounts list')
  t.match(parseJsonLine(t, accounts).data.find((entry: { id: string }) => entry.id === account.id), { name: 'Grant Me', plan: 'starter', credit_balance: 2501 })
  const table = await runCli(['accounts', 'list'])
  assertOk(t, table, 'accounts list (text)')
  t.match(table.stdout, new RegExp(`^ID\\s+NAME\\s+PLAN\\s+BALANCE[\\s\\S]*${account.id}\\s+Grant Me\\s+starter\\s+\\$25\\.01`))

  await withApp(t, async (app) => {
    const balance = await call(app, { url: '/api/v1/credits/balance', key: (await app.services.keys.create(account.id, { name: 'reader', scopes: ['credits:read'] }, CLI_ACTOR)).key })
    t.equal(balance.json().balance, 2501, 'the server sees the granted credit')
    const audit = await app.database.db.select().from(auditLog).where(and(eq(auditLog.accountId, account.id), eq(auditLog.action, 'credits.granted')))
    t.equal(audit.length, 2, 'each grant is audited')
    t.match(audit[0], { actor: 'cli', targetType: 'account', targetId: account.id })
  })

  assertOk(t, await runCli(['keys', 'revoke', evilId]), 'first revoke')
  const again = await runCli(['keys', 'revoke', evilId])
  assertOk(t, again, 'second revoke')
  t.match(again.stdout, new RegExp(`^Key ${evilId} of account ${account.id} was already revoked at \\S+; nothing changed`))
  void keyId
})

t.test('a command refused because the embedded database is in use exits 2 like every refusal', { skip: !!process.env.DATABASE_URL && 'PGlite only: PostgreSQL takes many processes' }, async (t) => {
  await withApp(t, async () => {
    assertRefused(t, await runCli(['accounts', 'list']), /embedded database .* is in use by process \d+; stop it first/)
  })
})
