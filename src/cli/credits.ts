import { CLI_ACTOR } from '../audit/record.js'
import { MAX_GRANT_CENTS } from '../credits/service.js'
import { idOf, integer, required, requiredName } from './args.js'
import { json, text, type Command } from './command.js'
import { cents, printable } from './output.js'

export const CREDIT_COMMANDS: Record<string, Command> = {
  'credits grant': {
    positionals: [],
    options: { account: text, amount: text, description: text, json },
    prepare(values) {
      const accountId = idOf('account', required(values, 'account'))
      const amount = integer('amount', required(values, 'amount'), 1, MAX_GRANT_CENTS)
      const description = requiredName(values, 'description', 200)
      return async (app) => {
        const entry = await app.services.credits.grant(accountId, amount, description, CLI_ACTOR)
        return {
          json: entry,
          text: `Granted ${cents(entry.amount)} to account ${accountId} ("${printable(entry.description)}"); balance now ${cents(entry.balance_after)} (${entry.id})`,
        }
      }
    },
  },
}
