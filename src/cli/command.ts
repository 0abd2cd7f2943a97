import type { FastifyInstance } from 'fastify'

/** A mistake in the command line: one `error:` line and exit 2, before any database is opened. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export type OptionSpec = Record<string, { type: 'string' | 'boolean' }>
export type Values = Record<string, string | boolean | undefined>

/** What a command prints: the JSON value for --json, else the text for a person. */
export interface Output {
  json: unknown
  text: string
}

/** A command whose arguments are valid: all that is left is to run it against the app. */
export type Runner = (app: FastifyInstance) => Promise<Output>

export interface Command {
  /** Names of the positional arguments after the command words, e.g. ['ID']. */
  positionals: readonly string[]
  options: OptionSpec
  /** Validates everything that needs no database, and returns what to run. */
  prepare(values: Values, positionals: string[]): Runner
}

export const json = { type: 'boolean' } as const
export const text = { type: 'string' } as const
