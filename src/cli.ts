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
import { DatabaseInUseError } from './db/pglite-lock.js'
import { redactKeys } from './logger.js'
import { printable } from './text.js'
import { UsageError, type Command, type Runner } from './cli/command.js'
import { USAGE } from './cli/usage.js'
import { ACCOUNT_COMMANDS } from './cli/accounts.js'
import { KEY_COMMANDS } from './cli/keys.js'
import { CREDIT_COMMANDS } from './cli/credits.js'

const COMMANDS: Record<string, Command> = {
  'migrate': {
    positionals: [],
    options: {},
    // Building the app applies pending migrations (under an advisory lock on PostgreSQL).
    prepare: () => async () => ({ json: { migrations: 'applied' }, text: 'migrations applied' }),
  },
  ...ACCOUNT_COMMANDS,
  ...CREDIT_COMMANDS,
  ...KEY_COMMANDS,
}

/** First words that need a second one: `accounts`, `keys`, `credits`. */
const COMMAND_GROUPS = new Set(Object.keys(COMMANDS).filter((name) => name.includes(' ')).map((name) => name.split(' ')[0]!))

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
  const refused = error instanceof UsageError || error instanceof ApiError || error instanceof ConfigError
    || error instanceof DatabaseInUseError || isParseArgsError(error)
  const message = error instanceof ApiError ? error.detail : error instanceof Error ? error.message || error.name : String(error)
  // A message may quote the command line or a stored name: escaped like every other output.
  await write(process.stderr, `error: ${printable(redactKeys(message.replace(/\s+/g, ' ').trim()))}\n`)
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
    // The CLI borrows the app for one command: it must not take jobs or advance calls meanwhile.
    app = await buildApp(config, { logStream: process.stderr, background: false })
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
