/**
 * The operator CLI: `npm run --silent cli -- <command> …` (see USAGE). For operators with database
 * access; it builds the app exactly as the server does (no listening socket) and calls the same
 * services, so what it creates is audited (actor `cli`) and works for the server at once.
 *
 * Output contract: stdout carries only the command's result (text, or one JSON line with --json);
 * log lines go to stderr, at LOG_LEVEL or `error` by default; a failure is one `error: …` line on
 * stderr, never a stack trace. Exit 0 on success, 2 on bad arguments or a refused operation
 * (unknown id, plan rules, bad configuration), 1 on anything unexpected. A secret appears on stdout
 * only, and only from the commands that issue one (account and key creation, rotation).
 *
 * On the embedded default (no DATABASE_URL) the CLI opens the PGlite folder DATA_DIR/pg and the
 * pepper DATA_DIR/key-pepper, as the server does, so keys it creates work for the server. PGlite
 * is single-process: stop the server before running the CLI there, and start it again afterwards.
 */
import { parseArgs } from 'node:util'
import type { FastifyInstance } from 'fastify'
import { ConfigError, loadConfig } from './config.js'
import { ApiError } from './errors.js'
import { ENTERPRISE_DEFAULT_LIMITS, PLANS, isPlan, type Plan } from './plans.js'
import { SCOPES, isScope, type Scope } from './scopes.js'
import { MAX_ALLOWLIST_ENTRIES, validateAllowlist } from './cidr.js'
import { ID_PREFIXES, idPattern, type IdKind } from './ids.js'
import { redactKeys } from './logger.js'
import { CLI_ACTOR } from './services/audit.js'
import { createAccountWithKey, getAccount, presentAccount, updateAccount, type AccountPatch } from './services/accounts.js'
import {
  DEFAULT_ROTATION_OVERLAP_SECONDS, MAX_ROTATION_OVERLAP_SECONDS, findAccountIdOfKey, type PublicKey,
} from './services/keys.js'

/** Joins items with ", ", breaking lines before `width` and indenting the continuation lines. */
function wrap(items: readonly string[], indent: string, width = 96): string {
  const lines = ['']
  for (const item of items) {
    const line = lines.at(-1)!
    if (line && indent.length + line.length + item.length + 2 > width) lines.push(item)
    else lines[lines.length - 1] = line ? `${line}, ${item}` : item
  }
  return lines.join(`,\n${indent}`)
}

const USAGE = `Usage: npm run --silent cli -- <command> [options]

Operator commands for the VoxPria API. They use the server's database and key pepper
(DATABASE_URL, or the embedded PGlite folder DATA_DIR; KEY_PEPPER, or DATA_DIR/key-pepper).
PGlite allows one process at a time: on the embedded default, stop the server first.

Commands:
  migrate
      Apply pending database migrations.
  accounts create --name NAME --plan PLAN [--hourly-limit N --burst-limit N] [--json]
      Create an account and its first API key (all 13 scopes). The key is shown once.
  accounts update ID [--name NAME] [--plan PLAN] [--hourly-limit N] [--burst-limit N] [--default-limits] [--json]
      Change an account's name, plan or enterprise limits.
  keys create --account ID --scopes SCOPE[,SCOPE...] [--name NAME]
              [--ip-allowlist CIDR[,CIDR...]] [--expires-at ISO-8601] [--json]
      Create an API key (default name "CLI key"). The key is shown once.
  keys list --account ID [--json]
      List an account's keys. Secrets are never shown.
  keys revoke ID [--json]
      Revoke a key at once.
  keys rotate ID [--expire-old-in-seconds N] [--json]
      Issue a successor with the same name, scopes and allowlist; the old key keeps working
      for N seconds (default ${DEFAULT_ROTATION_OVERLAP_SECONDS}, at most ${MAX_ROTATION_OVERLAP_SECONDS}, 0 = stops now). The new key is shown once.

Plans:  ${PLANS.join(', ')}
        (--hourly-limit and --burst-limit apply to enterprise only; --default-limits returns an
        enterprise account to ${ENTERPRISE_DEFAULT_LIMITS.hourly}/hour and ${ENTERPRISE_DEFAULT_LIMITS.burst}/minute)
Scopes: ${wrap(SCOPES, '        ')}

Options:
  --json      print the result as one line of JSON
  -h, --help  show this help

Exit status: 0 done, 2 bad arguments or refused (e.g. unknown id), 1 unexpected failure.
`

/** A mistake in the command line: one `error:` line and exit 2, before any database is opened. */
class UsageError extends Error {
  override readonly name = 'UsageError'
}

type OptionSpec = Record<string, { type: 'string' | 'boolean' }>
type Values = Record<string, string | boolean | undefined>

/** What a command prints: the JSON value for --json, else the text for a person. */
interface Output {
  json: unknown
  text: string
}

/** A command whose arguments are valid: all that is left is to run it against the app. */
type Runner = (app: FastifyInstance) => Promise<Output>

interface Command {
  /** Names of the positional arguments after the command words, e.g. ['ID']. */
  positionals: readonly string[]
  options: OptionSpec
  /** Validates everything that needs no database, and returns what to run. */
  prepare(values: Values, positionals: string[]): Runner
}

const json = { type: 'boolean' } as const
const text = { type: 'string' } as const

const COMMANDS: Record<string, Command> = {
  'migrate': {
    positionals: [],
    options: {},
    // Building the app applies pending migrations (under an advisory lock on PostgreSQL).
    prepare: () => async () => ({ json: { migrations: 'applied' }, text: 'migrations applied' }),
  },

  'accounts create': {
    positionals: [],
    options: { 'name': text, 'plan': text, 'hourly-limit': text, 'burst-limit': text, json },
    prepare(values) {
      const input = {
        name: requiredName(values, 'name'),
        plan: plan(required(values, 'plan')),
        hourlyLimit: optionalLimit(values, 'hourly-limit'),
        burstLimit: optionalLimit(values, 'burst-limit'),
      }
      return async (app) => {
        const created = await createAccountWithKey(app.database.db, app.keys, input, CLI_ACTOR)
        return {
          json: created,
          text: [
            `Created account ${created.account.id} "${created.account.name}"`,
            `  plan:   ${describePlan(created.account)}`,
            `  key:    ${created.key.id} "${created.key.name}" with all ${created.key.scopes.length} scopes`,
            secretBlock(created.key.key),
          ].join('\n'),
        }
      }
    },
  },

  'accounts update': {
    positionals: ['ID'],
    options: { 'name': text, 'plan': text, 'hourly-limit': text, 'burst-limit': text, 'default-limits': { type: 'boolean' }, json },
    prepare(values, [id]) {
      const accountId = idOf('account', id!)
      const defaults = values['default-limits'] === true
      if (defaults && (values['hourly-limit'] !== undefined || values['burst-limit'] !== undefined)) {
        throw new UsageError('--default-limits clears custom limits; it cannot be combined with --hourly-limit or --burst-limit')
      }
      const patch: AccountPatch = {
        name: values.name === undefined ? undefined : requiredName(values, 'name'),
        plan: values.plan === undefined ? undefined : plan(required(values, 'plan')),
        // null: no custom limit, so the enterprise defaults apply again.
        hourlyLimit: defaults ? null : optionalLimit(values, 'hourly-limit'),
        burstLimit: defaults ? null : optionalLimit(values, 'burst-limit'),
      }
      if (Object.values(patch).every((value) => value === undefined)) {
        throw new UsageError('accounts update needs at least one of --name, --plan, --hourly-limit, --burst-limit, --default-limits')
      }
      return async (app) => {
        const account = await updateAccount(app.database.db, accountId, patch, CLI_ACTOR)
        // Running instances cache an account's plan limits with its keys; over Redis this reaches
        // every instance sharing it.
        await app.events.publish({ type: 'account.changed', accountId })
        return {
          json: account,
          text: `Updated account ${account.id} "${account.name}"\n  plan:   ${describePlan(account)}`,
        }
      }
    },
  },

  'keys create': {
    positionals: [],
    options: { 'account': text, 'scopes': text, 'name': text, 'ip-allowlist': text, 'expires-at': text, json },
    prepare(values) {
      const scopes = scopeList(required(values, 'scopes'))
      const accountId = idOf('account', required(values, 'account'))
      const input = {
        name: values.name === undefined ? 'CLI key' : requiredName(values, 'name'),
        scopes,
        ipAllowlist: values['ip-allowlist'] === undefined ? undefined : allowlist(required(values, 'ip-allowlist')),
        expiresAt: values['expires-at'] === undefined ? undefined : timestamp('expires-at', required(values, 'expires-at')),
      }
      return async (app) => {
        // A clear not_found rather than a foreign-key violation from the insert.
        await getAccount(app.database.db, accountId)
        // No grantor scopes: an operator may grant any scope.
        const created = await app.keys.create(accountId, input, CLI_ACTOR)
        return {
          json: created,
          text: [`Created key ${created.id} for account ${accountId}`, ...describeKey(created), secretBlock(created.key)].join('\n'),
        }
      }
    },
  },

  'keys list': {
    positionals: [],
    options: { account: text, json },
    prepare(values) {
      const accountId = idOf('account', required(values, 'account'))
      return async (app) => {
        await getAccount(app.database.db, accountId)
        const keys: PublicKey[] = []
        let cursor: string | undefined
        for (;;) {
          const page = await app.keys.list(accountId, { limit: 100, cursor })
          keys.push(...page.data)
          if (!page.has_more || !page.next_cursor) break
          cursor = page.next_cursor
        }
        return { json: { account_id: accountId, data: keys }, text: keyTable(keys) }
      }
    },
  },

  'keys revoke': {
    positionals: ['ID'],
    options: { json },
    prepare(_values, [id]) {
      const keyId = idOf('key', id!)
      return async (app) => {
        const accountId = await findAccountIdOfKey(app.database.db, keyId)
        const revoked = await app.keys.revoke(accountId, keyId, CLI_ACTOR)
        return { json: revoked, text: [`Revoked key ${revoked.id} of account ${accountId}`, ...describeKey(revoked)].join('\n') }
      }
    },
  },

  'keys rotate': {
    positionals: ['ID'],
    options: { 'expire-old-in-seconds': text, json },
    prepare(values, [id]) {
      const keyId = idOf('key', id!)
      const overlap = values['expire-old-in-seconds'] === undefined
        ? DEFAULT_ROTATION_OVERLAP_SECONDS
        : integer('expire-old-in-seconds', required(values, 'expire-old-in-seconds'), 0, MAX_ROTATION_OVERLAP_SECONDS)
      return async (app) => {
        const accountId = await findAccountIdOfKey(app.database.db, keyId)
        const rotated = await app.keys.rotate(accountId, keyId, overlap, CLI_ACTOR)
        return {
          json: rotated,
          text: [
            `Rotated key ${keyId} of account ${accountId}; it stops working at ${rotated.previous_key.expires_at}`,
            `New key ${rotated.id}`,
            ...describeKey(rotated),
            secretBlock(rotated.key),
          ].join('\n'),
        }
      }
    },
  },
}

/** First words that need a second one: `accounts`, `keys`. */
const COMMAND_GROUPS = new Set(Object.keys(COMMANDS).filter((name) => name.includes(' ')).map((name) => name.split(' ')[0]!))

// ---- argument checks (no I/O) ------------------------------------------------------------------

function required(values: Values, flag: string): string {
  const value = values[flag]
  if (typeof value !== 'string') throw new UsageError(`--${flag} is required`)
  return value
}

function requiredName(values: Values, flag: string): string {
  const value = required(values, flag)
  if (!/\S/.test(value) || value.length > 100) throw new UsageError(`--${flag} must be 1 to 100 characters, not all blank`)
  return value
}

function plan(value: string): Plan {
  if (!isPlan(value)) throw new UsageError(`unknown plan "${value}"; plans are ${PLANS.join(', ')}`)
  return value
}

function integer(flag: string, value: string, min: number, max: number): number {
  const number = /^\d+$/.test(value) ? Number(value) : Number.NaN
  if (!(number >= min && number <= max)) throw new UsageError(`--${flag} must be an integer from ${min} to ${max}; got "${value}"`)
  return number
}

/** Limits are PostgreSQL `integer` columns. Whether the plan allows them is the service's rule. */
function optionalLimit(values: Values, flag: string): number | undefined {
  return values[flag] === undefined ? undefined : integer(flag, required(values, flag), 1, 2_147_483_647)
}

function list(value: string): string[] {
  return value.split(',').map((item) => item.trim()).filter((item) => item !== '')
}

function scopeList(value: string): Scope[] {
  const scopes = list(value)
  if (scopes.length === 0) throw new UsageError('--scopes needs at least one scope')
  const unknown = scopes.filter((scope) => !isScope(scope))
  if (unknown.length > 0) throw new UsageError(`unknown scope ${unknown.map((scope) => `"${scope}"`).join(', ')}; scopes are ${SCOPES.join(', ')}`)
  return scopes as Scope[]
}

function allowlist(value: string): string[] {
  const entries = list(value)
  if (entries.length > MAX_ALLOWLIST_ENTRIES) throw new UsageError(`--ip-allowlist holds at most ${MAX_ALLOWLIST_ENTRIES} entries`)
  const { invalid } = validateAllowlist(entries)
  if (invalid.length > 0) throw new UsageError(`--ip-allowlist: "${invalid[0]!.entry}" is not an IPv4/IPv6 address or CIDR`)
  return entries
}

/** RFC 3339 date-time with an explicit zone, as the API's `expires_at` takes it. */
function timestamp(flag: string, value: string): Date {
  const date = new Date(value)
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(value) || Number.isNaN(date.getTime())) {
    throw new UsageError(`--${flag} must be an ISO 8601 date-time with a zone, e.g. 2030-01-31T00:00:00Z; got "${value}"`)
  }
  return date
}

function idOf(kind: IdKind, value: string): string {
  if (!new RegExp(idPattern(kind)).test(value)) throw new UsageError(`"${value}" is not ${kind === 'account' ? 'an account' : 'a key'} id (${ID_PREFIXES[kind]}_…)`)
  return value
}

/** Finds the command and checks its arguments; 'help' when help was asked for anywhere. */
function parseCommandLine(argv: string[]): { runner: Runner; json: boolean } | 'help' {
  const end = argv.indexOf('--')
  const flags = end === -1 ? argv : argv.slice(0, end)
  if (flags.includes('--help') || flags.includes('-h')) return 'help'
  const [group, sub] = argv
  if (group === undefined) throw new UsageError('no command given; run with --help for usage')
  if (group.startsWith('-')) throw new UsageError(`expected a command before ${group}; run with --help for usage`)
  const grouped = COMMAND_GROUPS.has(group)
  if (grouped && (sub === undefined || sub.startsWith('-'))) throw new UsageError(`${group} needs a subcommand; run with --help for usage`)
  const name = grouped ? `${group} ${sub}` : group
  const command = COMMANDS[name]
  if (!command) throw new UsageError(`unknown command "${name}"; run with --help for usage`)

  const { values, positionals } = parseArgs({
    args: argv.slice(name.split(' ').length),
    options: command.options,
    strict: true,
    allowPositionals: true,
  })
  if (positionals.length < command.positionals.length) {
    throw new UsageError(`${name} needs ${command.positionals.join(' ')}; run with --help for usage`)
  }
  if (positionals.length > command.positionals.length) throw new UsageError(`unexpected argument "${positionals[command.positionals.length]}"`)
  return { runner: command.prepare(values, positionals), json: values.json === true }
}

// ---- presentation -----------------------------------------------------------------------------

function describePlan(account: ReturnType<typeof presentAccount>): string {
  return `${account.plan} (${account.limits.requests_per_hour} requests/hour, burst ${account.limits.burst_per_minute}/minute)`
}

function describeKey(key: PublicKey): string[] {
  return [
    `  name:    ${key.name}`,
    `  scopes:  ${key.scopes.join(', ')}`,
    `  allowed: ${key.ip_allowlist.length > 0 ? key.ip_allowlist.join(', ') : 'any address'}`,
    `  status:  ${key.status}${key.expires_at ? `, expires ${key.expires_at}` : ''}`,
  ]
}

function secretBlock(secret: string): string {
  return `\n    ${secret}\n\nThis key is shown ONCE and will not be shown again: store it in your secret manager now.`
}

function keyTable(keys: PublicKey[]): string {
  if (keys.length === 0) return 'No keys.'
  const header = ['ID', 'NAME', 'KEY', 'STATUS', 'CREATED', 'EXPIRES', 'SCOPES']
  const rows = keys.map((key) => [
    key.id,
    key.name,
    `${key.prefix}…${key.last_four}`,
    key.replaced_by && key.status === 'active' ? 'rotating' : key.status,
    key.created_at,
    key.expires_at ?? '-',
    key.scopes.length === SCOPES.length ? 'all' : key.scopes.join(','),
  ])
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)))
  return [header, ...rows].map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n')
}

// ---- process ----------------------------------------------------------------------------------

function write(stream: NodeJS.WriteStream, content: string): Promise<void> {
  return new Promise((resolve, reject) => stream.write(content, (error) => (error ? reject(error) : resolve())))
}

function isParseArgsError(error: unknown): error is Error {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string'
    && (error as NodeJS.ErrnoException).code!.startsWith('ERR_PARSE_ARGS_')
}

/** One line on stderr, scrubbed of anything key-shaped; returns the exit code. */
async function report(error: unknown): Promise<number> {
  const refused = error instanceof UsageError || error instanceof ApiError || error instanceof ConfigError || isParseArgsError(error)
  const message = error instanceof ApiError ? error.detail : error instanceof Error ? error.message || error.name : String(error)
  await write(process.stderr, `error: ${redactKeys(message.replace(/\s+/g, ' ').trim())}\n`)
  return refused ? 2 : 1
}

async function main(argv: string[]): Promise<number> {
  let app: FastifyInstance | undefined
  try {
    const parsed = parseCommandLine(argv)
    if (parsed === 'help') {
      await write(process.stdout, USAGE)
      return 0
    }
    // A CLI's stderr is for the person at the terminal: quiet unless LOG_LEVEL asks otherwise.
    const config = loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL || 'error' })
    // Loaded only now: the app's module graph is most of the start-up time, and --help or a typo
    // should answer at once.
    const { buildApp } = await import('./app.js')
    app = await buildApp(config, { logStream: process.stderr })
    await app.ready()
    const output = await parsed.runner(app)
    // Printed before closing: a secret that was just issued must reach the operator even if
    // closing fails afterwards.
    await write(process.stdout, `${parsed.json ? JSON.stringify(output.json) : output.text}\n`)
    const closing = app
    app = undefined
    await closing.close()
    return 0
  } catch (error) {
    if (app) await app.close().catch(() => {})
    return report(error)
  }
}

// Exit explicitly once output is written: a stray handle (a reconnecting client) must not keep an
// operator's shell waiting.
process.exit(await main(process.argv.slice(2)).catch(() => 1))
